"""Repository: registrations, their history, consent records and questions to officers.

Keyword-only, session first; the transaction is the caller's (one update, one CLI command).
Personal values arrive and leave encrypted: nothing here sees plain personal data.
"""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import func, or_, update
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, col, select

from storage.models import Consent, OfficerQuestion, Registration, RegistrationEvent

# Statuses. "Active" registrations are the ones the police review and the person can update.
PENDING, VERIFIED, REJECTED, NEEDS_INFO, WITHDRAWN, DELETED = "pending", "verified", "rejected", "needs_info", "withdrawn", "deleted"
ACTIVE = (PENDING, VERIFIED, REJECTED, NEEDS_INFO)
# After the police: proposed on the month's list, confirmed by the commune People's Committee,
# received by the bank, and the bank's outcome (granted, not granted, or the person withdrew
# the request — which, unlike WITHDRAWN consent, keeps the record).
PROPOSED, CONFIRMED, RECEIVED = "proposed", "confirmed", "received"
GRANTED, NOT_GRANTED, PERSON_WITHDREW = "granted", "not_granted", "person_withdrew"
ONWARD = (PROPOSED, CONFIRMED, RECEIVED)
OUTCOMES = (GRANTED, NOT_GRANTED, PERSON_WITHDREW)
# Every status whose record is still held (shown in "Hồ sơ của tôi", erased on request).
HELD = ACTIVE + ONWARD + OUTCOMES
# The police's decisions on a registration under review (the ones an officer can undo).
DECISIONS = (VERIFIED, REJECTED, NEEDS_INFO)
# Reference codes are read aloud over the phone: no 0/O, 1/I/L.
REFERENCE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"


def new_reference() -> str:
    """Six characters shown as 'K7Q-4M2' (the dash is for reading only)."""
    return "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(6))


def add_consent(*, session: Session, channel: str, chat_id: str, version: str, text_hash: str, now: datetime) -> int:
    consent = Consent(channel=channel, chat_id=chat_id, text_version=version, text_hash=text_hash, given_at=now)
    session.add(consent)
    session.flush()
    return consent.id


def withdraw_consents(*, session: Session, channel: str, chat_id: str, now: datetime) -> int:
    """Marks the chat's consents withdrawn, in one UPDATE (a consent given meanwhile is not missed)."""
    table = Consent.__table__
    statement = update(table).where(table.c.channel == channel, table.c.chat_id == chat_id, table.c.withdrawn_at.is_(None))
    return session.exec(statement.values(withdrawn_at=now)).rowcount or 0


class Conflict(Exception):
    """A registration kept changing under a write that must happen (an erase); never expected."""


def claim(*, session: Session, registration: Registration, expected: int | None = None) -> bool:
    """Takes the registration for one change by raising its version, if it is still `expected`
    (by default the version this transaction read). One conditional UPDATE: on PostgreSQL a
    concurrent change waits on the row lock and then finds the version moved; on SQLite writers
    take turns. False (and the registration re-read) when another change came first."""
    version = registration.version if expected is None else expected
    table = Registration.__table__
    result = session.exec(update(table).where(table.c.id == registration.id, table.c.version == version).values(version=version + 1))
    if result.rowcount != 1:
        session.refresh(registration)
        return False
    set_committed_value(registration, "version", version + 1)
    return True


def _take(session: Session, registration: Registration) -> None:
    """The registrant's own change (update, amend, erase): applied over whatever came first."""
    for _ in range(5):
        if claim(session=session, registration=registration):
            return
    raise Conflict(f"registration {registration.id} kept changing")


def create(*, session: Session, channel: str, chat_id: str, province_code: int, commune_code: int, details: str,
           phone_index: str | None, consent_id: int | None, now: datetime) -> Registration:
    """A new pending registration with a fresh reference code (unique: drawn again on a clash)."""
    while True:
        reference = new_reference()
        if session.exec(select(Registration.id).where(Registration.reference == reference)).first() is None:
            break
    row = Registration(
        reference=reference, channel=channel, chat_id=chat_id, province_code=province_code, commune_code=commune_code,
        status=PENDING, details=details, phone_index=phone_index, consent_id=consent_id, created_at=now, updated_at=now,
    )
    session.add(row)
    session.flush()
    add_event(session=session, registration_id=row.id, actor="registrant", action="created", now=now)
    return row


def update_details(*, session: Session, registration: Registration, province_code: int, commune_code: int, details: str,
                   phone_index: str | None, consent_id: int | None, now: datetime) -> None:
    """The person registered again with the same phone and commune: the old record is brought up to date."""
    _take(session, registration)
    registration.province_code, registration.commune_code = province_code, commune_code
    registration.details, registration.phone_index, registration.consent_id = details, phone_index, consent_id
    registration.status, registration.updated_at, registration.decided_at = PENDING, now, None
    session.add(registration)
    add_event(session=session, registration_id=registration.id, actor="registrant", action="updated", now=now)


