"""The officers' side: binding by invite code (every role), and the commune police's work —
pending registrations of their own communes, search and filters, decisions with notes (several
at once, undo within 10 minutes), the working list, and people's questions. The list's later steps
(committee, bank) are in handlers/lists.py. Every action re-checks the role and the commune
(bot.registration.steps); anyone else gets a neutral "không có quyền"."""

from __future__ import annotations

import re
from datetime import timedelta

from bot import limits
from bot.context import Context, Result
from bot.registration import service, steps, worklist
from bot.registration.export import monthly_document
from bot.registration.fields import Invalid, read_free_text
from bot.registration.record import borrower_name, summary_lines
from bot.router import FlowSpec, Router, resolve_button
from bot.state import ConversationState, Flow, OfficerStep, OfficerTyping
from bot.types import Button, Incoming, Reply
from bot.vntime import vietnam_date
from handlers.common import menu_buttons
from storage import officers, registrations
from storage.models import Officer

PREFIX = "off"
PAGE = 5
TYPED_FOR = timedelta(hours=1)  # an awaited reason, note or reply expires: a message days later is not one
# Typed input an officer is asked for: step "<kind>:<id>".
TYPED = frozenset(OfficerStep)
MAX_VERSION = 2**31  # a registration's version in a button: anything larger is forged
# Typed input of the list's later steps (handlers/lists.py): the signer, a return note, an outcome.
LIST_STEPS = frozenset({OfficerStep.SIGN, OfficerStep.RETURN_NOTE, OfficerStep.GRANT, OfficerStep.DENY})


def register(router: Router) -> None:
    router.payload(PREFIX, on_payload)
    router.command("canbo", on_command)
    router.command("web", lambda ctx, arguments, state: web_links(ctx))
    router.on_deep_link = lambda ctx, payload, state: redeem(ctx, payload, state)
    router.flow(Flow.OFFICER, FlowSpec(handle=on_text, reprompt=lambda ctx, state, **_: None, claims=claims, free_text=claims))
    _officer_first(router)


def _officer_first(router: Router) -> None:
    """For a bound officer, opening the chat (Telegram's /start), typing "/start" or "menu" shows the
    officer menu (which has a button to the citizens' menu); anyone else gets the usual greeting or
    menu. Registered after the menu feature, so it wraps the handlers that feature set."""
    citizen_open = router.on_open
    citizen_menu = router.intent_handlers["menu"]

    def on_open(ctx: Context, msg: Incoming, state: ConversationState) -> Result:
        # An officer in the middle of a citizen's flow (registering a relative) gets that flow back.
        if bindings(ctx) and state.flow not in (Flow.REGISTRATION, Flow.ELIGIBILITY, Flow.HANDOFF):
            return home(ctx, state)
        return citizen_open(ctx, msg, state)

    def on_menu(ctx: Context, intent: str, state: ConversationState) -> Result:
        if bindings(ctx):
            return home(ctx, state)
        return citizen_menu(ctx, intent, state)

    def on_start(ctx: Context, arguments: str, state: ConversationState) -> Result:
        if arguments:
            return redeem(ctx, arguments.split()[0], state)  # "/start CODE", as the invite link sends it
        if bindings(ctx):
            return home(ctx, state)
        return router.intent_handlers["greeting"](ctx, "greeting", state)

    if citizen_open is not None:
        router.on_open = on_open
    if citizen_menu is not None:
        router.intent("menu", on_menu)
    router.command("start", on_start)


def denied(ctx: Context) -> Result:
    return Result([Reply(ctx.t("officer.denied"), menu_buttons(ctx))])


def bindings(ctx: Context) -> list[Officer]:
    return officers.of_chat(session=ctx.session, channel=ctx.channel, chat_id=ctx.chat_id) if ctx.has_storage else []


def officer_for(ctx: Context, commune_code: int) -> Officer | None:
    """This chat's police binding for the commune (officer or admin), checked afresh on every action."""
    return steps.binding(ctx, commune_code, "review")


