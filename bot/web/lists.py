"""The month's list on the web pages: the police close it, the commune People's Committee confirms
it (who signs, title, date) or returns it with a note, the bank receives it and records each
person's outcome; the onward list and the police's working list as XLSX or CSV. Every step is a
function of bot.registration.steps (the chat's), every page checks the role and the commune as
handlers/lists.py does, and views, steps and exports are audited as in the chat."""

from __future__ import annotations

from datetime import date

from bot.context import Context
from bot.nlu.numbers import parse_amount
from bot.registration import service, steps
from bot.registration.export import monthly_document, parse_month
from bot.registration.fields import Invalid, read_free_text
from bot.registration.record import borrower_name
from bot.vntime import vietnam_date
from bot.web.server import DENIED, Download, Page, Redirect, Req
from storage import lists, officers, registrations
from storage.models import MonthlyList, Officer

MESSAGES = ("closed", "close_empty", "close_already", "confirmed", "returned", "received", "recorded", "not_waiting",
            "bad_signer", "bad_amount", "bad_text")
FORMATS = ("xlsx", "csv")


def _audit(ctx: Context, officer: Officer, action: str, commune_code: int, detail: str | None = None, **more) -> None:
    officers.audit(session=ctx.session, actor=steps.actor(officer), action=action, now=ctx.now, commune_code=commune_code,
                   detail=detail, **more)


def _visible(officer: Officer, row: MonthlyList | None) -> bool:
    """As in the chat: the commune's police, committee and bank see its lists; the bank only confirmed ones."""
    if row is None or not steps.allowed(officer, "onward_list", row.commune_code):
        return False
    return officer.role != "bank" or row.status in (lists.CONFIRMED, lists.RECEIVED)


def _list_of(ctx: Context, officer: Officer, req: Req) -> MonthlyList | None:
    row = lists.get(session=ctx.session, list_id=int(req.match["id"]))
    return row if _visible(officer, row) else None


def _message(req: Req) -> str | None:
    return req.arg("msg") if req.arg("msg") in MESSAGES else None


def index(ctx: Context, officer: Officer, req: Req) -> Page:
    code = officer.commune_code
    if not steps.allowed(officer, "onward_list", code):
        return DENIED
    statuses = (lists.CONFIRMED, lists.RECEIVED) if officer.role == "bank" else None
    rows = lists.of_communes(session=ctx.session, commune_codes=[code], statuses=statuses)
    shown = [{"id": r.id, "month": steps.show_period(r.period), "status": r.status, "status_label": ctx.t(f"lists.status_{r.status}"),
              "count": len(registrations.on_list(session=ctx.session, list_id=r.id))} for r in rows]
    today = vietnam_date(ctx.now)
    values: dict[str, object] = {"lists": shown, "message": _message(req), "can_close": steps.allowed(officer, "close_list", code),
              "period": steps.show_period(steps.list_period(today)), "this_month": f"{today.year}-{today.month:02d}"}
    if values["can_close"]:
        values["verified"] = len(registrations.with_status(session=ctx.session, commune_codes=[code], statuses=(registrations.VERIFIED,)))
    return Page("monthly.html", values)


def close(ctx: Context, officer: Officer, req: Req) -> Page | Redirect:
    if not steps.allowed(officer, "close_list", officer.commune_code):
        return DENIED
    closed = steps.close_list(ctx, officer, officer.commune_code)
    if closed.problem is not None or closed.row is None:  # without a problem, the list just closed
        return Redirect(f"/web/lists?msg=close_{closed.problem}")
    return Redirect(f"/web/lists/{closed.row.id}?msg=closed")


def view(ctx: Context, officer: Officer, req: Req) -> Page:
    row = _list_of(ctx, officer, req)
    if row is None:
        return DENIED
    _audit(ctx, officer, "list:view", row.commune_code, row.period)
    people = []
    for person in registrations.on_list(session=ctx.session, list_id=row.id):
        details = service.load_details(ctx.cipher, person)
        outcome = steps.outcome_of(ctx, person)
        people.append({"id": person.id, "reference": service.show_reference(person.reference),
                       "name": borrower_name(details, ctx.texts) or "—", "amount": ctx.texts.money(details.amount or 0),
                       "status": person.status, "status_label": ctx.t(f"status.{person.status}"),
                       "granted": ctx.texts.money(outcome["amount"]) if outcome.get("amount") else None,
                       "waiting": person.status == registrations.RECEIVED and officer.role == "bank"})
    signer = steps.signer_of(ctx, row)
    return Page("month.html", {
        "row": row, "month": steps.show_period(row.period), "status_label": ctx.t(f"lists.status_{row.status}"), "people": people,
        "signer": signer and ctx.t("lists.signed", name=signer["name"], title=signer["title"],
                                   date=ctx.texts.date(date.fromisoformat(signer["on"]))),
        "note": ctx.cipher.decrypt(row.note) if row.note and row.status == lists.RETURNED else None,
        "can_confirm": officer.role == "committee" and row.status == lists.CLOSED,
        "can_receive": officer.role == "bank" and row.status == lists.CONFIRMED,
        "today": ctx.today.isoformat(), "message": _message(req),
    })