def amend(*, session: Session, registration: Registration, province_code: int, commune_code: int, details: str,
          phone_index: str | None, now: datetime) -> str:
    """The registrant corrected their registration: stored, recorded, and — unless it is still waiting
    — sent back for review. Returns the status it had (after any decision made at the same moment)."""
    _take(session, registration)
    before = registration.status
    registration.province_code, registration.commune_code = province_code, commune_code
    registration.details, registration.phone_index, registration.updated_at = details, phone_index, now
    if before != PENDING:
        registration.status, registration.decided_at = PENDING, None
    session.add(registration)
    add_event(session=session, registration_id=registration.id, actor="registrant", action="edited", now=now)
    return before


def add_event(*, session: Session, registration_id: int, actor: str, action: str, now: datetime, note: str | None = None,
              previous: str | None = None) -> None:
    session.add(RegistrationEvent(registration_id=registration_id, at=now, actor=actor, action=action, note=note, previous=previous))


def events(*, session: Session, registration_id: int) -> list[RegistrationEvent]:
    statement = select(RegistrationEvent).where(RegistrationEvent.registration_id == registration_id).order_by(col(RegistrationEvent.id))
    return list(session.exec(statement))


def decide(*, session: Session, registration: Registration, status: str, actor: str, now: datetime, note: str | None = None,
           expected: int | None = None) -> bool:
    """An officer's decision, if the registration is still at version `expected` (the one the
    officer was shown; by default the one read now). False, with nothing written, when another
    decision or change came first."""
    if not claim(session=session, registration=registration, expected=expected):
        return False
    previous = registration.status
    registration.status, registration.decided_at, registration.updated_at = status, now, now
    session.add(registration)
    add_event(session=session, registration_id=registration.id, actor=actor, action=status, now=now, note=note, previous=previous)
    return True


def step(*, session: Session, registration: Registration, status: str, actor: str, now: datetime, action: str | None = None,
         note: str | None = None, list_id: int | None = -1, outcome: str | None = None, expected: int | None = None) -> bool:
    """A step after the police's review (proposed, confirmed, returned, received, an outcome): the
    status, the event (`action`, by default the status) and, when given, the list it is on and the
    outcome. False, with nothing written, when the registration changed meanwhile."""
    if not claim(session=session, registration=registration, expected=expected):
        return False
    previous = registration.status
    registration.status, registration.updated_at = status, now
    if list_id != -1:
        registration.list_id = list_id
    if outcome is not None:
        registration.outcome, registration.decided_at = outcome, now
    session.add(registration)
    add_event(session=session, registration_id=registration.id, actor=actor, action=action or status, now=now, note=note,
              previous=previous)
    return True


def on_list(*, session: Session, list_id: int) -> list[Registration]:
    statement = select(Registration).where(Registration.list_id == list_id, col(Registration.status).in_(ONWARD + OUTCOMES))
    return list(session.exec(statement.order_by(col(Registration.created_at), col(Registration.id))))


def with_status(*, session: Session, commune_codes: list[int], statuses: tuple[str, ...]) -> list[Registration]:
    statement = select(Registration).where(col(Registration.commune_code).in_(commune_codes), col(Registration.status).in_(statuses))
    return list(session.exec(statement.order_by(col(Registration.created_at), col(Registration.id))))


def held_mark(*, session: Session, commune_code: int) -> tuple:
    """A mark of the commune's held registrations that moves with any change (a new one, an
    erased one, and every change raises a version): (count, sum of versions, last id, last update)."""
    statement = select(func.count(), func.sum(Registration.version), func.max(Registration.id), func.max(Registration.updated_at)).where(
        Registration.commune_code == commune_code, col(Registration.status).in_(HELD))
    return tuple(session.exec(statement).one())


def held_versions(*, session: Session, commune_code: int) -> list[tuple[int, int]]:
    """(id, version) of the commune's held registrations, oldest first (as `with_status` orders them)."""
    statement = select(Registration.id, Registration.version).where(Registration.commune_code == commune_code,
                                                                    col(Registration.status).in_(HELD))
    return [(i, version) for i, version in session.exec(statement.order_by(col(Registration.created_at), col(Registration.id)))]


def by_ids(*, session: Session, registration_ids: list[int]) -> list[Registration]:
    found: list[Registration] = []
    for start in range(0, len(registration_ids), 500):
        chunk = registration_ids[start:start + 500]
        found += session.exec(select(Registration).where(col(Registration.id).in_(chunk)))
    return found


