"""The steps of a registration after it is sent, and the month's list — one function per decision,
called by the chat handlers and, later, the officers' web pages (issue 15) alike.

Each step checks the role and the commune of the binding that takes it, is taken once (a
conditional UPDATE: of two presses at once only the first counts), is written as an event of the
registration and an audit entry (actor and time), and is told to the person in plain words.

Roles: "officer" and "admin" are the commune police (review, close the list); "committee" is the
commune People's Committee (confirm or return the list); "bank" is an NHCSXH transaction office
(receive the list, record each outcome), bound to every commune it serves.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, timedelta

from bot.context import Context
from bot.registration.service import show_reference
from bot.types import Button, Document, Reply
from bot.vntime import vietnam_date
from storage import lists, officers, registrations
from storage.models import MonthlyList, Officer, OfficerQuestion, Registration

UNDO_WINDOW = timedelta(minutes=10)
LIST_DAY = 5  # the police's list is made before the 5th of each month

# What each role may do (checked with the binding's commune on every call).
CAN = {
    "review": officers.POLICE,
    "close_list": officers.POLICE,
    "working_list": officers.POLICE,
    "confirm_list": ("committee",),
    "receive_list": ("bank",),
    "outcome": ("bank",),
    "onward_list": ("officer", "admin", "committee", "bank"),
    "report": ("officer", "admin", "committee", "bank"),
}


class NotAllowed(PermissionError):
    """A binding tried an action its role or commune does not allow (handlers check first)."""


def allowed(officer: Officer | None, action: str, commune_code: int) -> bool:
    return officer is not None and officer.role in CAN[action] and officer.commune_code == commune_code


def _check(officer: Officer, action: str, commune_code: int) -> None:
    if not allowed(officer, action, commune_code):
        raise NotAllowed(f"{officer.role if officer else None} may not {action} in {commune_code}")


def actor(officer: Officer) -> str:
    return f"officer:{officer.id}"


def binding(ctx: Context, commune_code: int, action: str) -> Officer | None:
    """This chat's binding for the commune if its role may take `action` there (checked afresh)."""
    if not ctx.has_storage:
        return None
    mine = officers.of_chat(session=ctx.session, channel=ctx.channel, chat_id=ctx.chat_id)
    return next((o for o in mine if allowed(o, action, commune_code)), None)


def bindings_for(ctx: Context, action: str) -> list[Officer]:
    """This chat's bindings whose role may take `action` (in their own commune)."""
    if not ctx.has_storage:
        return []
    return [o for o in officers.of_chat(session=ctx.session, channel=ctx.channel, chat_id=ctx.chat_id) if o.role in CAN[action]]


def _audit(ctx: Context, officer: Officer, action: str, **fields) -> None:
    officers.audit(session=ctx.session, actor=actor(officer), action=action, now=ctx.now, **fields)


def tell(ctx: Context, registration: Registration, key: str, **values) -> None:
    """The person is told a step in plain words, with the way to "Hồ sơ của tôi"."""
    if not registration.chat_id:
        return  # the person deleted their data: the stub names no chat
    text = ctx.t(key, reference=show_reference(registration.reference), **values)
    ctx.notify(registration.channel, registration.chat_id, [Reply(text, (Button(ctx.t("menu.item_my_records"), "me:show"),))])


def _tell_role(ctx: Context, commune_code: int, roles: tuple[str, ...], reply: Reply) -> int:
    team = officers.of_commune(session=ctx.session, commune_code=commune_code, roles=roles)
    for member in team:
        ctx.notify(member.channel, member.chat_id, [reply])
    return len(team)


# -- the police's review ---------------------------------------------------------------------------