def _committee(ctx: Context, officer: Officer, req: Req) -> MonthlyList | None:
    row = _list_of(ctx, officer, req)
    return row if row is not None and steps.allowed(officer, "confirm_list", row.commune_code) else None


def confirm(ctx: Context, officer: Officer, req: Req) -> Page | Redirect:
    row = _committee(ctx, officer, req)
    if row is None:
        return DENIED
    here = f"/web/lists/{row.id}"
    try:
        signer, title = read_free_text(req.arg("signer"), limit=120), read_free_text(req.arg("title"), limit=120)
        signed_on = date.fromisoformat(req.arg("signed_on")) if req.arg("signed_on") else ctx.today
    except (Invalid, ValueError):
        return Redirect(f"{here}?msg=bad_signer")
    if signed_on > ctx.today:
        return Redirect(f"{here}?msg=bad_signer")
    if not steps.confirm_list(ctx, officer, row, signer=signer, title=title, signed_on=signed_on):
        return Redirect(f"{here}?msg=not_waiting")
    return Redirect(f"{here}?msg=confirmed")


def give_back(ctx: Context, officer: Officer, req: Req) -> Page | Redirect:
    row = _committee(ctx, officer, req)
    if row is None:
        return DENIED
    here = f"/web/lists/{row.id}"
    try:
        note = read_free_text(req.arg("note"), limit=500)
    except Invalid:
        return Redirect(f"{here}?msg=bad_text")
    if not steps.return_list(ctx, officer, row, note=note):
        return Redirect(f"{here}?msg=not_waiting")
    return Redirect(f"{here}?msg=returned")


def receive(ctx: Context, officer: Officer, req: Req) -> Page | Redirect:
    row = _list_of(ctx, officer, req)
    if row is None or not steps.allowed(officer, "receive_list", row.commune_code):
        return DENIED
    done = steps.receive_list(ctx, officer, row)
    return Redirect(f"/web/lists/{row.id}?msg={'received' if done else 'not_waiting'}")


def outcome(ctx: Context, officer: Officer, req: Req) -> Page | Redirect:
    """The bank's outcome for one person on a received list."""
    person = registrations.get(session=ctx.session, registration_id=int(req.match["id"]))
    if person is None or person.list_id is None or not steps.allowed(officer, "outcome", person.commune_code):
        return DENIED
    here = f"/web/lists/{person.list_id}"
    if person.status != registrations.RECEIVED:
        return Redirect(f"{here}?msg=not_waiting")
    kind = req.arg("outcome")
    if kind == registrations.GRANTED:
        amount = parse_amount(req.arg("amount"))
        try:
            on = date.fromisoformat(req.arg("on")) if req.arg("on") else ctx.today
        except ValueError:
            on = None
        if not amount or amount < 1_000_000 or on is None or on > ctx.today:
            return Redirect(f"{here}?msg=bad_amount")
        done = steps.record_outcome(ctx, officer, person, registrations.GRANTED, amount=amount, on=on)
    elif kind == registrations.NOT_GRANTED:
        try:
            reason = read_free_text(req.arg("reason"), limit=500)
        except Invalid:
            return Redirect(f"{here}?msg=bad_text")
        done = steps.record_outcome(ctx, officer, person, registrations.NOT_GRANTED, reason=reason)
    elif kind == registrations.PERSON_WITHDREW:
        done = steps.record_outcome(ctx, officer, person, registrations.PERSON_WITHDREW)
    else:
        return DENIED
    return Redirect(f"{here}?msg={'recorded' if done else 'not_waiting'}")


def export_list(ctx: Context, officer: Officer, req: Req) -> Page | Download:
    """The onward list (only the people on it, only the form's columns)."""
    from bot.registration.export import onward_list_document

    row = _list_of(ctx, officer, req)
    fmt = req.arg("fmt", "xlsx")
    if row is None or fmt not in FORMATS:
        return DENIED
    document = onward_list_document(session=ctx.session, cipher=ctx.cipher, texts=ctx.texts, places=ctx.places,
                                    form=ctx.content.registration, row=row, today=ctx.today, fmt=fmt)
    _audit(ctx, officer, "export_onward", row.commune_code, f"{row.period} web {fmt}")
    return Download(document.filename, document.mime, document.content)


