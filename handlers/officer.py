"""The officers' side: binding by invite code, pending registrations of their own communes,
decisions with notes, the monthly list, and people's questions. Every action re-checks the role;
anyone else gets a neutral "không có quyền"."""

from __future__ import annotations

from datetime import timedelta

from bot import limits
from bot.context import Context, Result
from bot.registration import service
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


def register(router: Router) -> None:
    router.payload(PREFIX, on_payload)
    router.command("canbo", on_command)
    router.on_deep_link = lambda ctx, payload, state: redeem(ctx, payload, state)
    router.flow(Flow.OFFICER, FlowSpec(handle=on_text, reprompt=lambda ctx, state: None, claims=claims, free_text=claims))
    _officer_first(router)


def _officer_first(router: Router) -> None:
    """For a bound officer, opening the chat (Telegram's /start), typing "/start" or "menu" shows the
    officer menu (which has a button to the citizens' menu); anyone else gets the usual greeting or
    menu. Registered after the menu feature, so it wraps the handlers that feature set."""
    citizen_open = router.on_open
    citizen_menu = router.intent_handlers.get("menu")

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
    """This chat's officer binding for the commune, checked afresh on every action."""
    return next((o for o in bindings(ctx) if o.commune_code == commune_code), None)


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
    officer = officers.redeem_invite(session=ctx.session, code=code, channel=ctx.channel, chat_id=ctx.chat_id, now=ctx.now)
    if officer is None:
        lockout = limits.invite_failed(ctx)
        if lockout is not None:
            return Result([Reply(ctx.t("limits.invite_locked", minutes=limits.minutes(lockout)), menu_buttons(ctx))])
        return Result([Reply(ctx.t("officer.invite_invalid"), menu_buttons(ctx))])
    limits.invite_succeeded(ctx)
    audit(ctx, officer, "bind", commune_code=officer.commune_code, detail=officer.role)
    welcome = Reply(ctx.t("officer.bound", commune=ctx.places.label(officer.commune_code)))
    return Result([welcome, *home(ctx, state).replies])


# -- menus ----------------------------------------------------------------------------------------------


def home(ctx: Context, state: ConversationState) -> Result:
    """Each commune's figures and what the officer can do."""
    mine = bindings(ctx)
    if not mine:
        return denied(ctx)
    state.flow, state.step = Flow.MENU, None
    month = vietnam_date(ctx.now)
    lines, buttons = [], []
    for officer in mine:
        code = officer.commune_code
        figures = service.commune_figures(session=ctx.session, commune_code=code, now=ctx.now)
        lines.append(ctx.t("officer.figures", commune=ctx.places.label(code), **figures))
        suffix = f" · {ctx.places.commune(code).name}" if len(mine) > 1 and ctx.places.commune(code) else ""
        buttons += [
            Button(ctx.t("officer.pending_list") + suffix, f"{PREFIX}:list:{code}:0"),
            Button(ctx.t("officer.questions") + suffix, f"{PREFIX}:qs:{code}"),
            Button(ctx.t("officer.export") + suffix, f"{PREFIX}:export:{code}:{month.year}-{month.month:02d}"),
        ]
    citizen = ctx.button("officer.citizen_menu", "menu:show")
    return Result([Reply("\n".join([ctx.t("officer.home_heading"), *lines]), tuple(buttons) + (citizen,))])