def audit(ctx: Context, officer: Officer, action: str, **fields) -> None:
    officers.audit(session=ctx.session, actor=f"officer:{officer.id}", action=action, now=ctx.now, **fields)


# -- binding -------------------------------------------------------------------------------------------


def on_command(ctx: Context, arguments: str, state: ConversationState) -> Result:
    """'/canbo CODE' binds this chat; '/canbo' alone opens the officer menu."""
    if arguments:
        return redeem(ctx, arguments.split()[0], state)
    return home(ctx, state)


def redeem(ctx: Context, code: str, state: ConversationState) -> Result:
    if not ctx.has_storage:
        return denied(ctx)
    locked = limits.invite_locked_for(ctx)
    if locked is not None:  # too many wrong codes: not even looked up until the lockout ends
        return Result([Reply(ctx.t("limits.invite_locked", minutes=limits.minutes(locked)), menu_buttons(ctx))])
    bound = officers.redeem_invite(session=ctx.session, code=code, channel=ctx.channel, chat_id=ctx.chat_id, now=ctx.now)
    if not bound:
        lockout = limits.invite_failed(ctx)
        if lockout is not None:
            return Result([Reply(ctx.t("limits.invite_locked", minutes=limits.minutes(lockout)), menu_buttons(ctx))])
        return Result([Reply(ctx.t("officer.invite_invalid"), menu_buttons(ctx))])
    limits.invite_succeeded(ctx)
    for officer in bound:
        audit(ctx, officer, "bind", commune_code=officer.commune_code, detail=officer.role)
    communes = "; ".join(ctx.places.label(o.commune_code) for o in bound)
    welcome = Reply(ctx.t("officer.bound", commune=communes) + " " + ctx.t(f"officer.role_{bound[0].role}"))
    return Result([welcome, *home(ctx, state).replies])


# -- menus ----------------------------------------------------------------------------------------------


def home(ctx: Context, state: ConversationState) -> Result:
    """Each binding's figures and what its role can do there."""
    from handlers import lists as list_handlers

    mine = bindings(ctx)
    if not mine:
        return denied(ctx)
    state.flow, state.step = Flow.MENU, None
    month = vietnam_date(ctx.now)
    lines, buttons = [], []
    for officer in mine:
        code = officer.commune_code
        commune = ctx.places.commune(code) if len(mine) > 1 else None
        suffix = f" · {commune.name}" if commune else ""
        if officer.role not in officers.POLICE:
            line, more = list_handlers.home_part(ctx, officer, suffix)
            lines.append(line)
            buttons += more
            continue
        figures = service.commune_figures(session=ctx.session, commune_code=code, now=ctx.now)
        lines.append(ctx.t("officer.figures", commune=ctx.places.label(code), **figures))
        buttons += [
            Button(ctx.t("officer.pending_list") + suffix, f"{PREFIX}:list:{code}:0"),
            Button(ctx.t("officer.find") + suffix, f"{PREFIX}:find:{code}"),
            Button(ctx.t("officer.filters") + suffix, f"{PREFIX}:filters:{code}"),
            Button(ctx.t("lists.close") + suffix, f"lst:close:{code}"),
            Button(ctx.t("officer.questions") + suffix, f"{PREFIX}:qs:{code}"),
            Button(ctx.t("officer.export") + suffix, f"{PREFIX}:export:{code}:{month.year}-{month.month:02d}"),
        ]
        if steps.undoable(ctx, officer) is not None:
            buttons.append(Button(ctx.t("officer.undo") + suffix, f"{PREFIX}:undo:{code}"))
    pages = ctx.button("web.open_pages", f"{PREFIX}:web")
    citizen = ctx.button("officer.citizen_menu", "menu:show")
    return Result([Reply("\n".join([ctx.t("officer.home_heading"), *lines]), tuple(buttons) + (pages, citizen))])


