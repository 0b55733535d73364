"""What registrations do, shared by the chat handlers and the command line: submit, update,
decide (and tell the registrant), erase on request or after the retention period."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from sqlmodel import Session

from bot.context import Context
from bot.eligibility.engine import Profile
from bot.registration.record import Details
from bot.types import Button, Reply
from storage import notifications, officers, registrations, repo
from storage.crypto import Cipher
from storage.models import Officer, Registration

BACKGROUND: dict[str, Literal["after_rehab", "after_prison"]] = {"qd08_2026": "after_rehab", "qd22_2023": "after_prison"}


def _required(details: Details) -> tuple[int, int, str]:
    """Province, commune and phone: asked of everyone (fields_of) before the summary can be sent."""
    if details.province is None or details.commune is None or details.phone is None:
        raise ValueError("a registration is stored only with its province, commune and phone")
    return details.province, details.commune, details.phone


def show_reference(reference: str) -> str:
    """'K7Q4M2' → 'K7Q-4M2', easier to read aloud."""
    return f"{reference[:3]}-{reference[3:]}"


def load_details(cipher: Cipher, registration: Registration) -> Details:
    return Details.model_validate(cipher.unseal(registration.details))


def record_consent(ctx: Context, *, version: str, text_hash: str) -> int:
    return registrations.add_consent(session=ctx.session, channel=ctx.channel, chat_id=ctx.chat_id, version=version,
                                     text_hash=text_hash, now=ctx.now)


def cap_for(ctx: Context, programme: str | None, purpose: str | None, *, business: bool = False) -> int | None:
    """The programme's cap for this purpose (or for a business), today; None when there is none to
    compare with (unknown programme or purpose, or a monthly cap such as QĐ 22 vocational training)."""
    if programme not in BACKGROUND:
        return None
    profile = Profile.model_validate({"applicant": "business" if business else "person", "background": BACKGROUND[programme],
                                      "purpose": None if business else purpose})
    result = ctx.eligibility.evaluate(profile, on=ctx.today, texts=ctx.texts, subject=ctx.t("eligibility.subject_applicant"))
    return None if result.cap_is_monthly else result.max_amount_vnd


def capped_fields(ctx: Context, fields: dict) -> int | None:
    """Brings an amount above the programme's cap down to the cap (what was asked kept as
    `amount_requested`); the cap when it did, else None."""
    amount = fields.get("amount")
    cap = cap_for(ctx, fields.get("programme"), fields.get("purpose"), business=fields.get("registrant") == "business")
    if cap is None or not isinstance(amount, int) or amount <= cap:
        return None
    fields["amount_requested"], fields["amount"] = max(amount, fields.get("amount_requested") or 0), cap
    return cap


def _within_cap(ctx: Context, details: Details) -> Details:
    """The last guard before anything is stored: an amount above the cap is never written."""
    fields = details.model_dump()
    return Details.model_validate(fields) if capped_fields(ctx, fields) is not None else details


def business_share_refusal(ctx: Context, details: Details) -> str | None:
    """The rules' own reason when a business's workforce does not meet the programme's share of
    people after rehab or prison (the same rule the eligibility check applies); None otherwise."""
    if details.programme not in BACKGROUND:
        return None
    profile = Profile(applicant="business", background=BACKGROUND[details.programme],
                      workforce_total=details.workforce_total, workforce_beneficiaries=details.workforce_beneficiaries)
    result = ctx.eligibility.evaluate(profile, on=ctx.today, texts=ctx.texts, subject=ctx.t("eligibility.subject_applicant"))
    # A refusal's reasons are its failed rules', in the same order.
    reason = next((r for i, r in zip(result.failed, result.reasons, strict=False) if i.endswith("business.share")), None)
    return None if reason is None else f"{reason.text} ({reason.reference})"


def find_repeat(ctx: Context, details: Details) -> Registration | None:
    """This chat's active registration with the same phone in the same commune. Never another
    chat's: that would tell whoever knows a phone number that its owner registered."""
    if not details.phone or not details.commune:
        return None
    return registrations.find_repeat(session=ctx.session, phone_indexes=ctx.cipher.blind_indexes(details.phone),
                                     commune_code=details.commune, channel=ctx.channel, chat_id=ctx.chat_id)


def submit(ctx: Context, details: Details, *, consent_id: int | None) -> Registration:
    details = _within_cap(ctx, details)
    province, commune, phone = _required(details)
    return registrations.create(
        session=ctx.session, channel=ctx.channel, chat_id=ctx.chat_id, province_code=province,
        commune_code=commune, details=ctx.seal(details.sealed_fields()),
        phone_index=ctx.cipher.blind_index(phone), consent_id=consent_id, now=ctx.now,
    )


def update(ctx: Context, registration: Registration, details: Details, *, consent_id: int | None) -> None:
    details = _within_cap(ctx, details)
    province, commune, phone = _required(details)
    registrations.update_details(
        session=ctx.session, registration=registration, province_code=province, commune_code=commune,
        details=ctx.seal(details.sealed_fields()), phone_index=ctx.cipher.blind_index(phone),
        consent_id=consent_id, now=ctx.now,
    )