def of_communes(*, session: Session, commune_codes: list[int], created_from: datetime | None = None,
                created_to: datetime | None = None) -> list[Registration]:
    """Every registration of these communes (stubs of erased ones too), created in [from, to) when given."""
    statement = select(Registration).where(col(Registration.commune_code).in_(commune_codes))
    if created_from is not None:
        statement = statement.where(col(Registration.created_at) >= created_from)
    if created_to is not None:
        statement = statement.where(col(Registration.created_at) < created_to)
    return list(session.exec(statement.order_by(col(Registration.created_at), col(Registration.id))))


def versions_of(*, session: Session, commune_codes: list[int], created_from: datetime, created_to: datetime) -> list[tuple[int, int]]:
    """(id, version) of every registration of these communes created in [from, to), as `of_communes` orders them."""
    statement = select(Registration.id, Registration.version).where(
        col(Registration.commune_code).in_(commune_codes), col(Registration.created_at) >= created_from,
        col(Registration.created_at) < created_to)
    return [(i, version) for i, version in session.exec(statement.order_by(col(Registration.created_at), col(Registration.id)))]


def events_of(*, session: Session, registration_ids: list[int]) -> dict[int, list[RegistrationEvent]]:
    """The events of many registrations at once, oldest first."""
    found: dict[int, list[RegistrationEvent]] = {i: [] for i in registration_ids}
    if not registration_ids:
        return found
    statement = select(RegistrationEvent).where(col(RegistrationEvent.registration_id).in_(registration_ids))
    for event in session.exec(statement.order_by(col(RegistrationEvent.id))):
        found[event.registration_id].append(event)
    return found


def last_decision_by(*, session: Session, actor: str, since: datetime) -> RegistrationEvent | None:
    """The actor's latest police decision made since `since` (for undo)."""
    statement = (
        select(RegistrationEvent)
        .where(RegistrationEvent.actor == actor, col(RegistrationEvent.action).in_(DECISIONS), col(RegistrationEvent.at) >= since)
        .order_by(col(RegistrationEvent.id).desc())
    )
    return session.exec(statement).first()


def get(*, session: Session, registration_id: int) -> Registration | None:
    return session.get(Registration, registration_id)


def by_reference(*, session: Session, reference: str) -> Registration | None:
    return session.exec(select(Registration).where(Registration.reference == reference.replace("-", "").upper())).first()


def of_chat(*, session: Session, channel: str, chat_id: str, include_erased: bool = False) -> list[Registration]:
    statement = select(Registration).where(Registration.channel == channel, Registration.chat_id == chat_id)
    if not include_erased:
        statement = statement.where(col(Registration.status).in_(HELD))
    return list(session.exec(statement.order_by(col(Registration.id))))


def find_repeat(*, session: Session, phone_indexes: list[str], commune_code: int, channel: str | None = None,
                chat_id: str | None = None, exclude_id: int | None = None) -> Registration | None:
    """An active registration with the same phone (any key's blind index) in the same commune,
    in one chat when given (the person's own), or any chat (for officers: a possible duplicate)."""
    statement = select(Registration).where(
        col(Registration.phone_index).in_(phone_indexes), Registration.commune_code == commune_code, col(Registration.status).in_(ACTIVE)
    )
    if channel is not None:
        statement = statement.where(Registration.channel == channel, Registration.chat_id == chat_id)
    if exclude_id is not None:
        statement = statement.where(Registration.id != exclude_id)
    return session.exec(statement.order_by(col(Registration.id).desc())).first()


def pending_for_commune(*, session: Session, commune_code: int, offset: int = 0, limit: int = 5) -> list[Registration]:
    statement = (
        select(Registration)
        .where(Registration.commune_code == commune_code, col(Registration.status).in_((PENDING, NEEDS_INFO)))
        .order_by(col(Registration.created_at), col(Registration.id))
        .offset(offset)
        .limit(limit)
    )
    return list(session.exec(statement))


def count_by_status(*, session: Session, commune_code: int) -> dict[str, int]:
    statement = select(Registration.status, func.count()).where(Registration.commune_code == commune_code).group_by(Registration.status)
    return {status: count for status, count in session.exec(statement)}


def _in_month(start: datetime, end: datetime):
    return or_(
        (col(Registration.created_at) >= start) & (col(Registration.created_at) < end),
        (col(Registration.decided_at) >= start) & (col(Registration.decided_at) < end),
        (col(Registration.updated_at) >= start) & (col(Registration.updated_at) < end),
    )