def web_links(ctx: Context) -> Result:
    """'Mở trang quản lý' and /web: a one-time login link for each of this chat's bindings
    (10 minutes, single use, bound to the binding)."""
    from bot.web.links import login_link

    mine = bindings(ctx)
    if not mine:
        return denied(ctx)
    if not ctx.web_base_url.startswith(("https://", "http://")):
        return Result([Reply(ctx.t("web.not_configured"), (ctx.button("officer.home", f"{PREFIX}:home"),))])
    texts = [ctx.t("web.link_sent", commune=ctx.places.label(o.commune_code),
                   link=login_link(session=ctx.session, officer=o, base_url=ctx.web_base_url, now=ctx.now, actor=f"officer:{o.id}"))
             for o in mine]
    return Result([Reply("\n\n".join(texts), (ctx.button("officer.home", f"{PREFIX}:home"),))])


def on_payload(ctx: Context, payload: str, state: ConversationState) -> Result:
    """off:home | list:<commune>:<page> | open:<id> | ok|no|info|note|other:<id> | nor:<id>:<i> |
    export:<commune>:<YYYY-MM> | qs:<commune> | q:<qid> | reply:<qid>."""
    parts = payload.split(":")[1:]
    action, args = (parts[0] if parts else "home"), parts[1:]
    if action == "web":
        return web_links(ctx)
    if action == "home" or not args or not args[0].isdecimal() or not all(a.replace("-", "").isdecimal() for a in args[1:]):
        return home(ctx, state)
    state.flow, state.step = Flow.MENU, None
    if action == "list":
        return pending_list(ctx, int(args[0]), int(args[1]) if len(args) > 1 else 0)
    if action in ("find", "bulk"):
        if officer_for(ctx, int(args[0])) is None:
            return denied(ctx)
        await_text(ctx, state, OfficerStep.SEARCH if action == "find" else OfficerStep.BULK, int(args[0]))
        return Result([Reply(ctx.t(f"officer.ask_{action}"), (ctx.button("officer.home", f"{PREFIX}:home"),))])
    if action == "filters":
        return filter_menu(ctx, int(args[0]))
    if action == "flt" and len(args) == 3:
        return filter_results(ctx, int(args[0]), int(args[1]), int(args[2]))
    if action == "okall":
        ids = [int(i) for i in args[1].split("-") if i] if len(args) > 1 else []
        return verify_many(ctx, int(args[0]), ids)
    if action == "undo":
        return undo(ctx, int(args[0]))
    if action == "export":
        return export(ctx, int(args[0]), args[1] if len(args) > 1 else "")
    if action == "qs":
        return question_list(ctx, int(args[0]))
    if action in ("q", "reply"):
        return question(ctx, state, int(args[0]), answer=action == "reply")
    registration = registrations.get(session=ctx.session, registration_id=int(args[0]))
    officer = officer_for(ctx, registration.commune_code) if registration else None
    if registration is None or officer is None:
        return denied(ctx)
    if action == "open" and registration.status in registrations.HELD:
        return open_registration(ctx, officer, registration)
    if registration.status not in registrations.ACTIVE:
        if registration.status in registrations.HELD:  # on the month's list or decided by the bank: no longer the police's
            return Result([Reply(ctx.t("officer.already", status=ctx.t(f"status.{registration.status}")))])
        return Result([Reply(ctx.t("officer.no_longer_available")), *pending_list(ctx, registration.commune_code, 0).replies])
    # Decision buttons carry the version of the registration the officer was shown (older ones do not).
    version = _version(args[2] if action == "nor" else args[1]) if len(args) > (2 if action == "nor" else 1) else None
    if version is False:
        return Result([Reply(ctx.t("input.stale_button"))] + pending_list(ctx, registration.commune_code, 0).replies)
    if action == "ok":
        if registration.status == registrations.VERIFIED:
            return Result([Reply(ctx.t("officer.already", status=ctx.t("status.verified")))]
                          + pending_list(ctx, registration.commune_code, 0).replies)
        if not service.decide(ctx, officer, registration, registrations.VERIFIED, version=version):
            return decided_meanwhile(ctx, registration)
        return Result([Reply(ctx.t("officer.verified", reference=service.show_reference(registration.reference)))]
                      + pending_list(ctx, registration.commune_code, 0).replies)
    if action == "no":
        # "Chọn lý do, hoặc gõ lý do khác": a reason typed here is taken, like after "Lý do khác".
        await_text(ctx, state, OfficerStep.REASON, registration.id, version)
        reasons = _reasons(ctx, registration)
        tail = f":{version}" if version is not None else ""
        buttons = tuple(Button(r, f"{PREFIX}:nor:{registration.id}:{i}{tail}") for i, r in enumerate(reasons))
        buttons += (ctx.button("officer.other_reason", f"{PREFIX}:other:{registration.id}{tail}"),
                    ctx.button("officer.back", f"{PREFIX}:open:{registration.id}"))
        return Result([Reply(ctx.t("officer.ask_reason"), buttons)])
    if action == "nor" and len(args) in (2, 3) and args[1].isdecimal() and int(args[1]) < len(_reasons(ctx, registration)):
        return reject(ctx, officer, registration, _reasons(ctx, registration)[int(args[1])], version)
    if action in ("other", "info", "note"):
        await_text(ctx, state, OfficerStep.REASON if action == "other" else OfficerStep(action), registration.id, version)
        return Result([Reply(ctx.t(f"officer.ask_{action}"), (ctx.button("officer.back", f"{PREFIX}:open:{registration.id}"),))])
    return home(ctx, state)


