"""Evaluates an applicant profile against content/eligibility/rules.yaml on a given date.

Three-valued: every rule holds, fails or is unknown. Any failure → not eligible (with the rule
and a next step); otherwise anything unknown that matters → needs review by an officer (never a
guess); otherwise likely eligible. Boundaries stated as "không quá" / "tối đa" / "từ đủ" include
the boundary. Values known only as a range (a year, "5 – 10 năm") decide only when the whole
range falls on one side of the boundary.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict

from bot.i18n import Texts, texts as vietnamese_texts
from content import Content
from content.models import RuleDef

Span = tuple[float, float]
Number = float | Span


class Profile(BaseModel):
    """What is known about an applicant; None means unknown. Keys as in the CLI contract."""

    model_config = ConfigDict(extra="ignore")

    applicant: Literal["person", "business"] | None = None
    background: Literal["after_rehab", "after_prison"] | None = None
    age: Number | None = None
    rehab_completion: Literal["voluntary", "compulsory", "substitution_treatment", "not_completed"] | None = None
    years_since_management_decision: Number | None = None
    years_since_release: Number | None = None
    has_release_certificate: bool | None = None
    resides_locally: bool | None = None
    law_abiding: bool | None = None
    purpose: Literal["vocational_training", "business"] | None = None
    has_outstanding_training_loan: bool | None = None
    amount_requested_vnd: int | None = None
    legally_established: bool | None = None
    workforce_total: int | None = None
    workforce_beneficiaries: int | None = None
    has_labor_contracts: bool | None = None

    BUSINESS_FIELDS: ClassVar[tuple[str, ...]] = (
        "legally_established", "workforce_total", "workforce_beneficiaries", "has_labor_contracts",
    )

    @property
    def applicant_kind(self) -> str:
        """Business when said so, or when only business facts are given; a person otherwise."""
        if self.applicant:
            return self.applicant
        return "business" if any(getattr(self, f) is not None for f in self.BUSINESS_FIELDS) else "person"


@dataclass(frozen=True)
class Reason:
    text: str
    reference: str


@dataclass(frozen=True)
class Eligibility:
    outcome: Literal["likely_eligible", "not_eligible", "needs_review"]
    programme: str | None
    max_amount_vnd: int | None
    reasons: tuple[Reason, ...]
    next_steps: tuple[str, ...] = ()
    title: str | None = None
    # Rules that failed or are unknown, by id (the walkthrough stops early on a failure).
    failed: tuple[str, ...] = ()
    unknown: tuple[str, ...] = ()
    cap_is_monthly: bool = False

    def to_json(self) -> dict:
        return {
            "outcome": self.outcome,
            "program": self.programme,
            "max_amount_vnd": self.max_amount_vnd,
            "reasons": [{"text": r.text, "reference": r.reference} for r in self.reasons],
        }


def _span(value: Number) -> Span:
    return (float(value[0]), float(value[1])) if isinstance(value, (tuple, list)) else (float(value), float(value))


def _at_most(value: Number | None, limit: Decimal) -> bool | None:
    if value is None:
        return None
    low, high = _span(value)
    if high <= float(limit):
        return True
    return False if low > float(limit) else None


def _at_least(value: Number | None, limit: Decimal) -> bool | None:
    if value is None:
        return None
    low, high = _span(value)
    if low >= float(limit):
        return True
    return False if high < float(limit) else None


def vietnamese() -> Texts:
    return vietnamese_texts("vi")


PLAIN_PLACEHOLDER = re.compile(r"\{(subject|title|effective_date)\}")


class EligibilityEngine:
    def __init__(self, content: Content) -> None:
        self.content = content
        self.book = content.eligibility

    def programme_for(self, profile: Profile) -> str | None:
        return next((k for k, p in self.book.programmes.items() if p.background == profile.background), None)

    def evaluate(self, profile: Profile, *, on: date, texts: Texts, subject: str) -> Eligibility:
        programme = self.programme_for(profile)
        if programme is None:
            reason = Reason(texts.t("eligibility.unknown_background"), texts.t("eligibility.both_references"))
            return Eligibility("needs_review", None, None, (reason,), unknown=("background",))
        spec = self.book.programmes[programme]
        kind = profile.applicant_kind
        values = {"subject": subject, "title": spec.title, "effective_date": texts.date(self._param(spec.effective_date, on))}

        def say(template: str) -> str:
            # The rules' texts are written in Vietnamese: their figures are formatted in Vietnamese too.
            text = self.content.render(template, when=on, texts=vietnamese())
            text = PLAIN_PLACEHOLDER.sub(lambda m: values[m.group(1)], text)
            return text[:1].upper() + text[1:]

        passed, failed, unknown, notes, steps = [], [], [], [], []
        for rule in self.book.rules:
            if programme not in rule.programmes or kind not in rule.applicant or not self._applies(rule, profile):
                continue
            verdict = self._check(rule, profile, programme, on)
            reference = say(rule.reference_for(programme))
            if verdict is True:
                if not rule.quiet_when_passed:
                    passed.append(Reason(say(rule.passed), reference))
            elif verdict is False:
                failed.append((rule.id, Reason(say(rule.fail), reference)))
                if rule.next_step:
                    steps.append(say(rule.next_step))
            elif rule.on_unknown == "note":
                notes.append(Reason(say(rule.note or ""), reference))  # RuleDef: a note rule has its note
            else:
                unknown.append((rule.id, Reason(say(rule.unknown or ""), reference)))  # RuleDef: so has a review rule

        cap, cap_param, monthly = self._cap(spec, kind, profile, on)
        if failed:
            # The cap is the programme's for this applicant and purpose, whatever the outcome.
            return Eligibility(
                "not_eligible", programme, cap, tuple(r for _, r in failed), tuple(dict.fromkeys(steps)),
                spec.title, failed=tuple(i for i, _ in failed), unknown=tuple(i for i, _ in unknown),
                cap_is_monthly=monthly,
            )
        if (profile.amount_requested_vnd is not None and cap is not None and cap_param is not None and not monthly
                and profile.amount_requested_vnd > cap):
            reference = self.content.parameters[cap_param].reference
            notes.append(Reason(texts.t("eligibility.amount_above_cap", cap=texts.money_words(cap)), reference))
        if unknown:
            return Eligibility(
                "needs_review", programme, cap, tuple(r for _, r in unknown) + tuple(notes), (), spec.title,
                unknown=tuple(i for i, _ in unknown), cap_is_monthly=monthly,
            )
        return Eligibility("likely_eligible", programme, cap, tuple(passed + notes), (), spec.title, cap_is_monthly=monthly)

    # -- pieces ------------------------------------------------------------------------------

    def _param(self, name: str, on: date):
        return self.content.parameters[name].at(on) or next(iter(self.content.parameters[name].values.values()))

    @staticmethod
    def _applies(rule: RuleDef, profile: Profile) -> bool:
        # A `when` on an unknown field skips the rule: the rule that asks for that field decides.
        return all(getattr(profile, key) == value for key, value in rule.when.items())

    def _check(self, rule: RuleDef, profile: Profile, programme: str, on: date) -> bool | None:
        (kind, spec), = rule.check.items()
        if kind == "in_force":
            start = self.content.parameters[self.book.programmes[programme].effective_date].at(on)
            return isinstance(start, date) and start <= on
        if kind == "at_least":
            return _at_least(getattr(profile, spec["field"]), self._number(spec["parameter"], on))
        if kind == "at_most":
            return _at_most(getattr(profile, spec["field"]), self._number(spec["parameter"], on))
        if kind == "one_of":
            value = getattr(profile, spec["field"])
            return None if value is None else value in spec["values"]
        if kind == "is":
            value = getattr(profile, spec["field"])
            return None if value is None else value == spec["value"]
        if kind == "share_at_least":
            part, total = getattr(profile, spec["part"]), getattr(profile, spec["total"])
            if part is None or total is None or part > total or part < 0:
                return None
            if total == 0:
                return False
            return Decimal(part) * 100 >= self._number(spec["parameter"], on) * Decimal(total)
        raise ValueError(f"unknown check {kind}")

    def _number(self, name: str, on: date) -> Decimal:
        return self.content.parameters[name].number_or_first(on)

    def _cap(self, spec, kind: str, profile: Profile, on: date) -> tuple[int | None, str | None, bool]:
        """The cap for this applicant and purpose (the monthly figure for monthly training caps)."""
        monthly = False
        if kind == "business":
            name = spec.caps.business
        else:
            monthly = profile.purpose in spec.caps.person_monthly
            names = set(spec.caps.person.values())
            name = spec.caps.person.get(profile.purpose) if profile.purpose else (names.pop() if len(names) == 1 else None)
        if name is None:
            return None, None, False
        value = self.content.parameters[name].number_at(on)
        return (int(value) if value is not None else None), name, monthly