def for_month(*, session: Session, commune_code: int, start: datetime, end: datetime) -> list[Registration]:
    """The police's working list: registrations still held, created, updated or decided in [start, end)."""
    statement = select(Registration).where(Registration.commune_code == commune_code, col(Registration.status).in_(HELD),
                                           _in_month(start, end))
    return list(session.exec(statement.order_by(col(Registration.created_at), col(Registration.id))))


def count_for_month(*, session: Session, commune_code: int, start: datetime, end: datetime, status: str) -> int:
    """How many of the month's working list (see `for_month`) have this status, counted in the database."""
    statement = select(func.count()).where(Registration.commune_code == commune_code, Registration.status == status,
                                           _in_month(start, end))
    return session.exec(statement).one()


def erase(*, session: Session, registration: Registration, status: str, actor: str, now: datetime) -> None:
    """Erases every personal field; a stub (reference, commune, dates, status) stays for the audit trail."""
    _take(session, registration)
    registration.details, registration.phone_index, registration.outcome = None, None, None
    registration.status, registration.erased_at, registration.updated_at = status, now, now
    session.add(registration)
    for event in events(session=session, registration_id=registration.id):
        if event.note is not None:
            event.note = None
            session.add(event)
    add_event(session=session, registration_id=registration.id, actor=actor, action=status, now=now)


def unlink(*, session: Session, registration: Registration) -> None:
    """The person deleted their data: the erased stub no longer says which chat it came from."""
    registration.chat_id = ""
    session.add(registration)


def older_than(*, session: Session, before: datetime) -> list[Registration]:
    """Registrations not touched since `before` whose personal data is still held (retention)."""
    statement = select(Registration).where(col(Registration.updated_at) < before, col(Registration.details).is_not(None))
    return list(session.exec(statement))


# -- questions to officers ("Gặp cán bộ") ---------------------------------------------------------------


def add_question(*, session: Session, channel: str, chat_id: str, commune_code: int, question: str, phone: str | None,
                 now: datetime) -> OfficerQuestion:
    row = OfficerQuestion(channel=channel, chat_id=chat_id, commune_code=commune_code, question=question, phone=phone,
                          status="open", created_at=now)
    session.add(row)
    session.flush()
    return row


def open_questions(*, session: Session, commune_code: int, limit: int = 10) -> list[OfficerQuestion]:
    statement = (
        select(OfficerQuestion)
        .where(OfficerQuestion.commune_code == commune_code, OfficerQuestion.status == "open")
        .order_by(col(OfficerQuestion.id))
        .limit(limit)
    )
    return list(session.exec(statement))


def count_open_questions(*, session: Session, commune_code: int) -> int:
    statement = select(func.count()).select_from(OfficerQuestion).where(
        OfficerQuestion.commune_code == commune_code, OfficerQuestion.status == "open"
    )
    return session.exec(statement).one()


def answer_question(*, session: Session, question: OfficerQuestion, officer_id: int, answer: str, now: datetime) -> bool:
    """Records an officer's answer if the question is still open: of two officers answering at once,
    only the first is kept (and sent). One conditional UPDATE, on both databases."""
    table = OfficerQuestion.__table__
    statement = update(table).where(table.c.id == question.id, table.c.status == "open")
    result = session.exec(statement.values(status="answered", answered_at=now, officer_id=officer_id, answer=answer))
    session.refresh(question)
    return result.rowcount == 1


def get_question(*, session: Session, question_id: int) -> OfficerQuestion | None:
    return session.get(OfficerQuestion, question_id)


def questions_of_chat(*, session: Session, channel: str, chat_id: str) -> list[OfficerQuestion]:
    statement = select(OfficerQuestion).where(OfficerQuestion.channel == channel, OfficerQuestion.chat_id == chat_id)
    return list(session.exec(statement))


def erase_old_questions(*, session: Session, before: datetime) -> int:
    """Retention for questions to officers: texts and phone erased after the period."""
    statement = select(OfficerQuestion).where(col(OfficerQuestion.created_at) < before, OfficerQuestion.status != "erased")
    return _erase_questions(session, list(session.exec(statement)))


def erase_questions(*, session: Session, channel: str, chat_id: str) -> int:
    """Deleting one's data: the questions' texts and phone go, and the rows no longer name the chat."""
    rows = questions_of_chat(session=session, channel=channel, chat_id=chat_id)
    for row in rows:
        row.chat_id = ""
    return _erase_questions(session, rows)


def _erase_questions(session: Session, rows: list[OfficerQuestion]) -> int:
    for row in rows:
        row.question, row.phone, row.answer, row.status = None, None, None, "erased"
        session.add(row)
    return len(rows)
