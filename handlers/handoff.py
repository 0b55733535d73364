"""'Gặp cán bộ': the person's question goes to the officers of their commune (with their phone
only if they agree); an officer's reply comes back through the bot."""

from __future__ import annotations

from bot import limits
from bot.context import Context, Result
from bot.nlu.matcher import Status
from bot.registration.fields import Invalid, read_free_text, read_phone, read_yes_no
from bot.router import FlowSpec, Router, resolve_button, typed_number
from bot.state import ConversationState, Flow, HandoffDraft, HandoffStep
from bot.types import Button, Incoming, Reply
from handlers import places
from handlers.common import continue_with, menu_buttons, menu_reply
from handlers.places import ask_commune, ask_province
from storage import officers, registrations

PREFIX = "ask"


def register(router: Router) -> None:
    router.payload(PREFIX, on_payload)
    router.flow(Flow.HANDOFF, FlowSpec(handle=on_text, reprompt=reprompt, claims=claims, free_text=claims))


def start(ctx: Context, state: ConversationState) -> Result:
    """The commune comes from the person's registration, or is asked; then the question."""
    if not ctx.has_storage:
        return Result([menu_reply(ctx, "registration.unavailable")])
    if not limits.questions_left(ctx):
        return _no_more_today(ctx, state)
    known = registrations.of_chat(session=ctx.session, channel=ctx.channel, chat_id=ctx.chat_id)
    draft = HandoffDraft()
    if known:
        draft = HandoffDraft(province=known[-1].province_code, commune=known[-1].commune_code)
    state.handoff = draft
    return advance(ctx, state, [Reply(ctx.t("handoff.intro"))])


def next_step(draft: HandoffDraft) -> HandoffStep:
    for step in (HandoffStep.PROVINCE, HandoffStep.COMMUNE, HandoffStep.QUESTION, HandoffStep.SHARE):
        if getattr(draft, step) is None:
            return step
    return HandoffStep.PHONE


def advance(ctx: Context, state: ConversationState, before: list[Reply] | None = None) -> Result:
    draft = state.handoff
    assert draft is not None  # every caller is in the flow, which starts with its draft
    step = next_step(draft)
    if step != state.step:
        draft.offered = None
    state.flow, state.step = Flow.HANDOFF, step
    return Result((before or []) + [ask(ctx, state)])


def ask(ctx: Context, state: ConversationState) -> Reply:
    draft, stop = state.handoff, ctx.button("places.stop", f"{PREFIX}:stop")
    assert draft is not None  # asked only in the flow, which starts with its draft
    # Each step comes after the answers before it (next_step): the commune's after the province.
    if state.step in (HandoffStep.PROVINCE, HandoffStep.COMMUNE) and draft.offered:
        # The choices offered before (a detour, or back days later): the same buttons again.
        buttons = tuple(Button(label, payload) for label, payload in draft.offered)
        if state.step == HandoffStep.PROVINCE:
            return Reply(ctx.t("places.province_pick"), buttons)
        assert draft.province is not None
        return Reply(ctx.t("places.commune_pick", province=ctx.places.province_label(draft.province)), buttons)
    if state.step == HandoffStep.PROVINCE:
        return ask_province(ctx, PREFIX)
    if state.step == HandoffStep.COMMUNE:
        assert draft.province is not None
        return ask_commune(ctx, draft.province, PREFIX)
    if state.step == HandoffStep.QUESTION:
        assert draft.commune is not None
        other = ctx.button("handoff.other_commune", f"{PREFIX}:reprovince")
        return Reply(ctx.t("handoff.ask_question", commune=ctx.places.label(draft.commune)), (other, stop))
    if state.step == HandoffStep.SHARE:
        return Reply(ctx.t("handoff.ask_share"), (
            ctx.button("handoff.share_yes", f"{PREFIX}:share:yes"),
            ctx.button("handoff.share_no", f"{PREFIX}:share:no"),
        ))
    return Reply(ctx.t("handoff.ask_phone"), (stop,))


def reprompt(ctx: Context, state: ConversationState, *, detour: bool = False) -> Reply | None:
    if state.handoff is None or state.step is None:
        return None
    return continue_with(ctx, ask(ctx, state))


def on_payload(ctx: Context, payload: str, state: ConversationState) -> Result:
    """ask:start | stop | prov:<code> | comm:<code> | retype | reprovince | share:yes|no."""
    parts = payload.split(":")
    action, value = parts[1] if len(parts) > 1 else "", parts[2] if len(parts) > 2 else ""
    if action == "start":
        return start(ctx, state)
    draft = state.handoff
    if draft is None or state.flow is not Flow.HANDOFF:
        return Result([menu_reply(ctx, "input.stale_button")])
    if action == "stop":
        state.handoff = None
        state.flow, state.step = Flow.MENU, None
        return Result([Reply(ctx.t("handoff.stopped"), menu_buttons(ctx))])
    offered = {p for _, p in draft.offered or []} | {b.payload for b in state.buttons}
    if action in ("prov", "comm") and payload in offered and value.isdecimal():
        if action == "prov":
            draft.province, draft.commune = int(value), None
        else:
            draft.commune = int(value)
        return advance(ctx, state)
    if action == "reprovince" and state.step in (HandoffStep.COMMUNE, HandoffStep.QUESTION):
        draft.province = draft.commune = None
        return advance(ctx, state)
    if action == "retype" and state.step in (HandoffStep.PROVINCE, HandoffStep.COMMUNE):
        draft.offered = None
        return advance(ctx, state)
    if action == "share" and state.step == HandoffStep.SHARE and value in ("yes", "no"):
        draft.share = value == "yes"
        if not draft.share:
            return send(ctx, state, None)
        return advance(ctx, state)
    return Result([Reply(ctx.t("input.stale_button")), ask(ctx, state)])


