"""Replies several features share: the main menu and the way back to it."""

from __future__ import annotations

from bot.context import Context
from bot.types import Button, Reply

MENU_ITEMS = (
    ("menu.item_faq", "menu:faq"),
    ("menu.item_eligibility", "elig:start"),
    ("menu.item_register", "reg:start"),
    ("menu.item_officer", "ask:start"),
    ("menu.item_my_records", "me:show"),
)


def menu_buttons(ctx: Context) -> tuple[Button, ...]:
    return tuple(ctx.button(key, payload) for key, payload in MENU_ITEMS)


def menu_reply(ctx: Context, text_key: str = "menu.prompt") -> Reply:
    """The main menu, under the given text."""
    return Reply(ctx.t(text_key), menu_buttons(ctx))


def back_to_menu(ctx: Context) -> Button:
    return ctx.button("menu.back", "menu:show")


def continue_with(ctx: Context, question: Reply, key: str = "registration.continue_prompt") -> Reply:
    """A flow's pending question again after a detour, under 'Để tiếp tục:'."""
    return Reply(f"{ctx.t(key)}\n{question.text}", question.buttons)