def on_payload(ctx: Context, payload: str, state: ConversationState) -> Result:
    """off:home | list:<commune>:<page> | open:<id> | ok|no|info|note|other:<id> | nor:<id>:<i> |
    export:<commune>:<YYYY-MM> | qs:<commune> | q:<qid> | reply:<qid>."""
    parts = payload.split(":")[1:]
    action, args = (parts[0] if parts else "home"), parts[1:]
    if action == "home" or not args or not args[0].isdecimal() or not all(a.replace("-", "").isdecimal() for a in args[1:]):
        return home(ctx, state)
    state.flow, state.step = Flow.MENU, None
    if action == "list":
        return pending_list(ctx, int(args[0]), int(args[1]) if len(args) > 1 else 0)
    if action == "export":
        return export(ctx, int(args[0]), args[1] if len(args) > 1 else "")
    if action == "qs":
        return question_list(ctx, int(args[0]))
    if action in ("q", "reply"):
        return question(ctx, state, int(args[0]), answer=action == "reply")
    registration = registrations.get(session=ctx.session, registration_id=int(args[0]))
    officer = officer_for(ctx, registration.commune_code) if registration else None
    if officer is None:
        return denied(ctx)
    if registration.status not in registrations.ACTIVE:
        return Result([Reply(ctx.t("officer.no_longer_available")), *pending_list(ctx, registration.commune_code, 0).replies])
    if action == "open":
        return open_registration(ctx, officer, registration)
    # Decision buttons carry the version of the registration the officer was shown (older ones do not).
    version = _version(args[2] if action == "nor" else args[1]) if len(args) > (2 if action == "nor" else 1) else None
    if version is False:
        return Result([Reply(ctx.t("input.stale_button"))] + pending_list(ctx, registration.commune_code, 0).replies)
    if action == "ok":
        if registration.status == registrations.VERIFIED:
            return Result([Reply(ctx.t("officer.already", status=ctx.t("status.verified")))] + pending_list(ctx, registration.commune_code, 0).replies)
        if not service.decide(ctx, officer, registration, registrations.VERIFIED, version=version):
            return decided_meanwhile(ctx, registration)
        return Result([Reply(ctx.t("officer.verified", reference=service.show_reference(registration.reference)))]
                      + pending_list(ctx, registration.commune_code, 0).replies)
    if action == "no":
        # "Chọn lý do, hoặc gõ lý do khác": a reason typed here is taken, like after "Lý do khác".
        await_text(ctx, state, OfficerStep.REASON, registration.id, version)
        reasons = ctx.content.registration.rejection_reasons
        tail = f":{version}" if version is not None else ""
        buttons = tuple(Button(r, f"{PREFIX}:nor:{registration.id}:{i}{tail}") for i, r in enumerate(reasons))
        buttons += (ctx.button("officer.other_reason", f"{PREFIX}:other:{registration.id}{tail}"),
                    ctx.button("officer.back", f"{PREFIX}:open:{registration.id}"))
        return Result([Reply(ctx.t("officer.ask_reason"), buttons)])
    if action == "nor" and len(args) in (2, 3) and args[1].isdecimal() and int(args[1]) < len(ctx.content.registration.rejection_reasons):
        return reject(ctx, officer, registration, ctx.content.registration.rejection_reasons[int(args[1])], version)
    if action in ("other", "info", "note"):
        await_text(ctx, state, OfficerStep.REASON if action == "other" else OfficerStep(action), registration.id, version)
        return Result([Reply(ctx.t(f"officer.ask_{action}"), (ctx.button("officer.back", f"{PREFIX}:open:{registration.id}"),))])
    return home(ctx, state)


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
        return Result([Reply(ctx.t("officer.none_pending", commune=ctx.places.label(commune_code)), (ctx.button("officer.home", f"{PREFIX}:home"),))])
    buttons = []
    for row in rows[:PAGE]:
        details = service.load_details(ctx.cipher, row)
        label = ctx.t("officer.list_item", reference=service.show_reference(row.reference), name=borrower_name(details, ctx.texts) or "—",
                      status=ctx.t(f"status.{row.status}"))
        buttons.append(Button(label, f"{PREFIX}:open:{row.id}"))
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
    lines = [ctx.t("officer.detail_heading", reference=service.show_reference(registration.reference), status=ctx.t(f"status.{registration.status}"))]
    lines += summary_lines(details, ctx.texts, ctx.places, ctx.content.registration, ctx.today)
    if details.amount_requested:
        lines.append(ctx.t("officer.amount_requested", amount=ctx.texts.money(details.amount_requested)))
    twin = registrations.find_repeat(session=ctx.session, phone_indexes=[registration.phone_index or ""],
                                     commune_code=registration.commune_code, exclude_id=registration.id)
    if twin is not None:
        lines.append(ctx.t("officer.possible_duplicate", reference=service.show_reference(twin.reference)))
    for event in registrations.events(session=ctx.session, registration_id=registration.id):
        note = ctx.cipher.decrypt(event.note) if event.note else None
        when = ctx.texts.date(vietnam_date(event.at))
        line = ctx.t("records.event", date=when, action=ctx.t(f"records.action_{event.action}"))
        lines.append(line + (ctx.t("records.event_note", note=note) if note else ""))
    rid, version = registration.id, registration.version
    buttons = (
        ctx.button("officer.decide_ok", f"{PREFIX}:ok:{rid}:{version}"),
        ctx.button("officer.decide_no", f"{PREFIX}:no:{rid}:{version}"),
        ctx.button("officer.decide_info", f"{PREFIX}:info:{rid}:{version}"),
        ctx.button("officer.add_note", f"{PREFIX}:note:{rid}"),
        ctx.button("officer.back_to_list", f"{PREFIX}:list:{registration.commune_code}:0"),
    )
    return Result([Reply("\n".join(lines), buttons)])


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
        text = ctx.cipher.decrypt(row.question) or ""
        buttons.append(Button(ctx.t("officer.question_item", number=row.id, text=text[:40]), f"{PREFIX}:q:{row.id}"))
    return Result([Reply(ctx.t("officer.questions_heading", count=len(rows)), tuple(buttons) + (ctx.button("officer.home", f"{PREFIX}:home"),))])