def _reasons(ctx: Context, registration) -> list[str]:
    """The rejection reasons that fit the registration's programme."""
    programme = service.load_details(ctx.cipher, registration).programme if registration.details else None
    return ctx.content.registration.reasons_for(programme)


def _version(value: str) -> int | None | bool:
    """A version from a button: the number, or False when it cannot be one (forged)."""
    return int(value) if value.isdecimal() and int(value) < MAX_VERSION else False


def decided_meanwhile(ctx: Context, registration) -> Result:
    """Another officer decided first (or the person corrected it): nothing was recorded or sent."""
    if registration.status not in registrations.ACTIVE:
        return Result([Reply(ctx.t("officer.no_longer_available")), *pending_list(ctx, registration.commune_code, 0).replies])
    text = ctx.t("officer.decided_meanwhile", reference=service.show_reference(registration.reference),
                 status=ctx.t(f"status.{registration.status}"))
    buttons = (ctx.button("officer.open_registration", f"{PREFIX}:open:{registration.id}"),
               ctx.button("officer.back_to_list", f"{PREFIX}:list:{registration.commune_code}:0"))
    return Result([Reply(text, buttons)])


def pending_list(ctx: Context, commune_code: int, page: int) -> Result:
    """Registrations waiting for a decision, oldest first, five per page."""
    officer = officer_for(ctx, commune_code)
    if officer is None:
        return denied(ctx)
    page = max(page, 0)
    rows = registrations.pending_for_commune(session=ctx.session, commune_code=commune_code, offset=page * PAGE, limit=PAGE + 1)
    total = service.commune_figures(session=ctx.session, commune_code=commune_code, now=ctx.now)["pending"]
    audit(ctx, officer, "view_list", commune_code=commune_code, detail=f"page={page}")
    if not rows:
        return Result([Reply(ctx.t("officer.none_pending", commune=ctx.places.label(commune_code)),
                             (ctx.button("officer.home", f"{PREFIX}:home"),))])
    buttons = []
    for row in rows[:PAGE]:
        details = service.load_details(ctx.cipher, row)
        label = ctx.t("officer.list_item", reference=service.show_reference(row.reference), name=borrower_name(details, ctx.texts) or "—",
                      status=ctx.t(f"status.{row.status}"))
        buttons.append(Button(label, f"{PREFIX}:open:{row.id}"))
    shown = "-".join(str(r.id) for r in rows[:PAGE])
    buttons.append(Button(ctx.t("officer.verify_page", count=len(rows[:PAGE])), f"{PREFIX}:okall:{commune_code}:{shown}"))
    buttons.append(ctx.button("officer.bulk", f"{PREFIX}:bulk:{commune_code}"))
    if len(rows) > PAGE:
        buttons.append(ctx.button("officer.next_page", f"{PREFIX}:list:{commune_code}:{page + 1}"))
    if page > 0:
        buttons.append(ctx.button("officer.previous_page", f"{PREFIX}:list:{commune_code}:{page - 1}"))
    buttons.append(ctx.button("officer.home", f"{PREFIX}:home"))
    text = ctx.t("officer.list_heading", commune=ctx.places.label(commune_code), count=total, page=page + 1)
    return Result([Reply(text, tuple(buttons))])


