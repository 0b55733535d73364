"""Routes one update to the feature that handles it. Every button also works typed."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy.exc import DataError

from bot.context import Context, Result
from bot.nlu.facts import Facts
from bot.nlu.intents import IntentDetector
from bot.state import ConversationState, Flow
from bot.types import Button, Incoming, Kind, Reply

if TYPE_CHECKING:
    from bot.nlu.routing import Verdict

ESCAPE_INTENTS = frozenset({"menu"})
# What a handler raises when it reads button data it never made (a bad number, a missing part, an
# id out of range; DataError is the database refusing such a value).
FORGED_SIGNS = (ValueError, LookupError, OverflowError, TypeError, DataError)


# Buttons that lead out of any flow; a number typed under them presses them, whatever step is open.
OUTSIDE_FLOW_PAYLOADS = frozenset({"ask:start", "menu:show"})


class ForgedButton(Exception):
    """Button data the handler could not read: answered as a stale button, nothing saved."""

    def __init__(self, prefix: str, error: str) -> None:
        super().__init__(f"unreadable {prefix!r} button data ({error})")
        self.prefix = prefix[:16]
        self.error = error
Handler = Callable[[Context, Incoming, ConversationState], Result | None]
PayloadHandler = Callable[[Context, str, ConversationState], Result]
EventHandler = Callable[[Context, Incoming, ConversationState], Result]  # always answers


def _not_wired(*_: object) -> Result:
    raise RuntimeError("set by the menu feature, which bot/app.py registers first")


@dataclass(frozen=True)
class FlowSpec:
    """A multi-step conversation: it reads typed answers first, and is asked again after a detour."""

    handle: Handler  # returns None when the text is not an answer (it then goes to small talk / FAQ)
    # The pending question, if any; detour=True right after a question answered on the way.
    reprompt: Callable[..., Reply | None]
    # Texts the flow reads before typed button numbers ("3 năm" is three years, not button 3).
    claims: Callable[[Context, str, ConversationState], bool] = lambda ctx, text, state: False
    # Steps where the person types free text (a question for officers, an officer's reason): a
    # flow asked for in words there is part of the text, not a request.
    free_text: Callable[[Context, str, ConversationState], bool] = lambda ctx, text, state: False


def typed_number(text: str, light: Callable[[str], str], choice_words: frozenset[str]) -> int | None:
    """The number in '2', '2 ạ', 'số 2', 'chọn số 2'; None for anything else."""
    words = light(text.replace("#", " ")).split()
    if words and words[-1].isdecimal() and (len(words) == 1 or " ".join(words[:-1]) in choice_words):
        return int(words[-1])
    return None


def resolve_button(
    text: str, buttons: list[Button], light: Callable[[str], str], choice_words: frozenset[str] = frozenset()
) -> Button | None:
    """'2', '2 ạ', 'số 2', 'chọn số 2', the label, or the label without accents or abbreviated."""
    if not buttons or not text.strip():
        return None
    number = typed_number(text, light, choice_words)
    if number is not None:
        return buttons[number - 1] if 1 <= number <= len(buttons) else None
    return labelled(text, buttons, light)


def labelled(text: str, buttons: list[Button], light: Callable[[str], str]) -> Button | None:
    """The button whose label was typed (with or without accents, abbreviated)."""
    wanted = light(text)
    return next((button for button in buttons if light(button.label) == wanted), None)


def confirmation(text: str, buttons: list[Button], light: Callable[[str], str]) -> Button | None:
    """Under a yes-or-keep question (two buttons, one "…:yes"): the button whose label was typed,
    or the yes button for a plain yes ("có", "dạ xóa đi"), the other for a plain no."""
    if len(buttons) != 2 or sum(b.payload.endswith(":yes") for b in buttons) != 1:
        return None
    button = labelled(text, buttons, light)
    if button is not None:
        return button
    from bot.registration.fields import read_yes_no  # the registration's own yes/no reader

    yes, other = sorted(buttons, key=lambda b: not b.payload.endswith(":yes"))
    words = set(light(text).split())
    answer = read_yes_no(text)
    if answer is None and words and words <= YES_ACTION_WORDS | {"da", "vang", "u", "ok", "co"}:
        answer = True  # "dạ xóa đi", "ừ rút lại"
    return None if answer is None else yes if answer else other


# Words that repeat what the yes button does ("dạ xóa đi", "ừ xóa hết", "rút lại luôn").
YES_ACTION_WORDS = frozenset({"xoa", "di", "het", "luon", "lun", "rut", "lai", "dong", "y", "nhe", "a", "roi", "toi", "tui", "em",
                              "minh", "du", "lieu", "thong", "tin", "ho", "so"})


class Router:
    """Feature modules register here (see bot/app.py); handlers return replies and change the state."""

    def __init__(self, intents: IntentDetector) -> None:
        self.intents = intents
        self.payloads: dict[str, PayloadHandler] = {}
        self.flows: dict[Flow, FlowSpec] = {}
        self.intent_handlers: dict[str, PayloadHandler] = {}
        self.text_handlers: list[Handler] = []
        self.commands: dict[str, PayloadHandler] = {}  # "/hoso", "/canbo CODE": handler(ctx, arguments, state)
        self.on_open: EventHandler = _not_wired
        self.on_deep_link: PayloadHandler | None = None  # "/start <payload>" (officer invites)
        self.on_unsupported: EventHandler = _not_wired
        self.on_stale: PayloadHandler = _not_wired
        self.on_crisis: Callable[[Context, Verdict, ConversationState], Result] | None = None

    def payload(self, prefix: str, handler: PayloadHandler) -> None:
        self.payloads[prefix] = handler

    def flow(self, flow: Flow, spec: FlowSpec) -> None:
        self.flows[flow] = spec

    def intent(self, name: str, handler: PayloadHandler) -> None:
        self.intent_handlers[name] = handler

    def text(self, handler: Handler) -> None:
        self.text_handlers.append(handler)

    def command(self, name: str, handler: PayloadHandler) -> None:
        self.commands[name] = handler

    def command_for(self, text: str) -> tuple[PayloadHandler, str] | None:
        """'/hoso', '/canbo ABC123', '/canbo@MyBot ABC123' → (handler, arguments)."""
        stripped = text.strip()
        if not stripped.startswith("/"):
            return None
        head, _, arguments = stripped[1:].partition(" ")
        handler = self.commands.get(head.split("@", 1)[0].lower())
        return (handler, arguments.strip()) if handler else None

    def handle(self, ctx: Context, msg: Incoming, state: ConversationState) -> Result:
        if msg.kind is Kind.OPEN:
            if msg.payload and self.on_deep_link is not None:
                return self.on_deep_link(ctx, msg.payload, state)
            return self.on_open(ctx, msg, state)
        if msg.kind is Kind.BUTTON and msg.payload:
            return self.press(ctx, msg.payload, state)
        if msg.kind is not Kind.TEXT or not msg.text.strip():
            return self.on_unsupported(ctx, msg, state)
        command = self.command_for(msg.text)
        if command is not None:
            return command[0](ctx, command[1], state)
        remember_facts(ctx, msg.text, state)
        active, active_step, flow = state.flow, state.step, self.flows.get(state.flow)
        if ctx.triage is not None:
            answers: list[bool] = []  # whether the active flow takes the text, asked once if at all

            def answering() -> bool:
                if not answers:
                    answers.append(flow is not None and flow.free_text(ctx, msg.text, state))
                return answers[0]

            requests: list[str | None] = []  # the flow asked for in words, looked for once if at all

            def requesting() -> str | None:
                if not requests:
                    requests.append(ctx.triage.flow_request(msg.text) or ctx.triage.clause_request(msg.text))
                return requests[0]

            danger = ctx.triage.in_danger(msg.text, answering=answering, requesting=requesting)
            if danger is not None and self.on_crisis is not None:
                return self.on_crisis(ctx, danger, state)  # first, in every state; the flow's answers are kept
            confirmed = confirmation(msg.text, state.buttons, ctx.normalizer.light)
            if confirmed is not None and not answering():
                # "Có, xóa dữ liệu" typed, or "có", "dạ xóa đi" under a yes-or-keep question: that button.
                return self.press(ctx, confirmed.payload, state)
            requested = requesting()
            if requested == "registration" and fails_rules(ctx):
                # A request beside a story the rules already refuse ("anh tôi ra tù từ 2015, muốn
                # đăng ký vay cho anh ấy") is answered first, with the reason and the other ways;
                # "đăng ký vay" alone then starts it.
                requested = None
            # Without storage (`ask`), only the check can run: a request for another flow is a question.
            runnable = ctx.has_storage or requested == "eligibility"
            if requested and runnable and not answering():
                # "đăng ký vay", "kiem tra dk", "xóa dữ liệu của tôi": as if its button were pressed.
                ctx.request_text = msg.text
                return self.press(ctx, ctx.triage.flow_payloads[requested], state)
        intent = self.intents.detect(msg.text)
        navigation = ctx.content.questions.navigation if ctx.content.questions else {}
        is_navigation = any(ctx.normalizer.light(msg.text) in words for words in navigation.values())
        if intent in ESCAPE_INTENTS and intent in self.intent_handlers and not is_navigation:
            return self.intent_handlers[intent](ctx, intent, state)  # "menu" leaves any flow (answers are kept)
        if flow is not None and state.buttons and typed_number(msg.text, ctx.normalizer.light, ctx.normalizer.choice_words) is not None:
            # "1" under a reply that left the step's question unasked (someone in danger mid-form:
            # "Gặp cán bộ", "Về menu"): that button, not the step's answer ("Số điện thoại chưa đúng").
            shown = resolve_button(msg.text, state.buttons, ctx.normalizer.light, ctx.normalizer.choice_words)
            if shown is not None and shown.payload in OUTSIDE_FLOW_PAYLOADS:
                return self.press(ctx, shown.payload, state)
        if flow is not None and flow.claims(ctx, msg.text, state):
            result = flow.handle(ctx, msg, state)
            if result is not None:
                return result
        button = resolve_button(msg.text, state.buttons, ctx.normalizer.light, ctx.normalizer.choice_words)
        if button is not None:
            return self.press(ctx, button.payload, state)
        if state.buttons and typed_number(msg.text, ctx.normalizer.light, ctx.normalizer.choice_words) is not None:
            # "4" with three choices shown: say which numbers work, and show the same choices.
            return Result([Reply(ctx.t("input.number_out_of_range", count=len(state.buttons)), tuple(state.buttons))])
        if flow is not None:
            result = flow.handle(ctx, msg, state)
            if result is not None:
                return result
        if intent in self.intent_handlers:
            return self.intent_handlers[intent](ctx, intent, state)
        result = next(r for r in (h(ctx, msg, state) for h in self.text_handlers) if r is not None)
        if flow is not None:
            # A question in the middle of a flow: answer it, then ask the pending question again.
            answered_in = state.flow, state.step
            state.flow, state.step = active, active_step
            pending = flow.reprompt(ctx, state, detour=True)
            if pending is not None and (not result.understood or result.outcome.status == "suggest"):
                # Not understood mid-flow ("hông phải, gõ lại" where consent is asked): not the menu,
                # the step's question again. So too a choice of questions ("Có phải bạn muốn hỏi:"):
                # mid-flow only the step's buttons are shown, and the choice would have none.
                result = Result([Reply(ctx.t("flow.not_understood"))], result.outcome)
            if pending is not None:
                # Only the step's choices: typed numbers pick from the last message, and two lists
                # numbered from 1 (Zalo and the console show buttons as numbered lines) would confuse.
                result.replies = [Reply(r.text, (), r.document) for r in result.replies] + [pending]
            else:
                state.flow, state.step = answered_in
        return result

    def pending(self, ctx: Context, state: ConversationState) -> Reply | None:
        """The question a multi-step flow is waiting for, if one is in progress."""
        flow = self.flows.get(state.flow)
        return flow.reprompt(ctx, state) if flow is not None else None

    def press(self, ctx: Context, payload: str, state: ConversationState) -> Result:
        """A button press (or a typed choice); a payload nobody knows any more is a stale button."""
        prefix = payload.split(":", 1)[0]
        handler = self.payloads.get(prefix)
        if handler is None or ctx.forged:
            return self.on_stale(ctx, payload, state)
        try:
            return handler(ctx, payload, state)
        except FORGED_SIGNS as exc:
            # Button data no button of ours carries ("off:list:17035:1-2", an id too large for the
            # database): the dispatcher rolls the update back and answers it as a stale button.
            raise ForgedButton(prefix, type(exc).__name__) from None


def fails_rules(ctx: Context) -> bool:
    """Whether what this message tells fails an eligibility rule (a window long past, too young)."""
    judged = ctx.judge_told(ctx.message_facts) if ctx.message_facts is not None else None
    return judged is not None and judged[0].outcome == "not_eligible"


def remember_facts(ctx: Context, text: str, state: ConversationState) -> None:
    """Reads what the message says about the person's situation into the conversation's facts
    (newest wins); facts older than the idle limit are forgotten first."""
    facts = state.facts
    now = ctx.now
    if facts.expired(now, ctx.context_idle):
        facts = Facts()
    views = ctx.triage.views(text[:2000])[2:] if ctx.triage is not None else ()
    new = ctx.facts_reader.read(text[:2000], ctx.today, views)
    if new.who == "relative" and ctx.content.registration is not None:
        from bot.registration.fields import read_relationship  # the registration's own kin reader

        new.relation = read_relationship(text[:2000], ctx.content.registration.relationships, asked="who")
    if new.business and ctx.content.registration is not None:
        from bot.registration.fields import pick_choice  # the registration's own choice reader

        new.business_kind = pick_choice(text[:2000], ctx.content.registration.business_kinds)
    ctx.message_facts = new  # what this message itself says (the FAQ tells a story from a question)
    ctx.earlier_facts = facts
    if not new.empty:
        facts = facts.merged(new)
        facts.updated = now
    state.facts = facts
