"""The month's list in the chat, after the police's review: the police close it, the commune
People's Committee confirms it (who signs, title, date) or returns it with a note, the NHCSXH
transaction office receives it and records each person's outcome. Every decision is a function
of bot.registration.steps (the same the web pages call); every press re-checks role and commune."""

from __future__ import annotations

import re
from datetime import date

from bot.context import Context, Result
from bot.nlu.numbers import parse_amount
from bot.registration import service, steps
from bot.registration.record import borrower_name
from bot.router import Router
from bot.state import ConversationState, Flow, OfficerStep
from bot.types import Button, Reply
from bot.vntime import vietnam_date
from handlers.common import menu_buttons
from storage import lists, registrations
from storage.models import MonthlyList, Officer

PREFIX = "lst"
DATE = re.compile(r"\b(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})\b")


def register(router: Router) -> None:
    router.payload(PREFIX, on_payload)


def denied(ctx: Context) -> Result:
    return Result([Reply(ctx.t("officer.denied"), menu_buttons(ctx))])


def _home(ctx: Context) -> Button:
    return ctx.button("officer.home", "off:home")


def home_part(ctx: Context, officer: Officer, suffix: str) -> tuple[str, list[Button]]:
    """The committee's or the bank's line and buttons on the officers' home page."""
    code = officer.commune_code
    if officer.role == "committee":
        waiting = lists.of_communes(session=ctx.session, commune_codes=[code], statuses=(lists.CLOSED,))
        line = ctx.t("lists.committee_figures", commune=ctx.places.label(code), count=len(waiting))
        return line, [Button(ctx.t("lists.lists") + suffix, f"{PREFIX}:lists:{code}")]
    new = lists.of_communes(session=ctx.session, commune_codes=[code], statuses=(lists.CONFIRMED,))
    received = registrations.with_status(session=ctx.session, commune_codes=[code], statuses=(registrations.RECEIVED,))
    line = ctx.t("lists.bank_figures", commune=ctx.places.label(code), lists=len(new), people=len(received))
    return line, [Button(ctx.t("lists.lists") + suffix, f"{PREFIX}:lists:{code}"),
                  Button(ctx.t("lists.people") + suffix, f"{PREFIX}:people:{code}")]


def on_payload(ctx: Context, payload: str, state: ConversationState) -> Result:
    """lst:close|lists|people:<commune> | view|confirm|return|receive:<list> | person|grant|deny|gaveup:<registration>."""
    parts = payload.split(":")[1:]
    if len(parts) != 2 or not parts[1].isdecimal() or not ctx.has_storage:
        return denied(ctx)
    action, target = parts[0], int(parts[1])
    state.flow, state.step = Flow.MENU, None
    if action == "close":
        return close(ctx, target)
    if action == "lists":
        return list_index(ctx, target)
    if action == "people":
        return waiting_people(ctx, target)
    if action in ("view", "confirm", "return", "receive"):
        row = lists.get(session=ctx.session, list_id=target)
        if row is None:
            return denied(ctx)
        if action == "view":
            return view(ctx, row)
        if action == "receive":
            return receive(ctx, row)
        officer = steps.binding(ctx, row.commune_code, "confirm_list")
        if officer is None:
            return denied(ctx)
        if row.status != lists.CLOSED:
            return _not_closed(ctx, row)
        await_text(ctx, state, OfficerStep.SIGN if action == "confirm" else OfficerStep.RETURN_NOTE, row.id, row.version)
        return Result([Reply(ctx.t(f"lists.ask_{action}"), (Button(ctx.t("officer.back"), f"{PREFIX}:view:{row.id}"),))])
    if action in ("person", "grant", "deny", "gaveup"):
        registration, officer, refused = _for_outcome(ctx, target)
        if refused is not None:
            return refused
        if action == "person":
            return person(ctx, registration)
        if action == "gaveup":
            steps.record_outcome(ctx, officer, registration, registrations.PERSON_WITHDREW)
            return _recorded(ctx, registration)
        await_text(ctx, state, OfficerStep.GRANT if action == "grant" else OfficerStep.DENY, registration.id, registration.version)
        return Result([Reply(ctx.t(f"lists.ask_{action}"), (Button(ctx.t("officer.back"), f"{PREFIX}:person:{registration.id}"),))])
    return denied(ctx)


def _for_outcome(ctx: Context, registration_id: int):
    """(registration, the bank's binding, None) when this chat's bank may record its outcome now;
    otherwise (…, the refusal to send)."""
    registration = registrations.get(session=ctx.session, registration_id=registration_id)
    officer = steps.binding(ctx, registration.commune_code, "outcome") if registration else None
    if registration is None or officer is None:
        return registration, None, denied(ctx)
    if registration.status != registrations.RECEIVED:
        already = ctx.t("officer.already", status=ctx.t(f"status.{registration.status}"))
        return registration, officer, Result([Reply(already, (_home(ctx),))])
    return registration, officer, None