def decide(ctx: Context, officer: Officer, registration: Registration, status: str, note: str | None = None,
           *, version: int | None = None) -> bool:
    """Verified, needs information, or not eligible: recorded with its note (encrypted), audited,
    and told to the person. False, with nothing recorded or sent, when the registration changed
    since the officer saw it at `version` (another officer decided first, or the person corrected it)."""
    _check(officer, "review", registration.commune_code)
    if status not in registrations.DECISIONS or registration.status not in registrations.ACTIVE:
        return False
    sealed = ctx.cipher.encrypt(note) if note else None
    if not registrations.decide(session=ctx.session, registration=registration, status=status, actor=actor(officer),
                                now=ctx.now, note=sealed, expected=version):
        return False
    _audit(ctx, officer, f"decide:{status}", registration_id=registration.id, commune_code=registration.commune_code)
    tell(ctx, registration, f"registration.notify_{status}", note=note or "")
    return True


@dataclass
class Many:
    done: list[Registration]
    skipped: list[Registration]


def verify_many(ctx: Context, officer: Officer, rows: list[Registration]) -> Many:
    """Verifies each registration still waiting (pending or needing information); the others are
    skipped (decided meanwhile, or another commune's)."""
    done, skipped = [], []
    for row in rows:
        waiting = row.status in (registrations.PENDING, registrations.NEEDS_INFO)
        if waiting and allowed(officer, "review", row.commune_code) and decide(ctx, officer, row, registrations.VERIFIED):
            done.append(row)
        else:
            skipped.append(row)
    return Many(done, skipped)


def undoable(ctx: Context, officer: Officer) -> tuple[Registration, str] | None:
    """The officer's last decision if it can still be undone: made in the last 10 minutes and
    nothing has happened to the registration since. (registration, the decision)."""
    event = registrations.last_decision_by(session=ctx.session, actor=actor(officer), since=ctx.now - UNDO_WINDOW)
    if event is None or event.previous is None:
        return None
    row = registrations.get(session=ctx.session, registration_id=event.registration_id)
    if row is None or row.status != event.action or not allowed(officer, "review", row.commune_code):
        return None
    latest = registrations.events(session=ctx.session, registration_id=row.id)[-1]
    return (row, event.action) if latest.id == event.id else None


def undo_last(ctx: Context, officer: Officer) -> Registration | None:
    """Undoes the officer's last decision (see `undoable`): the registration gets back the status
    it had, the undo is recorded and audited, and the person is told. None when there is none."""
    found = undoable(ctx, officer)
    if found is None:
        return None
    row, decision = found
    previous = next(e for e in reversed(registrations.events(session=ctx.session, registration_id=row.id))
                    if e.action == decision).previous  # a decision's event keeps the status before it
    if previous is None or not registrations.step(session=ctx.session, registration=row, status=previous, actor=actor(officer), now=ctx.now,
                              action="undone"):
        return None
    row.decided_at = None if previous == registrations.PENDING else row.decided_at
    ctx.session.add(row)
    _audit(ctx, officer, f"undo:{decision}", registration_id=row.id, commune_code=row.commune_code)
    tell(ctx, row, "registration.notify_undone", status=ctx.t(f"status.{previous}"))
    return row


def answer_question(ctx: Context, officer: Officer, question: OfficerQuestion, text: str, buttons: tuple[Button, ...]) -> bool:
    """The police's answer to a person's question ("Gặp cán bộ"), sent to the person through the
    bot; False when another officer answered first."""
    _check(officer, "review", question.commune_code)
    if not registrations.answer_question(session=ctx.session, question=question, officer_id=officer.id,
                                         answer=ctx.cipher.encrypt(text), now=ctx.now):
        return False
    _audit(ctx, officer, "answer_question", commune_code=question.commune_code, detail=f"question={question.id}")
    ctx.notify(question.channel, question.chat_id, [Reply(ctx.t("handoff.answer_received", answer=text), buttons)])
    return True


# -- the month's list ----------------------------------------------------------------------------------


def list_period(today: date) -> str:
    """The month whose list is being made: this month until the 5th, the next one after."""
    if today.day <= LIST_DAY:
        return f"{today.year}-{today.month:02d}"
    year, month = (today.year + 1, 1) if today.month == 12 else (today.year, today.month + 1)
    return f"{year}-{month:02d}"


