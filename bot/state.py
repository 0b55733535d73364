"""Typed conversation state, saved as JSON with the conversation (never pickled, never only in memory).

Each multi-step flow owns a small model of its draft (`EligibilityProgress`, `RegistrationDraft`,
`HandoffDraft`, `OfficerTyping`, `FaqMemory`) and, when it has steps, an enum of them; no feature
reads another feature's draft through a string key. `state.step` stays a plain string in storage:
the step enums are `StrEnum`s whose values are the strings stored before, so saved conversations
keep working. A conversation saved by an older version (an untyped `data` dict) is moved into the
typed attributes when it is loaded.
"""

from __future__ import annotations

import logging
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from bot.nlu.facts import Facts
from bot.types import Button

log = logging.getLogger(__name__)


class Flow(StrEnum):
    """Where the person is. Multi-step flows add their own values here."""

    MENU = "menu"
    FAQ = "faq"
    ELIGIBILITY = "eligibility"
    REGISTRATION = "registration"
    HANDOFF = "handoff"  # "Gặp cán bộ": a question for the commune's officers
    OFFICER = "officer"  # an officer typing a reason, a note or a reply


# -- steps -------------------------------------------------------------------------------------------
# The eligibility check has no steps of its own: its next question follows from the answers so far
# (content/eligibility/questions.yaml), so its state.step stays None.


class RegistrationStep(StrEnum):
    """Registration's steps: who registers, the relationship, consent, then one step per field of
    bot.registration.record.FIELDS or BUSINESS_FIELDS (the step's value is the field's name), the
    summary and its sub-steps."""

    WHO = "who"
    RELATIONSHIP = "relationship"
    CONSENT = "consent"
    BUSINESS_NAME = "business_name"
    BUSINESS_KIND = "business_kind"
    NAME = "name"
    NAME_CONFIRM = "name_confirm"  # an odd-looking name, confirmed before it is stored
    BIRTH_YEAR = "birth_year"
    PHONE = "phone"
    PROVINCE = "province"
    COMMUNE = "commune"
    VILLAGE = "village"
    PROGRAMME = "programme"
    EVENT_YEAR = "event_year"
    PURPOSE = "purpose"
    WORKFORCE_TOTAL = "workforce_total"
    WORKFORCE_BENEFICIARIES = "workforce_beneficiaries"
    DESCRIPTION = "description"
    AMOUNT = "amount"
    AMOUNT_RANGE = "amount_range"  # a range typed ("30-50 triệu"): which end?
    ID_NUMBER = "id_number"
    SUMMARY = "summary"
    CHANGE = "change"  # which field to change
    CANCEL = "cancel"  # "Hủy", confirmed once more
    REPEAT = "repeat"  # the same phone and commune registered before: update that one?


class HandoffStep(StrEnum):
    """'Gặp cán bộ': the commune (unless known from a registration), the question, whether the phone
    goes along, the phone."""

    PROVINCE = "province"
    COMMUNE = "commune"
    QUESTION = "question"
    SHARE = "share"
    PHONE = "phone"


class OfficerStep(StrEnum):
    """What an officer is typing; the step is "<kind>:<id>", the id of the registration (or, for a
    reply, the question) it is for."""

    REASON = "reason"
    INFO = "info"
    NOTE = "note"
    REPLY = "reply"
    SEARCH = "search"  # a reference, phone or name to find (the id is the commune's code)
    BULK = "bulk"  # references to verify at once (the commune's code)
    SIGN = "sign"  # the committee's signer, title and date (the list's id)
    RETURN_NOTE = "return"  # the committee's note returning a list (the list's id)
    GRANT = "grant"  # the bank's amount and date granted (the registration's id)
    DENY = "deny"  # the bank's reason for not granting (the registration's id)


# -- each flow's draft ----------------------------------------------------------------------------------


class Draft(BaseModel):
    model_config = ConfigDict(validate_assignment=True)


class EligibilityProgress(Draft):
    """The eligibility check so far."""

    answers: dict[str, Any] = Field(default_factory=dict)  # question field → answer (None: "không rõ")
    asked: list[str] = Field(default_factory=list)  # question ids, in the order asked or pre-filled
    done: bool = False
    known: list[str] = Field(default_factory=list)  # question ids pre-filled from what the person said
    declined: list[str] = Field(default_factory=list)  # fields gone back over: never pre-filled again


class PendingAnswer(Draft):
    """A registration answer asked about before it is stored: an odd-looking name, or a range of amounts."""

    name: str | None = None
    low: int | None = None
    high: int | None = None


class RegistrationDraft(Draft):
    """A registration being filled in (or a sent one being corrected)."""

    # The answers so far by field name (bot.registration.record.Details' fields; which ones depends on
    # who registers); None: skipped or "không rõ".
    fields: dict[str, Any] = Field(default_factory=dict)
    consent_id: int | None = None  # the consent record, once consent is given
    amend: int | None = None  # the sent registration being corrected
    original: dict[str, Any] | None = None  # its fields before the correction
    editing: bool = False  # a field being changed: back to the summary once it is answered
    offered: list[tuple[str, str]] | None = None  # place buttons (label, payload), shown again after a detour
    pending: PendingAnswer | None = None


