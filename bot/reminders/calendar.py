"""What is due when: a pure function of the calendar (content/reminders), the officers and the time.

No clock and no database here, so the rules are tested for any date without sleeping.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from bot.vntime import VIETNAM
from content.models import Calendar, Deadline


@dataclass(frozen=True)
class Reminder:
    """One reminder for one deadline occurrence (a 'period') at one lead time."""

    deadline: Deadline
    period: date  # the deadline's date in this occurrence (its identity in the ledger)
    lead: int  # days before the deadline, as in the calendar (0 = on the day)
    send_on: date  # the working day it is sent

    @property
    def key(self) -> tuple[str, str, str]:
        return self.deadline.id, self.period.isoformat(), f"d{self.lead}"


@dataclass(frozen=True)
class Officer:
    """What the calendar needs to know about an officer (a row of storage.models.Officer)."""

    id: int
    commune_code: int
    province_code: int | None
    role: str
    since: datetime | None = None  # bound at; nothing before counts as missed for them


def is_working_day(day: date, holidays: frozenset[date]) -> bool:
    return day.weekday() < 5 and day not in holidays


def working_day_on_or_before(day: date, holidays: frozenset[date]) -> date:
    while not is_working_day(day, holidays):
        day -= timedelta(days=1)
    return day


def occurrences(deadline: Deadline, start: date, end: date) -> Iterator[date]:
    """The deadline's dates within [start, end]."""
    due = deadline.due
    if due.once is not None:
        if start <= due.once <= end:
            yield due.once
        return
    if due.monthly is not None:
        year, month = start.year, start.month
        while (year, month) <= (end.year, end.month):
            day = date(year, month, due.monthly)
            if start <= day <= end:
                yield day
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        return
    assert due.yearly is not None  # Due has exactly one of monthly, yearly, once
    month, day_of_month = (int(part) for part in due.yearly.split("-"))
    for year in range(start.year, end.year + 1):
        day = date(year, month, day_of_month)
        if start <= day <= end:
            yield day


def reminders(deadline: Deadline, holidays: frozenset[date], start: date, end: date) -> list[Reminder]:
    """The deadline's reminders sent within [start, end], on working days, one per lead time.

    A lead day that is not a working day moves to the working day before; the on-the-day
    reminder of a deadline on a Saturday goes on Friday. A "before" deadline ("trước ngày X")
    has its last day on X − 1, so no reminder goes later than the working day before X. Two leads
    landing on one day are one reminder (the nearer one)."""
    horizon = max(deadline.lead_days) + 10
    found: list[Reminder] = []
    for period in occurrences(deadline, start, end + timedelta(days=horizon)):
        sent: set[date] = set()
        last = last_day(deadline, period)
        for lead in sorted(deadline.lead_days):  # nearest first, so it wins a shared day
            send_on = working_day_on_or_before(min(period - timedelta(days=lead), last), holidays)
            if send_on in sent:
                continue
            sent.add(send_on)
            if start <= send_on <= end:
                found.append(Reminder(deadline, period, lead, send_on))
    return sorted(found, key=lambda r: (r.send_on, r.period, r.deadline.id))


def last_day(deadline: Deadline, period: date) -> date:
    """The last day to act: the deadline's date, or the day before it for "trước ngày X"."""
    return period - timedelta(days=1) if deadline.when == "before" else period


def report_period(deadline: Deadline, period: date) -> tuple[date, date] | None:
    """The period a reporting deadline's report covers: the `report_months` months before it."""
    if deadline.report_months is None:
        return None
    months = period.year * 12 + period.month - 1 - deadline.report_months
    start = date(months // 12, months % 12 + 1, min(period.day, 28))
    return start, period - timedelta(days=1)


def applies(deadline: Deadline, officer: Officer) -> bool:
    """The deadline's scope covers the officer's commune and its audience includes their role."""
    if officer.role not in deadline.audience:
        return False
    if deadline.scope == "national":
        return True
    (kind, code), = deadline.scope.items()
    return officer.commune_code == code if kind == "commune" else officer.province_code == code


def for_commune(deadline: Deadline, commune_code: int | None, province_code: int | None) -> bool:
    """The scope covers this commune (None: every scope, for a national preview)."""
    if commune_code is None or deadline.scope == "national":
        return True
    (kind, code), = deadline.scope.items()
    return commune_code == code if kind == "commune" else province_code == code


def send_time(calendar: Calendar, day: date) -> datetime:
    """When a reminder for `day` is due: the calendar's hour, Vietnamese time."""
    return datetime.combine(day, time(calendar.send_hour), VIETNAM)


def in_quiet_hours(calendar: Calendar, now: datetime) -> bool:
    start, end = calendar.quiet_hours
    hour = now.astimezone(VIETNAM).hour
    return hour >= start or hour < end if start > end else start <= hour < end


@dataclass(frozen=True)
class Due:
    reminder: Reminder
    officer: Officer


def due(calendar: Calendar, holidays: frozenset[date], officers: Iterable[Officer], now: datetime,
        look_back: timedelta = timedelta(days=3)) -> tuple[list[Due], list[Due], list[Due]]:
    """(to send, missed, superseded) at `now`. Superseded: an earlier lead time of a deadline
    whose nearer one is being sent (after downtime), recorded but not sent. A reminder is due from its send time until its deadline has
    passed; one whose deadline passed while nobody sent it is missed (recorded, never sent late).
    Nothing is due in quiet hours. `look_back` bounds how far back missed ones are looked for."""
    today = now.astimezone(VIETNAM).date()
    start = today - look_back - timedelta(days=max(max(d.lead_days) for d in calendar.deadlines))
    quiet = in_quiet_hours(calendar, now)
    send: list[Due] = []
    missed: list[Due] = []
    officers = list(officers)
    for deadline in calendar.deadlines:
        relevant = [o for o in officers if applies(deadline, o)]
        if not relevant:
            continue
        for reminder in reminders(deadline, holidays, start, today):
            at = send_time(calendar, reminder.send_on)
            if at > now:
                continue
            if last_day(deadline, reminder.period) < today:
                missed.extend(Due(reminder, o) for o in relevant if o.since is None or o.since <= at)
            elif not quiet:
                send.extend(Due(reminder, officer) for officer in relevant)
    kept, superseded = _split_latest(send)
    return kept, missed, superseded


def _split_latest(items: list[Due]) -> tuple[list[Due], list[Due]]:
    """After downtime several lead times of one deadline can be due at once ("7 days left" and
    "3 days left"): only the nearest is worth sending; the others are superseded."""
    best: dict[tuple[str, date, int], Due] = {}
    for item in items:
        key = (item.reminder.deadline.id, item.reminder.period, item.officer.id)
        if key not in best or item.reminder.lead < best[key].reminder.lead:
            best[key] = item
    chosen = {id(item) for item in best.values()}
    return [i for i in items if id(i) in chosen], [i for i in items if id(i) not in chosen]
