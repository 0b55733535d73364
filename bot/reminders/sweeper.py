"""The reminder sweeper: what is due at `now` (bot.reminders.calendar) becomes, exactly once, a
ledger row and a notification written in the same transaction; the channels then send the
notifications (bot/notifications.py: leased, rate-paced, retried with back-off).

APScheduler only wakes this up. Restarts resume from the ledger; two processes on one PostgreSQL
database take turns through an advisory lock, and the ledger's unique key holds anyway.
"""

from __future__ import annotations

import logging
import threading
import weakref
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.i18n import Texts
from bot.places import Places
from bot.registration.service import commune_figures
from bot.reminders.calendar import Due, Officer, Reminder, due, in_quiet_hours, last_day, reminders, report_period, send_time
from bot.types import Button, Document, Reply, replies_to_json
from bot.vntime import VIETNAM
from content import Content
from storage import notifications, officers as officer_repo, reminders as ledger
from storage.crypto import Cipher
from storage.db import is_postgres, transaction

log = logging.getLogger(__name__)
LOCK_KEY = 0x5EED_0005  # the PostgreSQL advisory lock that makes one worker the sweeper at a time
BATCH = 500
_sqlite_sweepers: weakref.WeakKeyDictionary[Engine, threading.Lock] = weakref.WeakKeyDictionary()


@dataclass
class SweepReport:
    queued: int = 0
    missed: int = 0
    skipped: int = 0
    channels: set[str] = field(default_factory=set)
    swept: bool = True  # False: another worker held the sweeper's lock


class Sweeper:
    def __init__(self, *, engine: Engine, cipher: Cipher, content: Content, places: Places, texts: Texts) -> None:
        self.engine, self.cipher, self.content, self.places, self.texts = engine, cipher, content, places, texts

    # -- the lease ---------------------------------------------------------------------------------

    def sweep(self, now: datetime) -> SweepReport:
        """Queues what is due at `now` (and records what was missed); safe to call from any worker."""
        if is_postgres(self.engine):
            with self.engine.connect() as connection:
                if not connection.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": LOCK_KEY}).scalar():
                    return SweepReport(swept=False)
                try:
                    return self._sweep(now)
                finally:
                    connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": LOCK_KEY})
                    connection.commit()
        lock = _sqlite_sweepers.setdefault(self.engine, threading.Lock())
        if not lock.acquire(blocking=False):
            return SweepReport(swept=False)
        try:
            return self._sweep(now)
        finally:
            lock.release()

    # -- one sweep -----------------------------------------------------------------------------------

    def officers(self, session: Session) -> dict[int, tuple[Officer, str, str]]:
        """Active officers: id → (calendar view, channel, chat id)."""
        found = {}
        for row in officer_repo.all_officers(session=session):
            commune = self.places.commune(row.commune_code)
            view = Officer(row.id, row.commune_code, commune.province_code if commune else None, row.role, row.created_at)
            found[row.id] = (view, row.channel, row.chat_id)
        return found

    def _sweep(self, now: datetime) -> SweepReport:
        calendar, holidays = self.content.calendar, self.content.holidays
        report = SweepReport()
        with transaction(self.engine) as session:
            team = self.officers(session)
            to_send, missed, superseded = due(calendar, holidays, (o for o, _, _ in team.values()), now)
            ids = list(team)
            periods = sorted({d.reminder.period.isoformat() for d in to_send + missed + superseded})
            done_keys = ledger.existing(session=session, officer_ids=ids, periods=periods)
            answers = ledger.tasks(session=session, officer_ids=ids)
        snoozes = self._snoozes(answers, team, now)
        snoozed_now = {(d.reminder.deadline.id, d.reminder.period.isoformat(), d.officer.id) for d, _ in snoozes}
        work: list[tuple[Due, str, str]] = [(d, lead, "queued") for d, lead in snoozes]
        for item in to_send:
            key = (item.reminder.deadline.id, item.reminder.period.isoformat(), item.officer.id)
            task = answers.get(key)
            if task is not None and task.done_at is not None:
                status = "skipped"
            elif key in snoozed_now or (task is not None and task.snoozed_until is not None and task.snoozed_until > now):
                status = "skipped"  # the officer asked for tomorrow: the snooze reminder replaces it
            else:
                status = "queued"
            work.append((item, f"d{item.reminder.lead}", status))
        work += [(item, f"d{item.reminder.lead}", "missed") for item in missed]
        work += [(item, f"d{item.reminder.lead}", "skipped") for item in superseded]
        work = [w for w in work if (w[0].reminder.deadline.id, w[0].reminder.period.isoformat(), w[0].officer.id, w[1]) not in done_keys]
        figures: dict[int, dict[str, int]] = {}
        for batch in _chunks(work, BATCH):
            with transaction(self.engine) as session:
                for item, lead, status in batch:
                    self._claim(session, item, lead, status, team, figures, now, report)
        if report.missed:
            log.warning("%d reminders fell due while the bot was down and their deadline has passed: recorded as missed", report.missed)
        return report

    def _claim(self, session: Session, item: Due, lead: str, status: str, team, figures, now: datetime, report: SweepReport) -> None:
        reminder, officer = item.reminder, item.officer
        delivery_id = ledger.claim(session=session, deadline_id=reminder.deadline.id, period=reminder.period.isoformat(),
                                   officer_id=officer.id, lead=lead, status=status, now=now)
        if delivery_id is None:
            return  # another sweep got there first
        if status != "queued":
            report.missed += status == "missed"
            report.skipped += status == "skipped"
            return
        _, channel, chat_id = team[officer.id]
        if officer.commune_code not in figures:
            figures[officer.commune_code] = commune_figures(session=session, commune_code=officer.commune_code, now=now)
        reply = self.message(reminder, officer, figures[officer.commune_code], now, self._report(session, reminder, officer))
        notification_id = notifications.add(session=session, channel=channel, chat_id=chat_id,
                                            replies=self.cipher.encrypt(replies_to_json([reply])), now=now)
        ledger.set_notification(session=session, delivery_id=delivery_id, notification_id=notification_id)
        report.queued += 1
        report.channels.add(channel)

    def _snoozes(self, answers, team, now: datetime) -> list[tuple[Due, str]]:
        """Snoozed tasks whose time has come (and whose deadline has not passed)."""
        found = []
        today = now.astimezone(VIETNAM).date()
        by_id = {d.id: d for d in self.content.calendar.deadlines}
        for (deadline_id, period, officer_id), task in answers.items():
            if task.done_at or not task.snoozed_until or task.snoozed_until > now or officer_id not in team:
                continue
            deadline, day = by_id.get(deadline_id), date.fromisoformat(period)
            if deadline is None or last_day(deadline, day) < today or in_quiet_hours(self.content.calendar, now):
                continue
            reminder = Reminder(deadline, day, (day - today).days, today)
            found.append((Due(reminder, team[officer_id][0]), f"s{task.snoozed_until.astimezone(VIETNAM):%Y%m%d}"))
        return found

    def _report(self, session: Session, reminder: Reminder, officer: Officer) -> tuple[Document, date, date] | None:
        """A reporting deadline's report of its period, for the officer's commune."""
        from bot.registration import report

        covered = report_period(reminder.deadline, reminder.period)
        if covered is None:
            return None
        form = self.content.registration
        figures = report.build(session=session, cipher=self.cipher, form=form, communes=[officer.commune_code], start=covered[0],
                               end=covered[1], commune=officer.commune_code, province=officer.province_code)
        return report.document(figures, texts=self.texts, places=self.places, form=form), covered[0], covered[1]

    # -- the message -----------------------------------------------------------------------------------

    def message(self, reminder: Reminder, officer: Officer, figures: dict[str, int], now: datetime,
                report: tuple[Document, date, date] | None = None) -> Reply:
        """'Hạn lập danh sách …: trước ngày 05/12/2026 (còn 3 ngày). Xã Quỳ Hợp: 7 đăng ký chờ xác minh, …'
        for the police; the deadline alone for the committee and the bank; a reporting deadline's
        reminder carries that period's report."""
        t = self.texts
        today = now.astimezone(VIETNAM).date()
        days = (reminder.period - today).days
        remaining = t.t("reminders.today") if days <= 0 else t.t("reminders.days_left", days=days)
        commune = self.places.commune(officer.commune_code)
        police = officer.role in officer_repo.POLICE
        template = reminder.deadline.text or (self.content.calendar.text if police else self.content.calendar.plain_text)
        due_text = t.t(f"reminders.due_{reminder.deadline.when}", date=t.date(reminder.period))
        body = template.format(title=reminder.deadline.title, date=t.date(reminder.period), due=due_text, remaining=remaining,
                               commune=commune.name if commune else officer.commune_code, **figures)
        if report is not None:
            body += " " + t.t("reminders.report_attached", start=t.date(report[1]), end=t.date(report[2]))
        task = f"{reminder.deadline.id}:{reminder.period.isoformat()}:{officer.id}"
        work = (
            Button(t.t("reminders.open_pending"), f"off:list:{officer.commune_code}:0"),
            Button(t.t("reminders.export"), f"off:export:{officer.commune_code}:{today.year}-{today.month:02d}"),
        ) if police else (Button(t.t("officer.home"), "off:home"),)
        buttons = work + (Button(t.t("reminders.done"), f"rem:done:{task}"), Button(t.t("reminders.snooze"), f"rem:snooze:{task}"))
        return Reply(body, buttons, report[0] if report else None)


