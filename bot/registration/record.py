"""The personal record of a registration (sealed as encrypted JSON) and how it is shown."""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict

from bot.i18n import Texts
from bot.places import Places
from bot.registration.fields import mask_id, show_phone
from content.models import RegistrationContent

# The fields, in the order they are asked and shown. Optional ones can be skipped.
FIELDS = (
    "name", "birth_year", "phone", "province", "commune", "village", "programme", "event_year", "purpose",
    "description", "amount", "id_number",
)
# A business (registrant "business") gives its own facts; the person named is its representative.
BUSINESS_FIELDS = (
    "business_name", "business_kind", "name", "phone", "province", "commune", "village", "programme",
    "workforce_total", "workforce_beneficiaries", "description", "amount",
)
OPTIONAL = frozenset({"village", "description", "id_number"})


def fields_of(registrant: str | None) -> tuple[str, ...]:
    """The fields asked of this registrant, in order."""
    return BUSINESS_FIELDS if registrant == "business" else FIELDS


def staff_share(total: int | None, part: int | None) -> int | None:
    """The share of the workforce after rehab or prison, in whole per cent (rounded down)."""
    if not total or part is None:
        return None
    return part * 100 // total


class Details(BaseModel):
    """Everything personal about one registration; only ever stored encrypted."""

    model_config = ConfigDict(extra="ignore")

    registrant: str = "self"  # "self", "relative" or "business"
    # The registrant's relationship to the person who needs the loan: a mother registering her son
    # is "parent" (shown as "Người đăng ký: người thân (bố hoặc mẹ)").
    relationship: str | None = None
    name: str | None = None
    birth_year: int | None = None
    phone: str | None = None
    province: int | None = None
    commune: int | None = None
    village: str | None = None
    programme: str | None = None
    event_year: int | None = None
    purpose: str | None = None
    description: str | None = None
    amount: int | None = None
    amount_requested: int | None = None  # what was asked when it was above the cap
    id_number: str | None = None
    # A business: its name and kind, its workforce and how many of them are after rehab or prison.
    business_name: str | None = None
    business_kind: str | None = None
    workforce_total: int | None = None
    workforce_beneficiaries: int | None = None

    @property
    def is_business(self) -> bool:
        return self.registrant == "business"

    def sealed_fields(self) -> dict[str, Any]:
        return self.model_dump(exclude_none=True)


def choice_label(choices, value: str | None) -> str:
    return next((c.label for c in choices if c.value == value), "")


def field_value(field: str, details: Details, texts: Texts, places: Places, form: RegistrationContent, today: date) -> str:
    """One field as shown to the person or the officer ('—' when not given)."""
    value = getattr(details, field, None)
    if field == "commune":
        return places.label(value) if value else "—"
    if field == "province":
        province = places.province(value) if value else None
        return province.name if province else "—"
    if value is None:
        return texts.t("registration.value_unknown") if field in ("event_year", "amount") else "—"
    if field == "phone":
        return show_phone(value)
    if field == "id_number":
        return mask_id(value)
    if field == "programme":
        return choice_label(form.programmes, value)
    if field == "purpose":
        return choice_label(form.purposes, value)
    if field == "business_kind":
        return choice_label(form.business_kinds, value)
    if field == "workforce_total":
        return texts.t("registration.value_people", count=value)
    if field == "workforce_beneficiaries":
        share = staff_share(details.workforce_total, value)
        if share is None:
            return texts.t("registration.value_people", count=value)
        return texts.t("registration.value_people_share", count=value, share=share)
    if field == "amount":
        return texts.money(value)
    if field == "event_year":
        years = today.year - value
        return texts.t("registration.value_event_year" if years >= 1 else "registration.value_event_year_recent", year=value, years=years)
    return str(value)


def borrower_name(details: Details, texts: Texts) -> str:
    """The person's name, or for a business its name with its representative."""
    if details.is_business:
        return texts.t("registration.export_business_name", business=details.business_name or "", name=details.name or "")
    return details.name or ""


def registrant_text(details: Details, texts: Texts, form: RegistrationContent) -> str:
    if details.is_business:
        return texts.t("registration.value_business")
    if details.registrant == "relative":
        return texts.t("registration.value_relative", relationship=choice_label(form.relationships, details.relationship).lower())
    return texts.t("registration.value_self")


def summary_lines(details: Details, texts: Texts, places: Places, form: RegistrationContent, today: date) -> list[str]:
    """'Họ và tên: …' lines for every field (the province is part of the commune line)."""
    lines = [texts.t("registration.line", label=texts.t("registration.label_registrant"), value=registrant_text(details, texts, form))]
    for field in fields_of(details.registrant):
        if field == "province":
            continue
        value = field_value(field, details, texts, places, form, today)
        lines.append(texts.t("registration.line", label=field_label(texts, field, details.registrant), value=value))
    return lines


def field_label(texts: Texts, field: str, registrant: str | None) -> str:
    """'Họ và tên', or for a business 'Người đại diện' and the programme as whom it employs."""
    if registrant == "business" and field in ("name", "programme"):
        return texts.t(f"registration.label_{field}_business")
    return texts.t(f"registration.label_{field}")
