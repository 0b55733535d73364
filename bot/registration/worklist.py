"""The police's work list: finding registrations (by reference, phone or name), filters (status,
programme, month, village) and the rules' flags on each registration. Shared by the chat and the
officers' web pages; personal fields are decrypted here, in memory, never stored in the clear."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from bot.context import Context
from bot.nlu.normalize import fold
from bot.registration.fields import Invalid, read_phone
from bot.registration.record import Details
from bot.vntime import vietnam_date
from storage import registrations
from storage.models import Registration
from storage.registrations import REFERENCE_ALPHABET

# The statuses an officer can filter by, in the order the buttons show them.
FILTER_STATUSES = registrations.HELD
REFERENCE = re.compile(rf"^[{REFERENCE_ALPHABET}]{{3}}-?[{REFERENCE_ALPHABET}]{{3}}$")
WINDOW = {"qd08_2026": "qd08.window_years", "qd22_2023": "qd22.window_years"}


@dataclass(frozen=True)
class Found:
    registration: Registration
    details: Details


def _held(ctx: Context, commune_code: int) -> list[Found]:
    rows = registrations.with_status(session=ctx.session, commune_codes=[commune_code], statuses=registrations.HELD)
    return [Found(r, Details.model_validate(ctx.cipher.unseal(r.details))) for r in rows if r.details]


def search(ctx: Context, commune_code: int, text: str, limit: int | None = 10) -> list[Found]:
    """A reference code ('K7Q-4M2'), a phone number, or (part of) a name, accents optional
    (`limit` None: every match)."""
    typed = text.strip().upper()
    if REFERENCE.match(typed):
        row = registrations.by_reference(session=ctx.session, reference=typed)
        if row is None or row.commune_code != commune_code or row.status not in registrations.HELD or not row.details:
            return []
        return [Found(row, Details.model_validate(ctx.cipher.unseal(row.details)))]
    try:
        phone = read_phone(text)
    except Invalid:
        phone = None
    if phone is not None:
        indexes = set(ctx.cipher.blind_indexes(phone))
        return [f for f in _held(ctx, commune_code) if f.registration.phone_index in indexes][:limit]
    words = fold(text).split()
    if not words:
        return []
    return [f for f in _held(ctx, commune_code) if all(w in fold(f.details.name or "").split() or w in fold(f.details.name or "")
                                                      for w in words)][:limit]


def villages(ctx: Context, commune_code: int) -> list[str]:
    """The villages people gave in this commune, as typed (one spelling each), sorted."""
    seen: dict[str, str] = {}
    for found in _held(ctx, commune_code):
        if found.details.village:
            seen.setdefault(fold(found.details.village), found.details.village)
    return [seen[k] for k in sorted(seen)]


def filtered(ctx: Context, commune_code: int, *, status: str | None = None, programme: str | None = None,
             month: tuple[int, int] | None = None, village: str | None = None) -> list[Found]:
    """Registrations of the commune matching every filter given (month: the month it was sent)."""
    return [f for f in _held(ctx, commune_code) if matches(f, status=status, programme=programme, month=month, village=village)]


def matches(found: Found, *, status: str | None = None, programme: str | None = None, month: tuple[int, int] | None = None,
            village: str | None = None) -> bool:
    """Whether a registration passes every filter given."""
    row, details = found.registration, found.details
    sent = vietnam_date(row.created_at)
    if status is not None and row.status != status:
        return False
    if programme is not None and details.programme != programme:
        return False
    if month is not None and (sent.year, sent.month) != month:
        return False
    return village is None or fold(details.village or "") == fold(village)


def find(ctx: Context, commune_code: int, text: str = "", **filters) -> list[Found]:
    """The web pages' search: what `search` finds for the text (everything when there is none),
    narrowed by the filters of `filtered`."""
    found = search(ctx, commune_code, text, limit=None) if text.strip() else _held(ctx, commune_code)
    return [f for f in found if matches(f, **filters)]


def flags(ctx: Context, details: Details, today: date) -> list[str]:
    """What the rules see in a registration, for the officer: "gần hết 10 năm", "quá 5 năm",
    "vượt mức tối đa", "cần giấy xác nhận" (the figures from content/policy/parameters.yaml)."""
    found = []
    programme = details.programme
    window_name = WINDOW.get(programme)
    if window_name and details.event_year:
        window = int(ctx.content.parameters[window_name].at(today) or 0)
        low, high = max(today.year - details.event_year - 1, 0), today.year - details.event_year
        if low >= window:  # the whole year range is past the window
            found.append(ctx.t("officer.flag_over_window", years=window))
        elif high >= window - 1:
            found.append(ctx.t("officer.flag_near_window", years=window))
    if details.amount_requested and details.amount and details.amount_requested > details.amount:
        found.append(ctx.t("officer.flag_above_cap"))
    # QĐ 08/2026 training loans need the training institution's certificate (giấy xác nhận).
    if programme == "qd08_2026" and not details.is_business and details.purpose == "vocational_training":
        found.append(ctx.t("officer.flag_certificate"))
    return found