def preview(content: Content, places: Places, start: date, end: date, commune_code: int | None) -> list[dict]:
    """The reminders that would go out in [start, end] (for one commune, or every scope)."""
    from bot.reminders.calendar import for_commune

    commune = places.commune(commune_code) if commune_code is not None else None
    province = commune.province_code if commune else None
    items = []
    for deadline in content.calendar.deadlines:
        if commune_code is not None and not for_commune(deadline, commune_code, province):
            continue
        for reminder in reminders(deadline, content.holidays, start, end):
            items.append({
                "date": reminder.send_on.isoformat(),
                "send_at": send_time(content.calendar, reminder.send_on).isoformat(),
                "deadline": reminder.period.isoformat(),
                "deadline_id": deadline.id,
                "title": deadline.title,
                "scope": deadline.scope_label,
                "scope_code": deadline.scope_code,
                "commune": commune_code,
                "lead_days": reminder.lead,
                "when": deadline.when,
                "last_day": last_day(deadline, reminder.period).isoformat(),
                "audience": list(deadline.audience),
                "report": deadline.report_months is not None,
            })
    return sorted(items, key=lambda i: (i["date"], i["deadline"], i["deadline_id"]))


def _chunks(items: list, size: int) -> Iterator[list]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


def next_send_day(now: datetime, send_hour: int) -> datetime:
    """Tomorrow at the calendar's hour, Vietnamese time (a snooze)."""
    local = now.astimezone(VIETNAM)
    return datetime.combine(local.date() + timedelta(days=1), datetime.min.time().replace(hour=send_hour), VIETNAM)