def question(ctx: Context, state: ConversationState, question_id: int, *, answer: bool) -> Result:
    """Shows a question (with the phone only if the person agreed); 'reply' waits for the typed answer."""
    row = registrations.get_question(session=ctx.session, question_id=question_id)
    officer = officer_for(ctx, row.commune_code) if row else None
    if officer is None:
        return denied(ctx)
    if row.status != "open":
        return Result([Reply(ctx.t("officer.question_closed"))] + question_list(ctx, row.commune_code).replies)
    audit(ctx, officer, "view_question", commune_code=row.commune_code, detail=f"question={row.id}")
    if answer:
        await_text(ctx, state, OfficerStep.REPLY, row.id)
        return Result([Reply(ctx.t("officer.ask_reply"), (ctx.button("officer.back", f"{PREFIX}:qs:{row.commune_code}"),))])
    phone = ctx.cipher.decrypt(row.phone) if row.phone else None
    text = ctx.t("officer.question_detail", number=row.id, text=ctx.cipher.decrypt(row.question) or "",
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
    if resolve_button(text, state.buttons, ctx.normalizer.light, ctx.normalizer.choice_words) is not None:
        return False
    return True


def on_text(ctx: Context, msg: Incoming, state: ConversationState) -> Result | None:
    kind, _, target = (state.step or "").partition(":")
    if not _awaiting(ctx, state) or not target.isdecimal():
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
    registration = registrations.get(session=ctx.session, registration_id=int(target))
    officer = officer_for(ctx, registration.commune_code) if registration else None
    if officer is None:
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
    if officer is None:
        return denied(ctx)
    if not registrations.answer_question(session=ctx.session, question=row, officer_id=officer.id, answer=ctx.cipher.encrypt(text),
                                         now=ctx.now):
        return Result([Reply(ctx.t("officer.question_closed"))])  # another officer answered first
    audit(ctx, officer, "answer_question", commune_code=row.commune_code, detail=f"question={row.id}")
    ctx.notify(row.channel, row.chat_id, [Reply(ctx.t("handoff.answer_received", answer=text), menu_buttons(ctx))])
    return Result([Reply(ctx.t("officer.reply_sent"))] + question_list(ctx, row.commune_code).replies)

