"""What each officers' web page shows and does: the same services as the chat (search and filters
from bot.registration.worklist, decisions from bot.registration.steps), the same role and commune
checks (bot.registration.steps.allowed; anything else is 403), the same audit entries.

A view takes (ctx, officer, req) and returns a Page, a Redirect or a Download; it runs in the
request's transaction (bot/web/server.py)."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlencode

from bot.context import Context
from bot.registration import service, steps, worklist
from bot.registration.fields import Invalid, read_free_text
from bot.registration.record import borrower_name, choice_label, summary_lines
from bot.vntime import vietnam_date
from bot.web.server import DENIED, Page, Redirect, Req
from storage import lists, officers, registrations, web as web_store
from storage.models import Officer

PER_PAGE = 25
SORTS = ("old", "new", "name", "status")
# Messages a redirect may name (?msg=): a text key's tail, nothing else is shown.
MESSAGES = ("verified", "rejected", "needs_info", "note_saved", "decided_meanwhile", "already", "bad_text")
DECISIONS = {"verified": registrations.VERIFIED, "rejected": registrations.REJECTED, "needs_info": registrations.NEEDS_INFO}


def audit(ctx: Context, officer: Officer, action: str, **fields) -> None:
    officers.audit(session=ctx.session, actor=steps.actor(officer), action=action, now=ctx.now, **fields)


def _message(req: Req) -> str | None:
    msg = req.arg("msg")
    return msg if msg in MESSAGES else None


# -- login ----------------------------------------------------------------------------------------------


def login_page(session, now, req: Req) -> Page:
    """The link's page: a button that logs in (a link preview fetching the URL uses nothing up)."""
    if req.arg("bye"):
        return Page("message.html", {"kind": "logged_out"})
    token = req.arg("t")
    officer = web_store.peek_login(session=session, token=token, now=now) if token else None
    if officer is None:
        return Page("message.html", {"kind": "link_invalid"}, 403)
    return Page("login.html", {"token": token})


# -- home -----------------------------------------------------------------------------------------------


_DEADLINES: dict[tuple, dict | None] = {}  # the calendar's answer for a day (no personal data)


def _next_deadline(ctx: Context, officer: Officer) -> dict | None:
    """The next deadline of the calendar for the officer's commune and role (computed once a day)."""
    key = (id(ctx.content), officer.commune_code, officer.role, ctx.today)
    if key not in _DEADLINES:
        if len(_DEADLINES) > 1000:
            _DEADLINES.clear()
        _DEADLINES[key] = _deadline(ctx, officer)
    return _DEADLINES[key]


def _deadline(ctx: Context, officer: Officer) -> dict | None:
    from datetime import date

    from bot.reminders.sweeper import preview

    today = ctx.today
    items = preview(ctx.content, ctx.places, today, today + timedelta(days=120), officer.commune_code)
    ahead = sorted((i for i in items if i["deadline"] >= today.isoformat() and officer.role in i["audience"]),
                   key=lambda i: (i["deadline"], i["title"]))
    if not ahead:
        return None
    first = ahead[0]
    return {"title": first["title"], "date": ctx.texts.date(date.fromisoformat(first["deadline"])), "when": first["when"]}


def _row(ctx: Context, found: worklist.Found) -> dict:
    row, details = found.registration, found.details
    return {
        "id": row.id, "reference": service.show_reference(row.reference), "name": borrower_name(details, ctx.texts) or "—",
        "village": details.village or "", "programme": choice_label(ctx.content.registration.programmes, details.programme),
        "status": row.status, "status_label": ctx.t(f"status.{row.status}"), "sent": ctx.texts.date(vietnam_date(row.created_at)),
        "waiting": row.status in (registrations.PENDING, registrations.NEEDS_INFO),
    }


def home(ctx: Context, officer: Officer, req: Req) -> Page:
    code = officer.commune_code
    values: dict = {"deadline": _next_deadline(ctx, officer), "queue": [], "figures": None, "lists": []}
    if officer.role in officers.POLICE:
        values["figures"] = service.commune_figures(session=ctx.session, commune_code=code, now=ctx.now)
        rows = registrations.pending_for_commune(session=ctx.session, commune_code=code, limit=10)
        values["queue"] = [_row(ctx, worklist.Found(r, service.load_details(ctx.cipher, r))) for r in rows if r.details]
        audit(ctx, officer, "view_list", commune_code=code, detail="web home")
    else:
        waiting = (lists.CLOSED,) if officer.role == "committee" else (lists.CONFIRMED, lists.RECEIVED)
        values["lists"] = [{"id": r.id, "month": steps.show_period(r.period), "status": ctx.t(f"lists.status_{r.status}")}
                           for r in lists.of_communes(session=ctx.session, commune_codes=[code], statuses=waiting)]
        if officer.role == "bank":
            values["people"] = len(registrations.with_status(session=ctx.session, commune_codes=[code],
                                                             statuses=(registrations.RECEIVED,)))
    return Page("home.html", values)