def show_period(period: str) -> str:
    year, month = period.split("-")
    return f"{month}/{year}"


@dataclass
class Closed:
    row: MonthlyList | None
    people: list[Registration]
    problem: str | None = None  # "empty" | "already" (a text key's tail)


def close_list(ctx: Context, officer: Officer, commune_code: int) -> Closed:
    """The police close the month's list: every verified registration of the commune is proposed
    on it, the committee is told and gets the onward list, and each person is told."""
    _check(officer, "close_list", commune_code)
    verified = registrations.with_status(session=ctx.session, commune_codes=[commune_code], statuses=(registrations.VERIFIED,))
    if not verified:
        return Closed(None, [], "empty")
    period = list_period(vietnam_date(ctx.now))
    row = lists.close(session=ctx.session, commune_code=commune_code, period=period, actor=actor(officer), now=ctx.now)
    if row is None:
        return Closed(lists.find(session=ctx.session, commune_code=commune_code, period=period), [], "already")
    people = [r for r in verified if registrations.step(session=ctx.session, registration=r, status=registrations.PROPOSED,
                                                         actor=actor(officer), now=ctx.now, list_id=row.id)]
    _audit(ctx, officer, "list:close", commune_code=commune_code, detail=f"{period} n={len(people)}")
    for person in people:
        tell(ctx, person, "registration.notify_proposed", month=show_period(period))
    text = ctx.t("lists.committee_notice", commune=ctx.places.label(commune_code), month=show_period(period), count=len(people))
    buttons = (Button(ctx.t("lists.confirm"), f"lst:confirm:{row.id}"), Button(ctx.t("lists.return"), f"lst:return:{row.id}"))
    _tell_role(ctx, commune_code, ("committee",), Reply(text, buttons, onward_document(ctx, row)))
    return Closed(row, people)


def _list_people(ctx: Context, row: MonthlyList, status: str) -> list[Registration]:
    return [r for r in registrations.on_list(session=ctx.session, list_id=row.id) if r.status == status]


def confirm_list(ctx: Context, officer: Officer, row: MonthlyList, *, signer: str, title: str, signed_on: date,
                 version: int | None = None) -> bool:
    """The committee confirms a closed list (who signs, their title, the date): each person on it
    is confirmed and told, the bank gets the onward list, the police are told."""
    _check(officer, "confirm_list", row.commune_code)
    if not lists.take(session=ctx.session, row=row, status_from=(lists.CLOSED,), expected=version):
        return False
    row.status, row.decided_at, row.decided_by = lists.CONFIRMED, ctx.now, actor(officer)
    row.signer = ctx.cipher.encrypt(json.dumps({"name": signer, "title": title, "on": signed_on.isoformat()}, ensure_ascii=False))
    ctx.session.add(row)
    people = _list_people(ctx, row, registrations.PROPOSED)
    for person in people:
        if registrations.step(session=ctx.session, registration=person, status=registrations.CONFIRMED, actor=actor(officer), now=ctx.now):
            tell(ctx, person, "registration.notify_confirmed", month=show_period(row.period))
    _audit(ctx, officer, "list:confirm", commune_code=row.commune_code, detail=f"{row.period} n={len(people)}")
    month, commune = show_period(row.period), ctx.places.label(row.commune_code)
    bank = Reply(ctx.t("lists.bank_notice", commune=commune, month=month, count=len(people), date=ctx.texts.date(signed_on)),
                 (Button(ctx.t("lists.receive"), f"lst:receive:{row.id}"),), onward_document(ctx, row))
    _tell_role(ctx, row.commune_code, ("bank",), bank)
    _tell_role(ctx, row.commune_code, officers.POLICE, Reply(ctx.t("lists.police_confirmed", commune=commune, month=month)))
    return True