class HandoffDraft(Draft):
    """A question for the commune's officers being put together."""

    province: int | None = None
    commune: int | None = None
    question: str | None = None
    share: bool | None = None  # whether the phone number goes along
    offered: list[tuple[str, str]] | None = None  # place buttons (label, payload), shown again after a detour


class OfficerTyping(Draft):
    """An officer was asked to type a reason, a note or a reply (the step says which): since when."""

    since: datetime
    # The registration's version the officer was shown (a decision made after another is refused).
    version: int | None = None


class FaqMemory(Draft):
    """What the FAQ remembers between two messages."""

    last_question: str | None = None  # the last question answered (redacted), for "Không đúng ý tôi"
    pending_place: str | None = None  # a question waiting for "trại cai nghiện hay trại giam?"
    last_entry: str | None = None  # the entry answered last (an id): not repeated beside a new point
    crisis: str | None = None  # the danger last answered ("suicide+violence"), until a policy answer


# Each draft attribute: its model, and the flow that cannot go on without it.
DRAFTS: dict[str, tuple[type[Draft], Flow | None]] = {
    "eligibility": (EligibilityProgress, Flow.ELIGIBILITY),
    "registration": (RegistrationDraft, Flow.REGISTRATION),
    "handoff": (HandoffDraft, Flow.HANDOFF),
    "officer": (OfficerTyping, Flow.OFFICER),
    "faq": (FaqMemory, None),
}


def _from_old_data(data: dict[str, Any]) -> dict[str, Any]:
    """The typed attributes for the untyped `data` dict of conversations saved by older versions."""
    moved: dict[str, Any] = {key: data[key] for key in ("eligibility", "registration", "registration_done", "handoff") if key in data}
    if "officer_typing_since" in data:
        moved["officer"] = {"since": data["officer_typing_since"]}
    faq = {new: data[old] for new, old in (("last_question", "faq_last"), ("pending_place", "faq_place")) if old in data}
    if faq:
        moved["faq"] = faq
    return moved


class ConversationState(BaseModel):
    model_config = ConfigDict(validate_assignment=True)

    flow: Flow = Flow.MENU
    step: str | None = None  # a value of the flow's step enum (RegistrationStep, HandoffStep, OfficerStep)
    eligibility: EligibilityProgress | None = None
    registration: RegistrationDraft | None = None
    registration_done: str | None = None  # the reference of the registration just sent, for a repeated "Gửi"
    handoff: HandoffDraft | None = None
    officer: OfficerTyping | None = None
    faq: FaqMemory = Field(default_factory=FaqMemory)
    # The last buttons shown: a typed "2", "Có" or "co" is resolved against them.
    buttons: list[Button] = Field(default_factory=list)
    # What the person said about their situation (programme, for whom, age, years…), across turns.
    facts: Facts = Field(default_factory=Facts)
    locale: str | None = None
    last_seen: datetime | None = None

    @model_validator(mode="before")
    @classmethod
    def _typed_drafts(cls, values: Any) -> Any:
        """Moves an older version's `data` dict into the typed attributes; a draft that no longer
        fits is dropped (its flow starts afresh) rather than losing the whole conversation."""
        if not isinstance(values, dict):
            return values
        if "data" in values:
            values = dict(values)
            old = values.pop("data")
            for key, value in (_from_old_data(old) if isinstance(old, dict) else {}).items():
                values.setdefault(key, value)
        for name, (model, flow) in DRAFTS.items():
            raw = values.get(name)
            if raw is None or isinstance(raw, model):
                continue
            try:
                parsed = model.model_validate(raw)
            except ValidationError:
                log.warning("saved %s draft could not be read; that flow starts afresh", name)
                values = {k: v for k, v in values.items() if k != name}
                if flow is not None and values.get("flow") == flow:
                    values["flow"], values["step"] = Flow.MENU, None
                continue
            values = {**values, name: parsed}
        return values

    @property
    def is_new(self) -> bool:
        return self.last_seen is None

    def forget(self, *, everything: bool) -> None:
        """Consent withdrawn: the registration drafts and a question for the officers go. Everything
        deleted ("Xóa dữ liệu"): every answer kept goes too (eligibility, FAQ memory, facts)."""
        self.registration = self.registration_done = self.handoff = None
        if everything:
            self.eligibility = self.officer = None
            self.faq = FaqMemory()
            self.facts = Facts()

    def to_json(self) -> str:
        return self.model_dump_json(exclude_defaults=True)

    @classmethod
    def from_json(cls, raw: str | None) -> ConversationState:
        if not raw:
            return cls()
        try:
            return cls.model_validate_json(raw)
        except ValidationError:
            # A state from an older version that no longer fits: start over rather than fail.
            log.warning("conversation state could not be read; starting a fresh conversation")
            return cls()
