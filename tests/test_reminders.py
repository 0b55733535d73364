"""Officers' reminders: the calendar as data, an injected clock (no test sleeps for a deadline),
a ledger that never sends twice, and the kill-and-restart broadcast."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlmodel import select

from bot.reminders.calendar import Officer, due, reminders, working_day_on_or_before
from bot.vntime import VIETNAM
from storage import officers as officer_repo, reminders as ledger
from storage.db import transaction
from storage.models import Notification, utcnow
from tests.test_cli import bot

VN = VIETNAM


def at(text: str) -> datetime:
    """'2026-12-02 08:00' in Vietnam."""
    return datetime.fromisoformat(text).replace(tzinfo=VN)


def deadline(brain, deadline_id):
    return next(d for d in brain.content.calendar.deadlines if d.id == deadline_id)


# -- the calendar (pure) -------------------------------------------------------------------------


def test_preview_json_for_son_la_and_quy_hop(tmp_path):
    son_la = json.loads(bot("reminders", "preview", "--from", "2026-11-20", "--to", "2026-12-31", "--commune", "3646", "--json",
                            data_dir=tmp_path).stdout)
    assert {"date", "deadline", "title", "scope", "commune", "audience", "when", "last_day"} <= set(son_la[0])
    audiences = {i["deadline_id"]: i["audience"] for i in son_la}
    assert audiences["son_la_annual_report"] == ["committee", "admin"] and audiences["monthly_list"] == ["officer", "admin"]
    assert all(i["date"] <= i["last_day"] < i["deadline"] for i in son_la if i["when"] == "before")
    assert {"2026-12-05", "2026-12-15"} <= {i["deadline"] for i in son_la}
    quy_hop = json.loads(bot("reminders", "preview", "--from", "2026-11-20", "--to", "2026-12-31", "--commune", "17035", "--json",
                             data_dir=tmp_path).stdout)
    deadlines = {i["deadline"] for i in quy_hop}
    assert {"2026-12-05", "2026-12-02"} <= deadlines and "2026-12-15" not in deadlines
    assert all(date.fromisoformat(i["date"]) <= date.fromisoformat(i["deadline"]) for i in quy_hop)


def test_a_deadline_on_a_weekend_is_reminded_on_the_working_day_before(brain):
    monthly = deadline(brain, "monthly_list")
    holidays = brain.content.holidays
    found = reminders(monthly, holidays, date(2026, 11, 28), date(2026, 12, 6))
    assert [(r.lead, r.send_on) for r in found if r.period == date(2026, 12, 5)] == [(3, date(2026, 12, 2)), (0, date(2026, 12, 4))]
    # "Trước ngày 05": every month for two years, the last reminder is the working day before the 5th.
    assert monthly.when == "before"
    for r in reminders(monthly, holidays, date(2026, 6, 1), date(2028, 6, 1)):
        assert r.send_on < r.period
        if r.lead == 0:
            assert r.send_on == working_day_on_or_before(r.period - timedelta(days=1), holidays)
            assert r.send_on.weekday() < 5 and r.send_on not in holidays


def test_before_x_is_reminded_the_working_day_before_and_on_x_on_the_day(brain):

    holidays = brain.content.holidays
    quy_hop = deadline(brain, "quy_hop_annual_report")  # "trước ngày 02/12": Wednesday 2/12/2026
    last = [r for r in reminders(quy_hop, holidays, date(2026, 11, 20), date(2026, 12, 3)) if r.lead == 0]
    assert [r.send_on for r in last] == [date(2026, 12, 1)]
    on_day = quy_hop.model_copy(update={"when": "on"})
    assert [r.send_on for r in reminders(on_day, holidays, date(2026, 11, 20), date(2026, 12, 3)) if r.lead == 0] == [date(2026, 12, 2)]
    # Sơn La's "trước ngày 15/6": 15/6/2027 is a Tuesday, so the last reminder is Monday 14/6.
    son_la = deadline(brain, "son_la_half_year_report")
    assert [r.send_on for r in reminders(son_la, holidays, date(2027, 6, 1), date(2027, 6, 15)) if r.lead == 0] == [date(2027, 6, 14)]


def test_each_deadline_goes_to_the_role_that_must_act(brain):
    calendar, holidays = brain.content.calendar, brain.content.holidays
    police, committee, bank = officer(1, 17035, 40), officer(2, 17035, 40, "committee"), officer(3, 17035, 40, "bank")
    to_send, _, _ = due(calendar, holidays, [police, committee, bank], at("2026-11-25 09:00"))  # Quỳ Hợp: 7 days before 2/12
    assert {(d.reminder.deadline.id, d.officer.role) for d in to_send} == {("quy_hop_annual_report", "committee"),
                                                                           ("quy_hop_annual_report", "bank")}
    to_send, _, _ = due(calendar, holidays, [police, committee, bank], at("2026-12-02 09:00"))
    assert {(d.reminder.deadline.id, d.officer.role) for d in to_send} == {("monthly_list", "officer")}


@pytest.mark.db
def test_a_reporting_deadline_carries_its_periods_report_to_the_committee(app):
    import base64
    import io

    from openpyxl import load_workbook

    bind(app, commune=3646, chat_id="son-la-committee", role="committee")
    bind(app, commune=3646, chat_id="son-la-police")
    app.sweeper.sweep(at("2026-12-08 08:00"))  # 7 days before 15/12: the annual report
    [reminder] = [json.loads(t)[0] for t in queued(app, "son-la-committee")]
    assert "Hạn báo cáo năm" in reminder["text"] and "trước ngày 15/12/2026" in reminder["text"]
    assert "từ 15/12/2025 đến 14/12/2026" in reminder["text"] and "chờ xác minh" not in reminder["text"]
    rows = list(load_workbook(io.BytesIO(base64.b64decode(reminder["document"]["content"]))).active.iter_rows(values_only=True))
    assert rows[0][0].startswith("Báo cáo") and any(r and r[0] == "Số đăng ký trong kỳ" for r in rows)
    assert not any("Hạn báo cáo" in t for t in queued(app, "son-la-police"))


def test_compensatory_days_off_are_listed_for_every_weekend_holiday_of_the_shipped_years(brain):
    """Bộ luật Lao động 2019, Điều 111 khoản 3: a holiday on the weekly day off gives the next working day off."""
    from pathlib import Path

    from content.loader import _load_model
    from content.models import Holidays

    book = _load_model(Holidays, Path(__file__).resolve().parent.parent / "content" / "reminders" / "holidays.yaml")
    official, made_up = book.official(), book.compensatory()
    assert official | set(made_up) == brain.content.holidays
    years = {d.year for d in official}
    for holiday in sorted(d for d in official if d.weekday() >= 5 and d.year in years):
        assert holiday in made_up.values(), f"no compensatory day for {holiday}"
    for day, holiday in made_up.items():
        # The first weekday after the holiday that is neither a holiday nor another's compensatory day.
        expected = holiday + timedelta(days=1)
        while expected.weekday() >= 5 or expected in official or (expected in made_up and made_up[expected] < holiday):
            expected += timedelta(days=1)
        assert day == expected, (holiday, day, expected)
    # A reminder never lands on one: Monday 27/4/2026 is off (Giỗ Tổ on Sunday 26/4).
    assert date(2026, 4, 27) in brain.content.holidays


def test_a_fifth_on_a_sunday_and_across_the_new_year(brain):
    monthly = deadline(brain, "monthly_list")
    sunday = date(2027, 9, 5)
    assert sunday.weekday() == 6
    found = {(r.period, r.lead): r.send_on for r in reminders(monthly, brain.content.holidays, date(2026, 12, 1), date(2027, 9, 30))}
    assert found[(sunday, 0)] == date(2027, 9, 1)  # Wednesday: Thursday 2/9 and Friday 3/9 are holidays in holidays.yaml
    assert found[(date(2027, 1, 5), 3)] == date(2026, 12, 31)  # the 2nd is a Saturday, the 1st a holiday


def test_tet_moves_the_reminder_before_the_holiday(brain):
    monthly = deadline(brain, "monthly_list")
    found = {(r.period, r.lead): r.send_on for r in reminders(monthly, brain.content.holidays, date(2027, 1, 20), date(2027, 2, 10))}
    assert found[(date(2027, 2, 5), 0)] == date(2027, 2, 4)  # Tết 2027: 5–9 February off


def officer(id=1, commune=17035, province=40, role="officer"):
    return Officer(id, commune, province, role)


def test_due_is_a_pure_function_of_the_time_in_vietnam_not_utc(brain):
    calendar, holidays = brain.content.calendar, brain.content.holidays
    before = datetime(2026, 12, 2, 0, 59, tzinfo=UTC)  # 07:59 in Vietnam
    after = datetime(2026, 12, 2, 1, 0, tzinfo=UTC)  # 08:00 in Vietnam
    keys = lambda items: {(d.reminder.deadline.id, d.reminder.lead) for d in items}
    assert ("monthly_list", 3) not in keys(due(calendar, holidays, [officer()], before)[0])
    assert ("monthly_list", 3) in keys(due(calendar, holidays, [officer()], after)[0])


def test_scope_and_audience_decide_who_gets_what(brain):
    calendar, holidays = brain.content.calendar, brain.content.holidays
    now = at("2026-12-14 09:00")  # the last working day before "trước ngày 15/12"
    son_la, quy_hop, admin = officer(1, 3646, 14, "committee"), officer(2, 17035, 40), officer(3, 17035, 40, "admin")
    to_send, _, _ = due(calendar, holidays, [son_la, quy_hop, admin], now)
    assert {(d.reminder.deadline.id, d.officer.id) for d in to_send} == {("son_la_annual_report", 1)}


def test_nothing_goes_out_in_quiet_hours_and_it_waits_for_the_morning(brain):
    calendar, holidays = brain.content.calendar, brain.content.holidays
    assert due(calendar, holidays, [officer()], at("2026-12-02 22:00"))[0] == []
    to_send, missed, _ = due(calendar, holidays, [officer()], at("2026-12-04 07:05"))
    assert ("monthly_list", date(2026, 12, 5)) in {(d.reminder.deadline.id, d.reminder.period) for d in to_send}


def test_after_downtime_only_the_nearest_reminder_goes_and_a_passed_deadline_is_missed(brain):
    calendar, holidays = brain.content.calendar, brain.content.holidays
    to_send, missed, superseded = due(calendar, holidays, [officer(), officer(2, role="committee")], at("2026-12-04 09:00"))
    sent = {(d.reminder.deadline.id, d.reminder.lead) for d in to_send}
    assert ("monthly_list", 0) in sent and ("monthly_list", 3) not in sent
    assert ("monthly_list", 3) in {(d.reminder.deadline.id, d.reminder.lead) for d in superseded}
    assert ("quy_hop_annual_report", date(2026, 12, 2)) in {(d.reminder.deadline.id, d.reminder.period) for d in missed}


# -- the ledger and the sweeper (database) ---------------------------------------------------------------


def bind(app, commune=17035, chat_id="off-1", channel="test", role="officer", when=None):
    from storage.models import Officer as OfficerRow

    with transaction(app.engine) as session:
        row = OfficerRow(channel=channel, chat_id=chat_id, commune_code=commune, role=role, created_at=when or at("2026-11-01 08:00"))
        session.add(row)
        session.flush()
        return row.id


def queued(app, chat_id=None) -> list[str]:
    with transaction(app.engine) as session:
        statement = select(Notification).order_by(Notification.id)
        if chat_id:
            statement = statement.where(Notification.chat_id == chat_id)
        return [app.dispatcher.cipher.decrypt(n.replies) for n in session.exec(statement)]


@pytest.mark.db
def test_a_reminder_carries_live_figures_and_is_queued_once_however_often_the_sweeper_runs(app):
    from tests.test_officers import demo

    demo(app, n=6)
    bind(app)
    first = app.sweeper.sweep(at("2026-12-02 08:00"))
    again = app.sweeper.sweep(at("2026-12-02 08:01"))
    assert first.queued == 1 and again.queued == 0  # the monthly list (Quỳ Hợp's annual report is the other bodies')
    texts = queued(app)
    monthly = next(t for t in texts if "Hạn lập danh sách" in t)
    assert "ngày 05/12/2026 (còn 3 ngày)" in monthly and "Xã Quỳ Hợp: 3 đăng ký chờ xác minh" in monthly
    assert "câu hỏi chưa trả lời" in monthly


@pytest.mark.db
def test_snooze_reminds_once_tomorrow_and_done_stops_the_deadline(app):
    from tests.registration_helpers import Chat

    bind(app, chat_id="off-1")
    assert app.sweeper.sweep(at("2026-12-02 08:00")).queued == 1
    monthly = next(json.loads(t)[0] for t in queued(app) if "Hạn lập danh sách" in t)
    button = lambda reply, action: next(p for _, p in reply["buttons"] if p.startswith(f"rem:{action}"))
    app.dispatcher.clock = lambda: at("2026-12-02 09:00")
    chat = Chat(app, "off-1")
    chat.tap(button(monthly, "snooze"))
    assert "nhắc lại ngày 03/12/2026 lúc 8 giờ" in chat.text
    assert app.sweeper.sweep(at("2026-12-03 07:59")).queued == 0
    assert app.sweeper.sweep(at("2026-12-03 08:00")).queued == 1  # the snooze, once
    assert app.sweeper.sweep(at("2026-12-03 08:01")).queued == 0
    again = json.loads(queued(app)[-1])[0]
    assert "còn 2 ngày" in again["text"]
    app.dispatcher.clock = lambda: at("2026-12-03 09:00")
    chat.tap(button(again, "done"))
    assert "Đã ghi nhận hoàn thành" in chat.text
    report = app.sweeper.sweep(at("2026-12-04 08:00"))  # the on-the-day reminder of a task that is done
    assert report.queued == 0 and report.skipped == 1


@pytest.mark.db
def test_a_stranger_cannot_press_an_officers_reminder_buttons(app):
    from tests.registration_helpers import Chat

    bind(app, chat_id="off-1")
    app.sweeper.sweep(at("2026-12-02 08:00"))
    done = next(p for _, p in json.loads(queued(app)[0])[0]["buttons"] if p.startswith("rem:done"))
    stranger = Chat(app, "someone")
    stranger.tap(done)
    assert "không có quyền" in stranger.text


@pytest.mark.db
def test_lichnhac_lists_the_coming_deadlines_of_the_officers_commune(app):
    from tests.registration_helpers import officer_chat

    chat = officer_chat(app)
    chat.say("/lichnhac")
    assert "Các hạn sắp tới" in chat.text and "Hạn lập danh sách" in chat.text


@pytest.mark.db
def test_two_sweepers_on_one_database_queue_every_reminder_once(database_url, settings, brain):
    import threading

    from bot.app import build_app
    from storage.db import make_engine

    url, schema = database_url
    engines = [make_engine(url, schema=schema) for _ in range(2)]
    apps = [build_app(settings, brain=brain, engine=e) for e in engines]
    for i in range(40):
        bind(apps[0], chat_id=f"o{i}")
    results = []
    barrier = threading.Barrier(2)

    def sweep(app):
        barrier.wait()
        for minute in range(3):
            results.append(app.sweeper.sweep(at("2026-12-02 08:00") + timedelta(minutes=minute)).queued)

    threads = [threading.Thread(target=sweep, args=(a,)) for a in apps]
    [t.start() for t in threads]
    [t.join(60) for t in threads]
    assert sum(results) == 40  # 40 officers × the monthly list's reminder, whoever sent them
    assert len(queued(apps[0])) == 40
    with transaction(apps[0].engine) as session:
        rows = ledger.deliveries(session=session, status="queued")
    assert len({(r.deadline_id, r.period, r.officer_id, r.lead) for r in rows}) == len(rows) == 40
    for engine in engines:
        engine.dispose()


@pytest.mark.db
def test_a_broadcast_interrupted_midway_resumes_without_repeating_anyone(app):
    import asyncio

    from bot.notifications import deliver

    for i in range(30):
        bind(app, chat_id=f"o{i}")
    app.sweeper.sweep(at("2026-12-04 08:00"))  # one reminder each (the 5th is a Saturday)
    got: list[str] = []

    class Killed(BaseException):
        pass

    async def dying_send(chat_id, replies):
        if len(got) == 11:
            raise Killed  # the process dies before the 12th message leaves
        got.append(chat_id)

    async def send(chat_id, replies):
        got.append(chat_id)

    with pytest.raises(Killed):
        asyncio.run(deliver(app.engine, app.dispatcher.cipher, "test", dying_send))
    later = lambda: utcnow() + timedelta(minutes=1)  # the restarted process, after the lease ran out
    asyncio.run(deliver(app.engine, app.dispatcher.cipher, "test", send, clock=later))
    assert sorted(got) == sorted(f"o{i}" for i in range(30))


@pytest.mark.db
def test_a_blocked_officer_is_recorded_and_shown_to_admins(app):
    import asyncio

    from bot.channels.inbox import PermanentSendError
    from bot.notifications import deliver
    from tests.registration_helpers import officer_chat

    bind(app, chat_id="blocked")
    app.sweeper.sweep(at("2026-12-04 08:00"))

    async def send(chat_id, replies):
        raise PermanentSendError("blocked the bot")

    asyncio.run(deliver(app.engine, app.dispatcher.cipher, "test", send, (PermanentSendError,)))
    with transaction(app.engine) as session:
        [row] = session.exec(select(Notification)).all()
    assert row.failed_at is not None and row.reason == "blocked the bot"
    admin = officer_chat(app, "admin-chat")
    with transaction(app.engine) as session:
        for o in officer_repo.of_chat(session=session, channel="test", chat_id="admin-chat"):
            o.role = "admin"
            session.add(o)
    admin.say("/lichnhac")
    assert "không gửi được" in admin.text