def await_text(ctx: Context, state: ConversationState, kind: OfficerStep, target: int, version: int | None) -> None:
    from handlers.officer import await_text as wait

    wait(ctx, state, kind, target, version)


# -- police -----------------------------------------------------------------------------------------------


def close(ctx: Context, commune_code: int) -> Result:
    officer = steps.binding(ctx, commune_code, "close_list")
    if officer is None:
        return denied(ctx)
    closed = steps.close_list(ctx, officer, commune_code)
    commune = ctx.places.label(commune_code)
    if closed.problem == "empty":
        return Result([Reply(ctx.t("lists.close_empty", commune=commune), (_home(ctx),))])
    month = steps.show_period(closed.row.period if closed.row else steps.list_period(vietnam_date(ctx.now)))
    assert closed.row is not None  # closed now, or (already) the month's list that was there
    if closed.problem == "already":
        return Result([Reply(ctx.t("lists.close_already", commune=commune, month=month,
                                   status=ctx.t(f"lists.status_{closed.row.status}")), (_home(ctx),))])
    text = ctx.t("lists.closed", commune=commune, month=month, count=len(closed.people))
    return Result([Reply(text, (_home(ctx),), steps.onward_document(ctx, closed.row))])


# -- committee and bank -----------------------------------------------------------------------------------


def _visible(ctx: Context, commune_code: int) -> Officer | None:
    return steps.binding(ctx, commune_code, "onward_list")


def list_index(ctx: Context, commune_code: int) -> Result:
    officer = _visible(ctx, commune_code)
    if officer is None:
        return denied(ctx)
    statuses = (lists.CONFIRMED, lists.RECEIVED) if officer.role == "bank" else None  # the bank never sees unconfirmed lists
    rows = lists.of_communes(session=ctx.session, commune_codes=[commune_code], statuses=statuses)
    if not rows:
        return Result([Reply(ctx.t("lists.none", commune=ctx.places.label(commune_code)), (_home(ctx),))])
    buttons = tuple(Button(ctx.t("lists.item", month=steps.show_period(r.period), status=ctx.t(f"lists.status_{r.status}"),
                                 count=len(registrations.on_list(session=ctx.session, list_id=r.id))), f"{PREFIX}:view:{r.id}")
                    for r in rows)
    return Result([Reply(ctx.t("lists.index_heading", commune=ctx.places.label(commune_code)), buttons + (_home(ctx),))])


def view(ctx: Context, row: MonthlyList) -> Result:
    """The list's state, its onward file, and what this role can do with it."""
    officer = _visible(ctx, row.commune_code)
    if officer is None or (officer.role == "bank" and row.status not in (lists.CONFIRMED, lists.RECEIVED)):
        return denied(ctx)
    steps_audit(ctx, officer, "list:view", row)
    people = registrations.on_list(session=ctx.session, list_id=row.id)
    lines = [ctx.t("lists.view_heading", commune=ctx.places.label(row.commune_code), month=steps.show_period(row.period),
                   status=ctx.t(f"lists.status_{row.status}"), count=len(people))]
    signer = steps.signer_of(ctx, row)
    if signer:
        lines.append(ctx.t("lists.signed", name=signer["name"], title=signer["title"],
                           date=ctx.texts.date(date.fromisoformat(signer["on"]))))
    if row.note and row.status == lists.RETURNED:
        lines.append(ctx.t("lists.return_note", note=ctx.cipher.decrypt(row.note)))
    buttons: list[Button] = []
    if officer.role == "committee" and row.status == lists.CLOSED:
        buttons += [Button(ctx.t("lists.confirm"), f"{PREFIX}:confirm:{row.id}"),
                    Button(ctx.t("lists.return"), f"{PREFIX}:return:{row.id}")]
    if officer.role == "bank" and row.status == lists.CONFIRMED:
        buttons.append(Button(ctx.t("lists.receive"), f"{PREFIX}:receive:{row.id}"))
    if officer.role == "bank" and row.status == lists.RECEIVED:
        buttons.append(Button(ctx.t("lists.people"), f"{PREFIX}:people:{row.commune_code}"))
    document = steps.onward_document(ctx, row) if people else None
    return Result([Reply("\n".join(lines), tuple(buttons) + (_home(ctx),), document)])


def steps_audit(ctx: Context, officer: Officer, action: str, row: MonthlyList) -> None:
    from storage import officers

    officers.audit(session=ctx.session, actor=steps.actor(officer), action=action, now=ctx.now, commune_code=row.commune_code,
                   detail=row.period)


def _not_closed(ctx: Context, row: MonthlyList) -> Result:
    return Result([Reply(ctx.t("lists.not_waiting", status=ctx.t(f"lists.status_{row.status}")), (_home(ctx),))])