# -- the registrations -------------------------------------------------------------------------------------


def _filters(ctx: Context, req: Req) -> tuple[dict, dict]:
    """(the service's filters, the values as the form shows them); unknown values are ignored."""
    chosen: dict = {}
    shown = dict.fromkeys(("status", "programme", "month", "village"), "")
    status = req.arg("status")
    if status in worklist.FILTER_STATUSES:
        chosen["status"] = shown["status"] = status
    programme = req.arg("programme")
    if programme in {p.value for p in ctx.content.registration.programmes}:
        chosen["programme"] = shown["programme"] = programme
    month = req.arg("month")
    if len(month) == 7 and month[4] == "-" and month[:4].isdecimal() and month[5:].isdecimal() and 1 <= int(month[5:]) <= 12:
        chosen["month"], shown["month"] = (int(month[:4]), int(month[5:])), month
    village = req.arg("village").strip()[:80]
    if village:
        chosen["village"] = shown["village"] = village
    return chosen, shown


def _sorted(found: list[worklist.Found], sort: str) -> list[worklist.Found]:
    from bot.nlu.normalize import fold

    if sort == "new":
        return sorted(found, key=lambda f: (f.registration.created_at, f.registration.id), reverse=True)
    if sort == "name":
        return sorted(found, key=lambda f: fold(f.details.name or ""))
    if sort == "status":
        order = {s: i for i, s in enumerate(worklist.FILTER_STATUSES)}
        return sorted(found, key=lambda f: (order.get(f.registration.status, 99), f.registration.created_at))
    return found  # oldest first, as the service gives them