def open_registration(ctx: Context, officer: Officer, registration) -> Result:
    """The details, the history with notes, and the decisions."""
    audit(ctx, officer, "view", registration_id=registration.id, commune_code=registration.commune_code)
    details = service.load_details(ctx.cipher, registration)
    lines = [ctx.t("officer.detail_heading", reference=service.show_reference(registration.reference),
                   status=ctx.t(f"status.{registration.status}"))]
    lines += summary_lines(details, ctx.texts, ctx.places, ctx.content.registration, ctx.today)
    if details.amount_requested:
        lines.append(ctx.t("officer.amount_requested", amount=ctx.texts.money(details.amount_requested)))
    twin = registrations.find_repeat(session=ctx.session, phone_indexes=[registration.phone_index or ""],
                                     commune_code=registration.commune_code, exclude_id=registration.id)
    if twin is not None:
        lines.append(ctx.t("officer.possible_duplicate", reference=service.show_reference(twin.reference)))
    flags = worklist.flags(ctx, details, ctx.today)
    if flags:
        lines.append(ctx.t("officer.flags", flags=", ".join(flags)))
    for event in registrations.events(session=ctx.session, registration_id=registration.id):
        note = ctx.cipher.decrypt(event.note) if event.note else None
        when = ctx.texts.date(vietnam_date(event.at))
        line = ctx.t("records.event", date=when, action=ctx.t(f"records.action_{event.action}"))
        lines.append(line + (ctx.t("records.event_note", note=note) if note else ""))
    rid, version = registration.id, registration.version
    decisions = (
        ctx.button("officer.decide_ok", f"{PREFIX}:ok:{rid}:{version}"),
        ctx.button("officer.decide_no", f"{PREFIX}:no:{rid}:{version}"),
        ctx.button("officer.decide_info", f"{PREFIX}:info:{rid}:{version}"),
        ctx.button("officer.add_note", f"{PREFIX}:note:{rid}"),
    ) if registration.status in registrations.ACTIVE else ()
    buttons = decisions + (ctx.button("officer.back_to_list", f"{PREFIX}:list:{registration.commune_code}:0"),)
    return Result([Reply("\n".join(lines), buttons)])


def _result_buttons(ctx: Context, found: list[worklist.Found]) -> tuple[Button, ...]:
    return tuple(Button(ctx.t("officer.list_item", reference=service.show_reference(f.registration.reference),
                              name=borrower_name(f.details, ctx.texts) or "—", status=ctx.t(f"status.{f.registration.status}")),
                        f"{PREFIX}:open:{f.registration.id}") for f in found)


def search_results(ctx: Context, commune_code: int, text: str) -> Result:
    officer = officer_for(ctx, commune_code)
    if officer is None:
        return denied(ctx)
    found = worklist.search(ctx, commune_code, text)
    audit(ctx, officer, "search", commune_code=commune_code, detail=f"found={len(found)}")
    home_button = ctx.button("officer.home", f"{PREFIX}:home")
    if not found:
        return Result([Reply(ctx.t("officer.search_none"), (ctx.button("officer.find", f"{PREFIX}:find:{commune_code}"), home_button))])
    return Result([Reply(ctx.t("officer.search_heading", count=len(found)), _result_buttons(ctx, found) + (home_button,))])


FILTER_KINDS = ("status", "programme", "month", "village")