def claims(ctx: Context, text: str, state: ConversationState) -> bool:
    """The question and the phone number are typed: the text is the answer, not a button number."""
    if state.flow is not Flow.HANDOFF or state.step not in (HandoffStep.QUESTION, HandoffStep.PHONE):
        return False
    light = ctx.normalizer.light
    label = typed_number(text, light, ctx.normalizer.choice_words) is None and resolve_button(text, state.buttons, light)
    return not label


def on_text(ctx: Context, msg: Incoming, state: ConversationState) -> Result | None:
    draft = state.handoff
    if draft is None or state.flow is not Flow.HANDOFF:
        return None
    if state.step in (HandoffStep.PROVINCE, HandoffStep.COMMUNE):
        if is_aside(ctx, msg.text):
            return None  # a question on the way: answered, then the place asked again
        return typed_place(ctx, state, msg.text)
    if state.step == HandoffStep.SHARE:
        words = ctx.normalizer.light(msg.text)
        questions = ctx.content.questions
        answer = read_yes_no(msg.text)
        if answer is None and (words in questions.yes_words or words in questions.no_words):
            answer = words in questions.yes_words
        if answer is not None:
            return on_payload(ctx, f"{PREFIX}:share:{'yes' if answer else 'no'}", state)
        return None
    try:
        if state.step == HandoffStep.QUESTION:
            draft.question = read_free_text(msg.text, limit=1000)
            return advance(ctx, state)
        if state.step == HandoffStep.PHONE:
            return send(ctx, state, read_phone(msg.text))
    except Invalid as exc:
        return Result([Reply(ctx.t(exc.key, **exc.values)), ask(ctx, state)])
    return None


def is_aside(ctx: Context, text: str) -> bool:
    """A question (ending with '?', or one the FAQ knows well) typed where a place is asked."""
    if text.strip().endswith("?"):
        return True
    match = ctx.matcher.match(text)
    return match.status is Status.ANSWER and match.score >= ctx.content.matching.sure_threshold


def typed_place(ctx: Context, state: ConversationState, text: str) -> Result:
    """A province or commune typed exactly is chosen (and said); otherwise close names as buttons,
    kept so that they are shown again after a detour."""
    draft = state.handoff
    assert draft is not None  # on_text checked
    exact, found = places.typed_place(ctx, draft.province if state.step == HandoffStep.COMMUNE else None, text, PREFIX)
    if exact is not None:
        if state.step == HandoffStep.PROVINCE:
            draft.province, draft.commune = exact.code, None
        else:
            draft.commune = exact.code
        return advance(ctx, state, [Reply(ctx.t("handoff.place_chosen", place=found))])
    offered = places.offered_places(found, PREFIX, state.step)
    if offered:
        draft.offered = offered
    return Result([found])


def _no_more_today(ctx: Context, state: ConversationState) -> Result:
    """The day's questions to officers are used up (LIMIT_QUESTIONS_PER_DAY): nothing is relayed."""
    state.handoff = None
    state.flow, state.step = Flow.MENU, None
    return Result([Reply(ctx.t("limits.questions_today", count=ctx.limits.questions_per_day), menu_buttons(ctx))])


def send(ctx: Context, state: ConversationState, phone: str | None) -> Result:
    """Stores the question (encrypted) and tells each officer of the commune."""
    draft, state.handoff = state.handoff, None
    # Sent at the last step: the draft has the commune and the question (next_step).
    assert draft is not None and draft.commune is not None and draft.question is not None
    state.flow, state.step = Flow.MENU, None
    if not limits.questions_left(ctx):  # checked again: the question may have been started yesterday
        return _no_more_today(ctx, state)
    limits.count_today(ctx, limits.QUESTIONS)
    sealed_phone = ctx.cipher.encrypt(phone) if phone else None
    row = registrations.add_question(session=ctx.session, channel=ctx.channel, chat_id=ctx.chat_id, commune_code=draft.commune,
                                     question=ctx.cipher.encrypt(draft.question), phone=sealed_phone, now=ctx.now)
    team = officers.of_commune(session=ctx.session, commune_code=draft.commune, roles=officers.POLICE)
    for officer in team:
        text = ctx.t("handoff.officer_notice", number=row.id, commune=ctx.places.label(row.commune_code))
        ctx.notify(officer.channel, officer.chat_id, [Reply(text, (Button(ctx.t("officer.open_question"), f"off:q:{row.id}"),))])
    key = "handoff.sent" if team else "handoff.sent_no_officer"
    return Result([Reply(ctx.t(key, commune=ctx.places.label(row.commune_code)), menu_buttons(ctx))])