def registration_list(ctx: Context, officer: Officer, req: Req) -> Page:
    code = officer.commune_code
    if not steps.allowed(officer, "review", code):
        return DENIED
    text = req.arg("q").strip()[:100]
    chosen, shown = _filters(ctx, req)
    sort = req.arg("sort") if req.arg("sort") in SORTS else "old"
    found = _sorted(worklist.find(ctx, code, text, **chosen), sort)
    pages = max((len(found) + PER_PAGE - 1) // PER_PAGE, 1)
    page = min(max(int(req.arg("page", "1")) if req.arg("page", "1").isdecimal() else 1, 1), pages)
    shown_rows = [_row(ctx, f) for f in found[(page - 1) * PER_PAGE:page * PER_PAGE]]
    action = "search" if text else ("filter" if chosen else "view_list")
    audit(ctx, officer, action, commune_code=code, detail=f"web found={len(found)} page={page}")
    query = {k: v for k, v in {"q": text, **shown, "sort": sort if sort != "old" else ""}.items() if v}
    today = ctx.today
    months = []
    for back in range(6):
        year, month = today.year, today.month - back
        year, month = (year - 1, month + 12) if month < 1 else (year, month)
        months.append((f"{year}-{month:02d}", f"{month:02d}/{year}"))
    return Page("registrations.html", {
        "rows": shown_rows, "total": len(found), "page": page, "pages": pages, "q": text, "shown": shown, "sort": sort,
        "sorts": SORTS, "statuses": [(s, ctx.t(f"status.{s}")) for s in worklist.FILTER_STATUSES],
        "programmes": [(p.value, p.label) for p in ctx.content.registration.programmes], "months": months,
        "villages": worklist.villages(ctx, code), "query": urlencode(query),
        "prev_url": "?" + urlencode({**query, "page": page - 1}) if page > 1 else None,
        "next_url": "?" + urlencode({**query, "page": page + 1}) if page < pages else None,
        "done": req.arg("done"), "skipped": req.arg("skipped"),
    })


def _back(req: Req) -> str:
    """The list's query to return to, rebuilt from known keys only (never an address of its own)."""
    from urllib.parse import parse_qs

    kept = {k: v[0][:100] for k, v in parse_qs(req.arg("back")[:600]).items() if k in ("q", "status", "programme", "month",
                                                                                   "village", "sort", "page")}
    return urlencode(kept)


def verify_selected(ctx: Context, officer: Officer, req: Req) -> Page | Redirect:
    """Verifies every registration ticked that is still waiting (the chat's "verify several")."""
    code = officer.commune_code
    if not steps.allowed(officer, "review", code):
        return DENIED
    ids = [int(i) for i in req.args("id") if i.isdecimal() and len(i) < 12][:100]
    rows = [r for r in (registrations.get(session=ctx.session, registration_id=i) for i in ids) if r is not None]
    many = steps.verify_many(ctx, officer, rows)
    back = _back(req)
    return Redirect(f"/web/registrations?{back}{'&' if back else ''}done={len(many.done)}&skipped={len(many.skipped)}")


def _own(ctx: Context, officer: Officer, req: Req):
    """The registration of the address if this binding may review it (its commune, still held)."""
    registration = registrations.get(session=ctx.session, registration_id=int(req.match["id"]))
    if registration is None or not steps.allowed(officer, "review", registration.commune_code):
        return None
    if registration.status not in registrations.HELD or not registration.details:
        return None
    return registration


def registration(ctx: Context, officer: Officer, req: Req) -> Page:
    row = _own(ctx, officer, req)
    if row is None:
        return DENIED
    audit(ctx, officer, "view", registration_id=row.id, commune_code=row.commune_code)
    details = service.load_details(ctx.cipher, row)
    twin = registrations.find_repeat(session=ctx.session, phone_indexes=[row.phone_index or ""], commune_code=row.commune_code,
                                     exclude_id=row.id)
    history = []
    for event in registrations.events(session=ctx.session, registration_id=row.id):
        history.append({"date": ctx.texts.date(vietnam_date(event.at)), "action": ctx.t(f"records.action_{event.action}"),
                        "note": ctx.cipher.decrypt(event.note) if event.note else None})
    return Page("detail.html", {
        "row": row, "reference": service.show_reference(row.reference), "status_label": ctx.t(f"status.{row.status}"),
        "lines": summary_lines(details, ctx.texts, ctx.places, ctx.content.registration, ctx.today),
        "requested": ctx.texts.money(details.amount_requested) if details.amount_requested else None,
        "twin": service.show_reference(twin.reference) if twin else None, "twin_id": twin.id if twin else None,
        "flags": worklist.flags(ctx, details, ctx.today), "history": history,
        "active": row.status in registrations.ACTIVE, "reasons": ctx.content.registration.reasons_for(details.programme),
        "message": _message(req), "back": _back(req),
    })


def decide(ctx: Context, officer: Officer, req: Req) -> Page | Redirect:
    """Verified, needs information (a note), or not eligible (a reason chosen or typed)."""
    row = _own(ctx, officer, req)
    decision = DECISIONS.get(req.arg("decision"))
    if row is None or decision is None:
        return DENIED
    here = f"/web/registrations/{row.id}"
    if row.status not in registrations.ACTIVE:
        return Redirect(f"{here}?msg=already")
    version = int(req.arg("version")) if req.arg("version").isdecimal() and len(req.arg("version")) < 10 else None
    note = None
    if decision != registrations.VERIFIED:
        reasons = ctx.content.registration.reasons_for(service.load_details(ctx.cipher, row).programme)
        chosen = req.arg("reason")
        typed = req.arg("note").strip()
        if decision == registrations.REJECTED and chosen.isdecimal() and int(chosen) < len(reasons) and not typed:
            note = reasons[int(chosen)]
        else:
            try:
                note = read_free_text(typed, limit=500)
            except Invalid:
                return Redirect(f"{here}?msg=bad_text")
    if not steps.decide(ctx, officer, row, decision, note, version=version):
        return Redirect(f"{here}?msg=decided_meanwhile")
    return Redirect(f"{here}?msg={req.arg('decision')}")


def note(ctx: Context, officer: Officer, req: Req) -> Page | Redirect:
    row = _own(ctx, officer, req)
    if row is None:
        return DENIED
    try:
        text = read_free_text(req.arg("note"), limit=500)
    except Invalid:
        return Redirect(f"/web/registrations/{row.id}?msg=bad_text")
    service.add_note(ctx, officer, row, text)
    return Redirect(f"/web/registrations/{row.id}?msg=note_saved")


# -- people's questions ("Gặp cán bộ") ---------------------------------------------------------------------


def questions(ctx: Context, officer: Officer, req: Req) -> Page:
    code = officer.commune_code
    if not steps.allowed(officer, "review", code):
        return DENIED
    rows = registrations.open_questions(session=ctx.session, commune_code=code, limit=50)
    audit(ctx, officer, "view_questions", commune_code=code)
    shown = [{"id": r.id, "text": ((ctx.cipher.decrypt(r.question) if r.question else None) or "")[:80],
              "date": ctx.texts.date(vietnam_date(r.created_at))} for r in rows]
    return Page("questions.html", {"questions": shown, "answered": req.arg("msg") == "answered"})


def _question(ctx: Context, officer: Officer, req: Req):
    row = registrations.get_question(session=ctx.session, question_id=int(req.match["id"]))
    return row if row is not None and steps.allowed(officer, "review", row.commune_code) else None


def question(ctx: Context, officer: Officer, req: Req) -> Page | Redirect:
    row = _question(ctx, officer, req)
    if row is None:
        return DENIED
    if row.status != "open":
        return Redirect("/web/questions")
    audit(ctx, officer, "view_question", commune_code=row.commune_code, detail=f"question={row.id}")
    phone = ctx.cipher.decrypt(row.phone) if row.phone else None
    return Page("question.html", {"row": row, "text": ctx.cipher.decrypt(row.question) or "", "phone": phone,
                                  "date": ctx.texts.date(vietnam_date(row.created_at)), "bad": req.arg("msg") == "bad_text"})


def reply(ctx: Context, officer: Officer, req: Req) -> Page | Redirect:
    from handlers.common import menu_buttons

    row = _question(ctx, officer, req)
    if row is None:
        return DENIED
    try:
        text = read_free_text(req.arg("answer"), limit=500)
    except Invalid:
        return Redirect(f"/web/questions/{row.id}?msg=bad_text")
    if row.status != "open" or not steps.answer_question(ctx, officer, row, text, menu_buttons(ctx)):
        return Redirect("/web/questions")
    return Redirect("/web/questions?msg=answered")


# -- admin: the commune's officers and invites, the audit log ----------------------------------------------


def _admin(officer: Officer) -> bool:
    return officer.role == "admin"


def admin(ctx: Context, officer: Officer, req: Req) -> Page:
    from sqlmodel import col, select

    from storage.models import AuditEntry

    if not _admin(officer):
        return DENIED
    code = officer.commune_code
    team = [{"id": o.id, "role": ctx.t(f"web.role_{o.role}"), "since": ctx.texts.date(vietnam_date(o.created_at)), "me": o.id == officer.id}
            for o in officers.of_commune(session=ctx.session, commune_code=code)]
    action = req.arg("action").strip()[:24]
    reference = req.arg("reference").strip().upper().replace("-", "")[:12]
    statement = select(AuditEntry).where(AuditEntry.commune_code == code)
    if action:
        statement = statement.where(col(AuditEntry.action).startswith(action))
    if reference:
        found = registrations.by_reference(session=ctx.session, reference=reference)
        statement = statement.where(AuditEntry.registration_id == (found.id if found and found.commune_code == code else -1))
    entries = [{"at": e.at.astimezone(vietnam_tz()).strftime("%d/%m/%Y %H:%M"), "actor": e.actor, "action": e.action,
                "detail": e.detail or ""} for e in ctx.session.exec(statement.order_by(col(AuditEntry.id).desc()).limit(100))]
    audit(ctx, officer, "view_audit", commune_code=code, detail=f"web found={len(entries)}")
    return Page("admin.html", {"team": team, "entries": entries, "action": action, "reference": req.arg("reference")[:12],
                               "roles": officers.ROLES, "code": req.arg("code"), "invited_role": req.arg("role"),
                               "revoked": req.arg("revoked")})


def vietnam_tz():
    from bot.vntime import VIETNAM

    return VIETNAM


def invite(ctx: Context, officer: Officer, req: Req) -> Page | Redirect:
    """A single-use invite code for the admin's own commune (shown once on the page)."""
    if not _admin(officer):
        return DENIED
    role = req.arg("role")
    if role not in officers.ROLES or role == "bank":  # a bank office is invited for all its communes at once, by the CLI
        return DENIED
    hours = ctx.officer_invite_hours
    code = officers.create_invite(session=ctx.session, commune_code=officer.commune_code, role=role, now=ctx.now,
                                  expires_at=ctx.now + timedelta(hours=hours))
    audit(ctx, officer, "invite", commune_code=officer.commune_code, detail=role)
    return Page("invite.html", {"code": code, "invited_role": ctx.t(f"web.role_{role}"), "hours": hours})


def revoke(ctx: Context, officer: Officer, req: Req) -> Page | Redirect:
    from storage.models import Officer as Binding

    if not _admin(officer):
        return DENIED
    target = ctx.session.get(Binding, int(req.match["id"]))
    if target is None or target.commune_code != officer.commune_code or target.id == officer.id:
        return DENIED
    if officers.revoke(session=ctx.session, officer_id=target.id, now=ctx.now):
        web_store.end_sessions_of(session=ctx.session, officer_id=target.id, now=ctx.now)
        audit(ctx, officer, "revoke", commune_code=officer.commune_code, detail=f"officer={target.id}")
    return Redirect(f"/web/admin?revoked={target.id}")
