"""Replies several features share: the main menu and the way back to it."""

from __future__ import annotations

import re

from bot.context import Context
from bot.nlu.facts import Facts
from bot.nlu.normalize import fold
from bot.types import Button, Reply

# A clause that asks: a question word anywhere, or a yes/no particle at its end (before the way
# the person addresses the bot: "… được không anh", "… hông ad").
QUESTION_MARK = re.compile(
    r"\?|\b(sao|dau|bao nhieu|the nao|ra sao|khong biet|co phai|o dau|cho nao|khi nao|bao gio|bao lau)\b"
    r"|\b(gi|nao|may|ai)( (a|vay|the|ha|nhi|ad|anh|chi|em|ban))*\s*$"
    r"|\b(khong|ko|hong|chua|k|ha|nhi|chang|chu|the|vay)( (a|anh|chi|em|bac|ban|ad|admin|co|chu|nhe|nha|ha|ta|he|hen|con|o|ba|ong))*\s*$"
)

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


def _window(ctx: Context, facts: Facts) -> float | None:
    if facts.years_since is None or facts.programme not in ("qd08", "qd22") or facts.business:
        return None
    name = "qd08.window_years" if facts.programme == "qd08" else "qd22.window_years"
    window = ctx.content.parameters[name].number_at(ctx.today)
    return float(window) if window is not None else None


def near_window_end(ctx: Context, facts: Facts) -> bool:
    """Within a year of the 10- or 5-year window's end (the window counts up to the loan date)."""
    window = _window(ctx, facts)
    return window is not None and facts.years_since is not None and window - NEAR_END_YEARS <= facts.years_since[1] <= window


def at_window_end(ctx: Context, facts: Facts) -> bool:
    """The window ends inside what was told ("tháng 12 năm 2016" in December 2026): it may have just
    closed or close any day, so the person is told to go to the commune police now."""
    window = _window(ctx, facts)
    return window is not None and facts.years_since is not None and facts.years_since[0] <= window < facts.years_since[1]


def asks(ctx: Context, text: str) -> bool:
    """Whether the message asks something (a question word, a yes/no particle at its end, or what
    the FAQ's routing reads as a question) rather than only telling."""
    return QUESTION_MARK.search(fold(text).strip()) is not None or (ctx.triage is not None and ctx.triage.has_ask(text))
