"""Replies several features share: the main menu and the way back to it."""

from __future__ import annotations

from bot.context import Context
from bot.nlu.facts import Facts
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


NEAR_END_YEARS = 1.0  # within a year of the window's end, the answer suggests registering soon


def near_window_end(ctx: Context, facts: Facts) -> bool:
    """Within a year of the 10- or 5-year window's end (the window counts up to the loan date)."""
    if facts.years_since is None or facts.programme not in ("qd08", "qd22") or facts.business:
        return False
    name = "qd08.window_years" if facts.programme == "qd08" else "qd22.window_years"
    window = ctx.content.parameters[name].number_at(ctx.today)
    return window is not None and float(window) - NEAR_END_YEARS <= facts.years_since[1] <= float(window)