def receive(ctx: Context, row: MonthlyList) -> Result:
    officer = steps.binding(ctx, row.commune_code, "receive_list")
    if officer is None:
        return denied(ctx)
    if not steps.receive_list(ctx, officer, row):
        return _not_closed(ctx, row)
    return Result([Reply(ctx.t("lists.received", month=steps.show_period(row.period)))] + waiting_people(ctx, row.commune_code).replies)


def waiting_people(ctx: Context, commune_code: int) -> Result:
    """The bank's people waiting for an outcome (received, not yet decided)."""
    officer = steps.binding(ctx, commune_code, "outcome")
    if officer is None:
        return denied(ctx)
    rows = registrations.with_status(session=ctx.session, commune_codes=[commune_code], statuses=(registrations.RECEIVED,))
    if not rows:
        return Result([Reply(ctx.t("lists.people_none"), (_home(ctx),))])
    buttons = tuple(Button(ctx.t("lists.person_item", reference=service.show_reference(r.reference),
                                 name=borrower_name(service.load_details(ctx.cipher, r), ctx.texts) or "—"), f"{PREFIX}:person:{r.id}")
                    for r in rows[:20])
    return Result([Reply(ctx.t("lists.people_heading", count=len(rows)), buttons + (_home(ctx),))])


def person(ctx: Context, registration) -> Result:
    details = service.load_details(ctx.cipher, registration)
    text = ctx.t("lists.person_detail", reference=service.show_reference(registration.reference),
                 name=borrower_name(details, ctx.texts) or "—", amount=ctx.texts.money(details.amount or 0))
    rid = registration.id
    buttons = (Button(ctx.t("lists.grant"), f"{PREFIX}:grant:{rid}"), Button(ctx.t("lists.deny"), f"{PREFIX}:deny:{rid}"),
               Button(ctx.t("lists.gaveup"), f"{PREFIX}:gaveup:{rid}"),
               Button(ctx.t("lists.people"), f"{PREFIX}:people:{registration.commune_code}"))
    return Result([Reply(text, buttons)])


def _recorded(ctx: Context, registration) -> Result:
    text = ctx.t("lists.outcome_recorded", reference=service.show_reference(registration.reference),
                 status=ctx.t(f"status.{registration.status}"))
    return Result([Reply(text)] + waiting_people(ctx, registration.commune_code).replies)


# -- typed: the signer, a return note, an amount, a reason ----------------------------------------------------


def read_date(text: str, today: date) -> date | None:
    """'03/12/2026' (or none typed: today). None when a date is typed but impossible."""
    match = DATE.search(text)
    if match is None:
        return today
    try:
        return date(int(match.group(3)), int(match.group(2)), int(match.group(1)))
    except ValueError:
        return None


def on_typed(ctx: Context, state: ConversationState, kind: OfficerStep, target: int, text: str) -> Result:
    if kind in (OfficerStep.SIGN, OfficerStep.RETURN_NOTE):
        row = lists.get(session=ctx.session, list_id=target)
        officer = steps.binding(ctx, row.commune_code, "confirm_list") if row else None
        if row is None or officer is None:
            return denied(ctx)
        if kind == OfficerStep.RETURN_NOTE:
            if not steps.return_list(ctx, officer, row, note=text):
                return _not_closed(ctx, row)
            return Result([Reply(ctx.t("lists.returned", month=steps.show_period(row.period)), (_home(ctx),))])
        parts = [p.strip() for p in re.split(r"[;\n]", text) if p.strip()]
        signed_on = read_date(parts[2] if len(parts) > 2 else "", ctx.today)
        if len(parts) < 2 or signed_on is None or signed_on > ctx.today:
            await_text(ctx, state, kind, target, None)
            return Result([Reply(ctx.t("lists.sign_invalid"))])
        if not steps.confirm_list(ctx, officer, row, signer=parts[0], title=parts[1], signed_on=signed_on):
            return _not_closed(ctx, row)
        return Result([Reply(ctx.t("lists.confirmed", month=steps.show_period(row.period), name=parts[0]), (_home(ctx),))])
    registration, officer, refused = _for_outcome(ctx, target)
    if refused is not None:
        return refused
    if kind == OfficerStep.DENY:
        steps.record_outcome(ctx, officer, registration, registrations.NOT_GRANTED, reason=text)
        return _recorded(ctx, registration)
    amount_text, _, date_text = text.partition(";")
    amount, granted_on = parse_amount(amount_text), read_date(date_text, ctx.today)
    if not amount or amount < 1_000_000 or granted_on is None or granted_on > ctx.today:
        await_text(ctx, state, kind, target, None)
        return Result([Reply(ctx.t("lists.grant_invalid"))])
    steps.record_outcome(ctx, officer, registration, registrations.GRANTED, amount=amount, on=granted_on)
    return _recorded(ctx, registration)

