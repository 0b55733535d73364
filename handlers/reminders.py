"""Officers' answers to reminders ("Đã xong", "Nhắc lại mai") and /lichnhac, the coming deadlines."""

from __future__ import annotations

from datetime import date, timedelta

from bot.context import Context, Result
from bot.reminders.calendar import Officer, for_commune, reminders
from bot.reminders.sweeper import next_send_day
from bot.router import Router
from bot.state import ConversationState
from bot.types import Button, Reply
from bot.vntime import VIETNAM
from handlers.common import back_to_menu, menu_buttons
from storage import notifications, officers, reminders as ledger

PREFIX = "rem"
AHEAD = timedelta(days=60)


def register(router: Router) -> None:
    router.payload(PREFIX, on_payload)
    router.command("lichnhac", lambda ctx, arguments, state: upcoming(ctx))


def _own(ctx: Context, officer_id: str):
    """The officer binding named in the button, if it belongs to this chat (checked every time)."""
    if not ctx.has_storage or not officer_id.isdecimal():
        return None
    mine = officers.of_chat(session=ctx.session, channel=ctx.channel, chat_id=ctx.chat_id)
    return next((o for o in mine if o.id == int(officer_id)), None)


def _period(ctx: Context, deadline, period: str) -> date | None:
    """The period of a reminder button, if the deadline really falls on it (a reminder was sent for it)."""
    try:
        day = date.fromisoformat(period)
    except ValueError:
        return None
    start = day - timedelta(days=max(deadline.lead_days) + 15)
    return day if any(r.period == day for r in reminders(deadline, ctx.content.holidays, start, day)) else None


def on_payload(ctx: Context, payload: str, state: ConversationState) -> Result:
    """rem:done|snooze:<deadline>:<period>:<officer>."""
    parts = payload.split(":")
    if len(parts) != 5 or parts[1] not in ("done", "snooze"):
        return Result([Reply(ctx.t("input.stale_button"), menu_buttons(ctx))])
    _, action, deadline_id, period, officer_id = parts
    officer = _own(ctx, officer_id)
    deadline = next((d for d in ctx.content.calendar.deadlines if d.id == deadline_id), None)
    if officer is None or deadline is None:
        return Result([Reply(ctx.t("officer.denied"), menu_buttons(ctx))])
    day = _period(ctx, deadline, period)
    if day is None:  # not a date this deadline falls on: never stored
        return Result([Reply(ctx.t("input.stale_button"), menu_buttons(ctx))])
    when = ctx.texts.date(day)
    if action == "done":
        ledger.mark_task(session=ctx.session, deadline_id=deadline_id, period=period, officer_id=officer.id, now=ctx.now, done=True)
        officers.audit(session=ctx.session, actor=f"officer:{officer.id}", action="reminder_done", now=ctx.now,
                       commune_code=officer.commune_code, detail=f"{deadline_id} {period}")
        return Result([Reply(ctx.t("reminders.marked_done", title=deadline.title, date=when), (back_to_menu(ctx),))])
    until = next_send_day(ctx.now, ctx.content.calendar.send_hour)
    ledger.mark_task(session=ctx.session, deadline_id=deadline_id, period=period, officer_id=officer.id, now=ctx.now, snoozed_until=until)
    return Result([Reply(ctx.t("reminders.snoozed", date=ctx.texts.date(until.astimezone(VIETNAM).date()),
                               hour=ctx.content.calendar.send_hour), (back_to_menu(ctx),))])


def upcoming(ctx: Context) -> Result:
    """The deadlines of the next 60 days for this officer's communes and role; admins also see
    reminders that could not be delivered in the last week."""
    mine = officers.of_chat(session=ctx.session, channel=ctx.channel, chat_id=ctx.chat_id) if ctx.has_storage else []
    if not mine:
        return Result([Reply(ctx.t("officer.denied"), menu_buttons(ctx))])
    today = ctx.now.astimezone(VIETNAM).date()
    seen, coming = set(), []
    for binding in mine:
        commune = ctx.places.commune(binding.commune_code)
        view = Officer(binding.id, binding.commune_code, commune.province_code if commune else None, binding.role)
        for deadline in ctx.content.calendar.deadlines:
            if binding.role not in deadline.audience or not for_commune(deadline, view.commune_code, view.province_code):
                continue
            for reminder in reminders(deadline, ctx.content.holidays, today, today + AHEAD):
                key = (deadline.id, reminder.period)
                if key not in seen and reminder.period >= today:
                    seen.add(key)
                    coming.append((reminder.period, ctx.t("reminders.upcoming_line", date=ctx.texts.date(reminder.period),
                                                          title=deadline.title, days=(reminder.period - today).days)))
    lines = [ctx.t("reminders.upcoming_heading")] + [line for _, line in sorted(coming)]
    if not coming:
        lines.append(ctx.t("reminders.upcoming_none"))
    if any(b.role == "admin" for b in mine):
        failed = notifications.failed_since(session=ctx.session, since=ctx.now - timedelta(days=7))
        if failed:
            lines.append(ctx.t("reminders.failed", count=len(failed)))
    buttons = (Button(ctx.t("officer.home"), "off:home"), back_to_menu(ctx))
    return Result([Reply("\n".join(lines), buttons)])