def filter_menu(ctx: Context, commune_code: int) -> Result:
    """One button per filter value: each status, programme, the last three months, each village."""
    if officer_for(ctx, commune_code) is None:
        return denied(ctx)
    base = f"{PREFIX}:flt:{commune_code}"
    buttons = [Button(ctx.t("officer.filter_status", status=ctx.t(f"status.{s}")), f"{base}:1:{i}")
               for i, s in enumerate(worklist.FILTER_STATUSES)]
    buttons += [Button(ctx.t("officer.filter_programme", programme=p.label), f"{base}:2:{i}")
                for i, p in enumerate(ctx.content.registration.programmes)]
    today = vietnam_date(ctx.now)
    for back in range(3):
        year, month = today.year, today.month - back
        year, month = (year - 1, month + 12) if month < 1 else (year, month)
        buttons.append(Button(ctx.t("officer.filter_month", month=f"{month:02d}/{year}"), f"{base}:3:{year * 100 + month}"))
    buttons += [Button(ctx.t("officer.filter_village", village=v), f"{base}:4:{i}")
                for i, v in enumerate(worklist.villages(ctx, commune_code)[:10])]
    buttons.append(ctx.button("officer.home", f"{PREFIX}:home"))
    return Result([Reply(ctx.t("officer.filters_heading", commune=ctx.places.label(commune_code)), tuple(buttons))])