def amend(ctx: Context, registration: Registration, details: Details, changed: list[str]) -> str:
    """The registrant's correction of one or more fields: stored, audited (which fields, not their
    values), and the commune's officers told when it had been reviewed. Returns the earlier status."""
    details = _within_cap(ctx, details)
    province, commune, phone = _required(details)
    before = registrations.amend(
        session=ctx.session, registration=registration, province_code=province, commune_code=commune,
        details=ctx.seal(details.sealed_fields()), phone_index=ctx.cipher.blind_index(phone), now=ctx.now,
    )
    officers.audit(session=ctx.session, actor="registrant", action="edit:" + ",".join(changed), now=ctx.now,
                   registration_id=registration.id, commune_code=registration.commune_code)
    if before != registrations.PENDING:
        text = ctx.t("officer.amended_notice", reference=show_reference(registration.reference),
                     commune=ctx.places.label(registration.commune_code), status=ctx.t(f"status.{before}"))
        for officer in officers.of_commune(session=ctx.session, commune_code=registration.commune_code, roles=officers.POLICE):
            ctx.notify(officer.channel, officer.chat_id,
                       [Reply(text, (Button(ctx.t("officer.open_registration"), f"off:open:{registration.id}"),))])
    return before


def commune_figures(*, session: Session, commune_code: int, now: datetime) -> dict[str, int]:
    """What an officer sees first (menu and reminders): waiting for review, verified this
    (Vietnamese) month, unanswered questions."""
    from bot.vntime import month_bounds, vietnam_date

    counts = registrations.count_by_status(session=session, commune_code=commune_code)
    today = vietnam_date(now)
    start, end = month_bounds(today.year, today.month)
    verified = registrations.count_for_month(session=session, commune_code=commune_code, start=start, end=end,
                                             status=registrations.VERIFIED)
    return {
        "pending": counts.get(registrations.PENDING, 0) + counts.get(registrations.NEEDS_INFO, 0),
        "verified": verified,
        "questions": registrations.count_open_questions(session=session, commune_code=commune_code),
    }


def decide(ctx: Context, officer: Officer, registration: Registration, status: str, note: str | None = None,
           *, version: int | None = None) -> bool:
    """A police decision (see bot.registration.steps.decide, where every step lives)."""
    from bot.registration import steps

    return steps.decide(ctx, officer, registration, status, note, version=version)


def add_note(ctx: Context, officer: Officer, registration: Registration, note: str) -> None:
    registrations.add_event(session=ctx.session, registration_id=registration.id, actor=f"officer:{officer.id}",
                            action="note", now=ctx.now, note=ctx.cipher.encrypt(note))
    officers.audit(session=ctx.session, actor=f"officer:{officer.id}", action="note", now=ctx.now,
                   registration_id=registration.id, commune_code=registration.commune_code)


def erase_chat(ctx: Context, *, everything: bool) -> int:
    """Withdrawing consent (everything=False) stops all processing and erases the registrations'
    personal fields; deleting (everything=True) also erases the questions to officers, every message
    to or from the chat that is kept (the inbox and its stored replies, notifications, relayed
    questions) and unlinks the stubs from the chat. Stubs (reference, commune, dates) stay.
    Either way the free pages of the database are wiped after the commit (ctx.erased)."""
    status = registrations.DELETED if everything else registrations.WITHDRAWN
    rows = registrations.of_chat(session=ctx.session, channel=ctx.channel, chat_id=ctx.chat_id)
    for row in rows:
        registrations.erase(session=ctx.session, registration=row, status=status, actor="registrant", now=ctx.now)
    registrations.withdraw_consents(session=ctx.session, channel=ctx.channel, chat_id=ctx.chat_id, now=ctx.now)
    if everything:
        keys = ctx.cipher.chat_keys(ctx.channel, ctx.chat_id)
        for row in registrations.of_chat(session=ctx.session, channel=ctx.channel, chat_id=ctx.chat_id, include_erased=True):
            registrations.unlink(session=ctx.session, registration=row)
        registrations.erase_questions(session=ctx.session, channel=ctx.channel, chat_id=ctx.chat_id)
        notifications.erase_for_chat(session=ctx.session, channel=ctx.channel, chat_id=ctx.chat_id, origin_keys=keys)
        ctx.session.flush()
        repo.erase_inbox(session=ctx.session, chat_keys=keys, current=ctx.inbox_id, blank_payload=ctx.cipher.encrypt("{}"))
    ctx.erased = True
    return len(rows)


def purge(*, session: Session, before: datetime, now: datetime) -> int:
    """Retention: erases the personal fields of registrations untouched since `before`."""
    rows = registrations.older_than(session=session, before=before)
    for row in rows:
        registrations.erase(session=session, registration=row, status=registrations.DELETED, actor="system", now=now)
    registrations.erase_old_questions(session=session, before=before)
    return len(rows)