def return_list(ctx: Context, officer: Officer, row: MonthlyList, *, note: str, version: int | None = None) -> bool:
    """The committee returns a closed list with a note: the people on it go back to "verified" (the
    police can change decisions and close it again), the police get the note, each person is told."""
    _check(officer, "confirm_list", row.commune_code)
    if not lists.take(session=ctx.session, row=row, status_from=(lists.CLOSED,), expected=version):
        return False
    row.status, row.decided_at, row.decided_by, row.note = lists.RETURNED, ctx.now, actor(officer), ctx.cipher.encrypt(note)
    ctx.session.add(row)
    for person in _list_people(ctx, row, registrations.PROPOSED):
        if registrations.step(session=ctx.session, registration=person, status=registrations.VERIFIED, actor=actor(officer),
                              now=ctx.now, action="returned", list_id=None):
            tell(ctx, person, "registration.notify_returned", month=show_period(row.period))
    _audit(ctx, officer, "list:return", commune_code=row.commune_code, detail=row.period)
    text = ctx.t("lists.police_returned", commune=ctx.places.label(row.commune_code), month=show_period(row.period), note=note)
    _tell_role(ctx, row.commune_code, officers.POLICE, Reply(text, (Button(ctx.t("officer.home"), "off:home"),)))
    return True


def receive_list(ctx: Context, officer: Officer, row: MonthlyList) -> bool:
    """The bank records that it received a confirmed list: each person on it is told."""
    _check(officer, "receive_list", row.commune_code)
    if not lists.take(session=ctx.session, row=row, status_from=(lists.CONFIRMED,)):
        return False
    row.status, row.received_at, row.received_by = lists.RECEIVED, ctx.now, actor(officer)
    ctx.session.add(row)
    for person in _list_people(ctx, row, registrations.CONFIRMED):
        if registrations.step(session=ctx.session, registration=person, status=registrations.RECEIVED, actor=actor(officer), now=ctx.now):
            tell(ctx, person, "registration.notify_received")
    _audit(ctx, officer, "list:receive", commune_code=row.commune_code, detail=row.period)
    return True


def record_outcome(ctx: Context, officer: Officer, registration: Registration, outcome: str, *, amount: int | None = None,
                   on: date | None = None, reason: str | None = None, version: int | None = None) -> bool:
    """The bank's outcome for one person on a received list: granted (amount, date), not granted
    (reason), or the person withdrew the request. Told to the person; the amount and reason are
    kept encrypted."""
    _check(officer, "outcome", registration.commune_code)
    if outcome not in registrations.OUTCOMES or registration.status != registrations.RECEIVED:
        return False
    on = on or vietnam_date(ctx.now)
    data = {"amount": amount, "on": on.isoformat()} if outcome == registrations.GRANTED else {"reason": reason, "on": on.isoformat()}
    sealed = ctx.cipher.encrypt(json.dumps(data, ensure_ascii=False))
    note = ctx.cipher.encrypt(reason) if reason else None
    if not registrations.step(session=ctx.session, registration=registration, status=outcome, actor=actor(officer), now=ctx.now,
                              outcome=sealed, note=note, expected=version):
        return False
    _audit(ctx, officer, f"outcome:{outcome}", registration_id=registration.id, commune_code=registration.commune_code)
    values = {"amount": ctx.texts.money(amount or 0), "date": ctx.texts.date(on), "note": reason or ""}
    tell(ctx, registration, f"registration.notify_{outcome}", **values)
    return True


def outcome_of(ctx: Context, registration: Registration) -> dict:
    """The bank's outcome, decrypted ({} when none)."""
    return json.loads(ctx.cipher.decrypt(registration.outcome) or "{}") if registration.outcome else {}


def signer_of(ctx: Context, row: MonthlyList) -> dict:
    return json.loads(ctx.cipher.decrypt(row.signer) or "{}") if row.signer else {}


# -- the lists as files ---------------------------------------------------------------------------------


def onward_document(ctx: Context, row: MonthlyList) -> Document:
    """The list that goes to the committee and the bank: only the people on it, only the form's columns."""
    from bot.registration.export import onward_list_document

    return onward_list_document(session=ctx.session, cipher=ctx.cipher, texts=ctx.texts, places=ctx.places,
                                form=ctx.content.registration, row=row, today=ctx.today)