def export_working(ctx: Context, officer: Officer, req: Req) -> Page | Download:
    """The police's internal working list of a month (never sent onward)."""
    code = officer.commune_code
    fmt = req.arg("fmt", "xlsx")
    if not steps.allowed(officer, "working_list", code) or fmt not in FORMATS:
        return DENIED
    try:
        year, month = parse_month(req.arg("month"))
    except ValueError:
        today = vietnam_date(ctx.now)
        year, month = today.year, today.month
    document, count = monthly_document(session=ctx.session, cipher=ctx.cipher, texts=ctx.texts, places=ctx.places,
                                       form=ctx.content.registration, commune_code=code, year=year, month=month, today=ctx.today,
                                       fmt=fmt)
    _audit(ctx, officer, "export", code, f"{year}-{month:02d} rows={count} web")
    return Download(document.filename, document.mime, document.content)


# -- reports ------------------------------------------------------------------------------------------------


def _period(ctx: Context, req: Req) -> tuple[date, date]:
    """The report's period from the form (default: this month and the five before it)."""
    today = ctx.today
    month = today.month - 5
    default_start = date(today.year - (1 if month < 1 else 0), month + 12 if month < 1 else month, 1)
    try:
        start = date.fromisoformat(req.arg("from")) if req.arg("from") else default_start
        end = date.fromisoformat(req.arg("to")) if req.arg("to") else today
    except ValueError:
        start, end = default_start, today
    if end < start or (end - start).days > 3 * 366:
        start, end = default_start, today
    return start, end


def _report(ctx: Context, officer: Officer, req: Req) -> tuple[dict, date, date]:
    from bot.registration import report

    start, end = _period(ctx, req)
    commune = ctx.places.commune(officer.commune_code)
    result = report.build(session=ctx.session, cipher=ctx.cipher, form=ctx.content.registration, communes=[officer.commune_code],
                          start=start, end=end, commune=officer.commune_code, province=commune.province_code if commune else None)
    _audit(ctx, officer, "report", officer.commune_code, f"{start}..{end} web")
    return result, start, end


def reports(ctx: Context, officer: Officer, req: Req) -> Page:
    from bot.registration.record import choice_label
    from bot.web import charts

    if not steps.allowed(officer, "report", officer.commune_code):
        return DENIED
    result, start, end = _report(ctx, officer, req)
    form = ctx.content.registration
    months = [(f"{m[5:]}/{m[2:4]}", n) for m, n in result["by_month"].items()]
    def label(kind: str, value: str) -> str:
        if value == "unknown":
            return ctx.t("report.unknown")
        if kind == "status":
            return ctx.t(f"status.{value}")
        return choice_label(form.purposes if kind == "purpose" else form.programmes, value)

    def counted(kind: str, counts: dict[str, int]) -> list[tuple[str, int, str]]:
        return [(label(kind, k), v, str(v)) for k, v in counts.items() if v]

    money = [(ctx.t("report.requested_vnd"), result["requested_vnd"], ctx.texts.money_words(result["requested_vnd"])),
             (ctx.t("report.granted_vnd"), result["granted_vnd"], ctx.texts.money_words(result["granted_vnd"]))]
    return Page("reports.html", {
        "result": result, "start": start.isoformat(), "end": end.isoformat(),
        "by_month": charts.columns(months, title=ctx.t("web.chart_by_month")),
        "by_status": charts.bars(counted("status", result["by_status"]), title=ctx.t("report.by_status")),
        "by_purpose": charts.bars(counted("purpose", result["by_purpose"]), title=ctx.t("report.by_purpose")),
        "by_programme": charts.bars(counted("programme", result["by_programme"]), title=ctx.t("report.by_programme")),
        "amounts": charts.bars(money, title=ctx.t("web.chart_amounts")),
        "medians": [(ctx.t(f"report.median_{k}"), ctx.texts.number(v))
                    for k, v in result["median_days"].items() if v is not None],
    })


def report_file(ctx: Context, officer: Officer, req: Req) -> Page | Download:
    from bot.registration import report

    if not steps.allowed(officer, "report", officer.commune_code):
        return DENIED
    result, _, _ = _report(ctx, officer, req)
    document = report.document(result, texts=ctx.texts, places=ctx.places, form=ctx.content.registration)
    return Download(document.filename, document.mime, document.content)