def filter_results(ctx: Context, commune_code: int, kind: int, value: int) -> Result:
    officer = officer_for(ctx, commune_code)
    if officer is None:
        return denied(ctx)
    chosen: dict = {}
    if kind == 1 and value < len(worklist.FILTER_STATUSES):
        chosen["status"] = worklist.FILTER_STATUSES[value]
    elif kind == 2 and value < len(ctx.content.registration.programmes):
        chosen["programme"] = ctx.content.registration.programmes[value].value
    elif kind == 3 and 1 <= value % 100 <= 12:
        chosen["month"] = (value // 100, value % 100)
    elif kind == 4 and value < len(places := worklist.villages(ctx, commune_code)):
        chosen["village"] = places[value]
    else:
        return Result([Reply(ctx.t("input.stale_button"))] + filter_menu(ctx, commune_code).replies)
    found = worklist.filtered(ctx, commune_code, **chosen)
    audit(ctx, officer, "filter", commune_code=commune_code, detail=f"{FILTER_KINDS[kind - 1]} found={len(found)}")
    buttons = _result_buttons(ctx, found[:10]) + (ctx.button("officer.filters", f"{PREFIX}:filters:{commune_code}"),
                                                  ctx.button("officer.home", f"{PREFIX}:home"))
    return Result([Reply(ctx.t("officer.filter_heading", count=len(found), shown=min(len(found), 10)), buttons)])


def verify_many(ctx: Context, commune_code: int, ids: list[int]) -> Result:
    """Verifies the registrations given (the page's, or typed references) that are still waiting."""
    officer = officer_for(ctx, commune_code)
    if officer is None:
        return denied(ctx)
    rows = [r for r in (registrations.get(session=ctx.session, registration_id=i) for i in ids[:50]) if r is not None]
    many = steps.verify_many(ctx, officer, rows)
    text = ctx.t("officer.verified_many", count=len(many.done),
                 references=", ".join(service.show_reference(r.reference) for r in many.done) or "—")
    if many.skipped:
        text += "\n" + ctx.t("officer.skipped_many", count=len(many.skipped))
    return Result([Reply(text)] + pending_list(ctx, commune_code, 0).replies)


def verify_typed(ctx: Context, commune_code: int, text: str) -> Result:
    """'K7Q-4M2, ABC-DEF': the references typed, each looked up in the officer's commune."""
    if officer_for(ctx, commune_code) is None:
        return denied(ctx)
    ids = []
    for word in re.split(r"[\s,;]+", text.strip().upper()):
        row = registrations.by_reference(session=ctx.session, reference=word) if worklist.REFERENCE.match(word) else None
        if row is not None and row.commune_code == commune_code:
            ids.append(row.id)
    if not ids:
        return Result([Reply(ctx.t("officer.bulk_none"), (ctx.button("officer.bulk", f"{PREFIX}:bulk:{commune_code}"),
                                                          ctx.button("officer.home", f"{PREFIX}:home")))])
    return verify_many(ctx, commune_code, ids)


def undo(ctx: Context, commune_code: int) -> Result:
    officer = officer_for(ctx, commune_code)
    if officer is None:
        return denied(ctx)
    row = steps.undo_last(ctx, officer)
    if row is None:
        return Result([Reply(ctx.t("officer.undo_none"), (ctx.button("officer.home", f"{PREFIX}:home"),))])
    text = ctx.t("officer.undone", reference=service.show_reference(row.reference), status=ctx.t(f"status.{row.status}"))
    return Result([Reply(text, (ctx.button("officer.open_registration", f"{PREFIX}:open:{row.id}"),
                                ctx.button("officer.home", f"{PREFIX}:home")))])


def reject(ctx: Context, officer: Officer, registration, reason: str, version: int | None = None) -> Result:
    if not service.decide(ctx, officer, registration, registrations.REJECTED, reason, version=version):
        return decided_meanwhile(ctx, registration)
    return Result([Reply(ctx.t("officer.rejected", reference=service.show_reference(registration.reference)))]
                  + pending_list(ctx, registration.commune_code, 0).replies)


def export(ctx: Context, commune_code: int, month: str) -> Result:
    """The month's list as an XLSX file in the chat."""
    from bot.registration.export import parse_month

    officer = officer_for(ctx, commune_code)
    if officer is None:
        return denied(ctx)
    try:
        year, number = parse_month(month)
    except ValueError:
        today = vietnam_date(ctx.now)
        year, number = today.year, today.month
    document, count = monthly_document(session=ctx.session, cipher=ctx.cipher, texts=ctx.texts, places=ctx.places,
                                       form=ctx.content.registration, commune_code=commune_code, year=year, month=number,
                                       today=ctx.today)
    audit(ctx, officer, "export", commune_code=commune_code, detail=f"{year}-{number:02d} rows={count}")
    text = ctx.t("officer.exported", commune=ctx.places.label(commune_code), month=f"{number:02d}/{year}", count=count)
    return Result([Reply(text, (ctx.button("officer.home", f"{PREFIX}:home"),), document)])


# -- people's questions --------------------------------------------------------------------------------


def question_list(ctx: Context, commune_code: int) -> Result:
    officer = officer_for(ctx, commune_code)
    if officer is None:
        return denied(ctx)
    rows = registrations.open_questions(session=ctx.session, commune_code=commune_code)
    audit(ctx, officer, "view_questions", commune_code=commune_code)
    if not rows:
        return Result([Reply(ctx.t("officer.no_questions"), (ctx.button("officer.home", f"{PREFIX}:home"),))])
    buttons = []
    for row in rows:
        text = (ctx.cipher.decrypt(row.question) if row.question else None) or ""
        buttons.append(Button(ctx.t("officer.question_item", number=row.id, text=text[:40]), f"{PREFIX}:q:{row.id}"))
    return Result([Reply(ctx.t("officer.questions_heading", count=len(rows)),
                         tuple(buttons) + (ctx.button("officer.home", f"{PREFIX}:home"),))])


def question(ctx: Context, state: ConversationState, question_id: int, *, answer: bool) -> Result:
    """Shows a question (with the phone only if the person agreed); 'reply' waits for the typed answer."""
    row = registrations.get_question(session=ctx.session, question_id=question_id)
    officer = officer_for(ctx, row.commune_code) if row else None
    if row is None or officer is None:
        return denied(ctx)
    if row.status != "open":
        return Result([Reply(ctx.t("officer.question_closed"))] + question_list(ctx, row.commune_code).replies)
    audit(ctx, officer, "view_question", commune_code=row.commune_code, detail=f"question={row.id}")
    if answer:
        await_text(ctx, state, OfficerStep.REPLY, row.id)
        return Result([Reply(ctx.t("officer.ask_reply"), (ctx.button("officer.back", f"{PREFIX}:qs:{row.commune_code}"),))])
    phone = ctx.cipher.decrypt(row.phone) if row.phone else None
    text = ctx.t("officer.question_detail", number=row.id, text=(ctx.cipher.decrypt(row.question) if row.question else None) or "",
                 phone=phone or ctx.t("officer.no_phone"))
    buttons = (ctx.button("officer.reply", f"{PREFIX}:reply:{row.id}"), ctx.button("officer.back", f"{PREFIX}:qs:{row.commune_code}"))
    return Result([Reply(text, buttons)])


# -- typed reasons, messages, notes and replies ---------------------------------------------------------------


def await_text(ctx: Context, state: ConversationState, kind: OfficerStep, target: int | str, version: int | None = None) -> None:
    state.flow, state.step = Flow.OFFICER, f"{kind}:{target}"
    state.officer = OfficerTyping(since=ctx.now, version=version)


def _awaiting(ctx: Context, state: ConversationState) -> bool:
    fresh = state.officer is not None and ctx.now - state.officer.since < TYPED_FOR
    return state.flow is Flow.OFFICER and (state.step or "").split(":")[0] in TYPED and fresh


def claims(ctx: Context, text: str, state: ConversationState) -> bool:
    """While a reason, message, note or reply is awaited (for an hour), what is typed is it —
    unless it is a button's label ("Quay lại") or a navigation word ("thoát")."""
    if not _awaiting(ctx, state):
        return False
    return resolve_button(text, state.buttons, ctx.normalizer.light, ctx.normalizer.choice_words) is None


def on_text(ctx: Context, msg: Incoming, state: ConversationState) -> Result | None:
    kind, _, target = (state.step or "").partition(":")
    if state.officer is None or not _awaiting(ctx, state) or not target.isdecimal():
        state.flow, state.step = Flow.MENU, None
        return None
    state.flow, state.step = Flow.MENU, None
    version, state.officer = state.officer.version, None
    words = ctx.normalizer.light(msg.text)
    navigation = ctx.content.questions.navigation
    if any(words in navigation[k] for k in ("back", "exit", "restart")):
        return Result([Reply(ctx.t("officer.typing_cancelled"))] + home(ctx, state).replies)
    try:
        text = read_free_text(msg.text, limit=500)
    except Invalid as exc:
        await_text(ctx, state, OfficerStep(kind), target, version)
        return Result([Reply(ctx.t(exc.key, **exc.values))])
    if kind == OfficerStep.REPLY:
        return send_reply(ctx, int(target), text)
    if kind == OfficerStep.SEARCH:
        return search_results(ctx, int(target), text)
    if kind == OfficerStep.BULK:
        return verify_typed(ctx, int(target), text)
    if kind in LIST_STEPS:
        from handlers import lists as list_handlers

        return list_handlers.on_typed(ctx, state, OfficerStep(kind), int(target), text)
    registration = registrations.get(session=ctx.session, registration_id=int(target))
    officer = officer_for(ctx, registration.commune_code) if registration else None
    if registration is None or officer is None:
        return denied(ctx)
    if registration.status not in registrations.ACTIVE:
        return Result([Reply(ctx.t("officer.no_longer_available"))])
    if kind == OfficerStep.REASON:
        return reject(ctx, officer, registration, text, version)
    if kind == OfficerStep.INFO:
        if not service.decide(ctx, officer, registration, registrations.NEEDS_INFO, text, version=version):
            return decided_meanwhile(ctx, registration)
        return Result([Reply(ctx.t("officer.info_sent", reference=service.show_reference(registration.reference)))]
                      + pending_list(ctx, registration.commune_code, 0).replies)
    service.add_note(ctx, officer, registration, text)
    return Result([Reply(ctx.t("officer.note_saved"))] + open_registration(ctx, officer, registration).replies)


def send_reply(ctx: Context, question_id: int, text: str) -> Result:
    """The officer's answer goes to the person through the bot."""
    row = registrations.get_question(session=ctx.session, question_id=question_id)
    officer = officer_for(ctx, row.commune_code) if row else None
    if row is None or officer is None:
        return denied(ctx)
    if not steps.answer_question(ctx, officer, row, text, menu_buttons(ctx)):
        return Result([Reply(ctx.t("officer.question_closed"))])  # another officer answered first
    return Result([Reply(ctx.t("officer.reply_sent"))] + question_list(ctx, row.commune_code).replies)

