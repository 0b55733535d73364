"""Greeting, main menu, small talk, and kind answers to anything that is not a question."""

from __future__ import annotations

from bot.context import Context, Outcome, Result
from bot.router import Router
from bot.state import ConversationState, Flow
from bot.types import Incoming, Reply
from handlers.common import back_to_menu, menu_buttons, menu_reply


def register(router: Router) -> None:
    router.on_open = lambda ctx, msg, state: on_open(ctx, state, router.pending(ctx, state))
    router.on_unsupported = on_unsupported
    router.on_stale = on_stale
    router.payload("menu", on_menu)
    for intent in ("greeting", "menu", "help", "thanks"):
        router.intent(intent, on_intent)


def _intent(name: str) -> Outcome:
    return Outcome("answer", f"intent:{name}", 1.0)


def on_open(ctx: Context, state: ConversationState, pending: Reply | None) -> Result:
    """Greets a newcomer with the menu; welcomes someone back to the question they left, or the menu."""
    if state.is_new:
        return Result([Reply(ctx.t("menu.greeting")), menu_reply(ctx)])
    if pending is None and state.buttons:
        # The choices of the last reply, numbered as they were: a "1" typed next means what it meant.
        return Result([Reply(ctx.t("open.welcome_back_choices"), tuple(state.buttons))])
    return Result([Reply(ctx.t("open.welcome_back")), pending or menu_reply(ctx)])


def on_intent(ctx: Context, intent: str, state: ConversationState) -> Result:
    """Answers small talk: greeting and 'menu' show the menu, 'help' explains, 'thanks' closes warmly."""
    state.flow, state.step = Flow.MENU, None
    if intent == "greeting":
        return Result([Reply(ctx.t("menu.greeting")), menu_reply(ctx)], _intent(intent))
    if intent == "help":
        return Result([menu_reply(ctx, "intent.help")], _intent(intent))
    if intent == "thanks":
        return Result([Reply(ctx.t("intent.thanks"), (back_to_menu(ctx),))], _intent(intent))
    return Result([menu_reply(ctx)], _intent(intent))


def on_menu(ctx: Context, payload: str, state: ConversationState) -> Result:
    """Opens the FAQ from the menu; any other menu payload shows the menu."""
    state.flow, state.step = Flow.MENU, None
    if payload == "menu:faq":
        state.flow = Flow.FAQ
        popular = tuple(
            ctx.button_for_entry(entry_id) for entry_id in ctx.content.matching.popular if entry_id in ctx.content.faq_by_id
        )
        return Result([Reply(ctx.t("faq.prompt"), popular + (back_to_menu(ctx),))])
    return Result([menu_reply(ctx)])


def on_unsupported(ctx: Context, msg: Incoming, state: ConversationState) -> Result:
    """Stickers, photos, voice and empty messages: a kind word, and the same choices as before."""
    buttons = tuple(state.buttons) or menu_buttons(ctx)
    return Result([Reply(ctx.t("input.text_only"), buttons)])


def on_stale(ctx: Context, payload: str, state: ConversationState) -> Result:
    """A button from an old message that no longer means anything: say so and show the menu."""
    return Result([menu_reply(ctx, "input.stale_button")])
