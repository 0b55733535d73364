"""Per-chat limits: one chat cannot flood the bot, guess invite codes, or fill the officers' day;
each refusal is short and kind, and the counts that must outlive a restart are in the database,
under a keyed hash of the chat (never its id)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from bot.app import build_app
from storage.db import transaction
from storage.models import ChatLimit, Officer, OfficerQuestion, utcnow
from tests.registration_helpers import WIFE_ANSWERS, Chat, invite, registrations

pytestmark = pytest.mark.db


class Clock:
    def __init__(self) -> None:
        self.now = utcnow().replace(hour=3)  # 10:00 in Vietnam: one Vietnamese day for every step below

    def __call__(self):
        return self.now


def with_clock(app) -> Clock:
    clock = Clock()
    app.dispatcher.clock = clock
    return clock


def limited_app(settings, brain, engine, **limits):
    """The app with these limits (the per-minute one off unless given: a test chat types fast)."""
    return build_app(settings.model_copy(update={"limit_messages_per_minute": 0, **limits}), brain=brain, engine=engine)


def test_a_chat_writing_too_fast_is_told_once_then_not_answered_and_others_are_unaffected(settings, brain, engine):
    app = limited_app(settings, brain, engine, limit_messages_per_minute=5)
    clock = with_clock(app)
    flooder, other = Chat(app, "flood"), Chat(app, "calm")
    for _ in range(5):
        flooder.say("xin chào")
        assert "nhắn hơi nhanh" not in flooder.text
    flooder.say("xin chào")
    assert "Bạn nhắn hơi nhanh" in flooder.text and len(flooder.last) == 1
    for _ in range(3):
        assert flooder.say("xin chào") == []  # told once: then silence for the rest of the minute
    other.say("xin chào")
    assert other.last and "nhắn hơi nhanh" not in other.text
    clock.now += timedelta(seconds=61)
    flooder.say("xin chào")
    assert flooder.last and "nhắn hơi nhanh" not in flooder.text


def _wrong_codes(chat: Chat, n: int) -> None:
    for i in range(n):
        chat.say(f"/canbo WRONGCODE{i}")


def test_wrong_invite_codes_lock_the_chat_out_for_a_while_even_from_the_right_code(settings, brain, engine):
    app = limited_app(settings, brain, engine, limit_invite_failures=3, limit_invite_lockout_minutes=30)
    clock = with_clock(app)
    guesser = Chat(app, "guesser")
    _wrong_codes(guesser, 2)
    assert "Mã mời không đúng" in guesser.text
    guesser.say("/canbo WRONGAGAIN")
    assert "nhập sai nhiều lần" in guesser.text and "30 phút" in guesser.text
    code = invite(app)
    guesser.say(f"/canbo {code}")  # a right code during the lockout is not even looked up
    assert "nhập sai nhiều lần" in guesser.text
    with transaction(app.engine) as session:
        assert list(session.exec(select(Officer))) == []
    Chat(app, "someone-else").say("/canbo WRONG")  # other chats are not locked out
    clock.now += timedelta(minutes=31)
    guesser.say(f"/canbo {code}")
    assert "Đã kích hoạt tài khoản cán bộ" in guesser.text


def test_the_invite_lockout_survives_a_restart_and_is_stored_without_the_chat_id(settings, brain, engine):
    app = limited_app(settings, brain, engine, limit_invite_failures=2)
    clock = with_clock(app)
    _wrong_codes(Chat(app, "guesser-123456"), 2)
    restarted = limited_app(settings, brain, engine, limit_invite_failures=2)
    restarted.dispatcher.clock = clock
    chat = Chat(restarted, "guesser-123456")
    chat.say(f"/canbo {invite(restarted)}")
    assert "nhập sai nhiều lần" in chat.text
    with transaction(app.engine) as session:
        rows = list(session.exec(select(ChatLimit)))
    assert rows and all("guesser" not in r.chat_key and "123456" not in r.chat_key and len(r.chat_key) == 64 for r in rows)


OTHER_PHONE = [(k, "0987.654.321" if v == "0912.345.678" else v) for k, v in WIFE_ANSWERS]


def _register(app, chat_id: str, answers=WIFE_ANSWERS) -> Chat:
    chat = Chat(app, chat_id)
    chat.tap("reg:start")
    if "Ai là người cần vay" not in chat.text:
        return chat
    chat.press("Tôi đăng ký giúp người thân")
    chat.answer(answers)
    chat.press("Đúng, gửi đăng ký")
    return chat


def test_registrations_per_day_are_limited_per_chat_and_allowed_again_the_next_day(settings, brain, engine):
    app = limited_app(settings, brain, engine, limit_registrations_per_day=1)
    clock = with_clock(app)
    assert "Mã đăng ký của bạn" in _register(app, "many").text
    again = Chat(app, "many")
    again.tap("reg:start")
    assert "Hôm nay bạn đã gửi 1 đăng ký" in again.text
    assert len(registrations(app)) == 1
    assert "Mã đăng ký của bạn" in _register(app, "other-person").text  # another chat is not limited
    clock.now += timedelta(days=1)
    assert "Mã đăng ký của bạn" in _register(app, "many", OTHER_PHONE).text
    assert len(registrations(app)) == 3


def test_a_draft_finished_after_the_day_limit_is_kept_and_can_be_sent_the_next_day(settings, brain, engine):
    app = limited_app(settings, brain, engine, limit_registrations_per_day=2)
    clock = with_clock(app)
    assert "Mã đăng ký của bạn" in _register(app, "late").text
    chat = Chat(app, "late")
    chat.tap("reg:start")
    chat.press("Tôi đăng ký giúp người thân")
    chat.answer(OTHER_PHONE)  # at the summary, not sent yet
    stricter = limited_app(settings, brain, engine, limit_registrations_per_day=1)  # the operator lowered it
    stricter.dispatcher.clock = clock
    chat.app = stricter
    chat.press("Đúng, gửi đăng ký")
    assert "Hôm nay bạn đã gửi 1 đăng ký" in chat.text and "vẫn được giữ" in chat.text
    assert len(registrations(app)) == 1
    clock.now += timedelta(days=1)
    chat.tap("reg:start")
    chat.press("Làm tiếp")
    chat.press("Đúng, gửi đăng ký")
    assert "Mã đăng ký của bạn" in chat.text
    assert len(registrations(app)) == 2


def _ask(app, chat_id: str, text: str) -> Chat:
    chat = Chat(app, chat_id)
    chat.tap("ask:start")
    if "câu hỏi cho cán bộ" in chat.text and "tối đa" in chat.text:
        return chat
    chat.say("nghe an")
    chat.say("qui hop")
    if "Xã Quỳ Hợp" in chat.labels:
        chat.press("Xã Quỳ Hợp")
    chat.say(text)
    chat.press("Không")
    return chat


def test_questions_to_officers_per_day_are_limited_so_officers_get_a_few_notices_not_twenty(settings, brain, engine):
    app = limited_app(settings, brain, engine, limit_questions_per_day=2)
    with_clock(app)
    Chat(app, "officer").say(f"/canbo {invite(app)}")
    for i in range(5):
        last = _ask(app, "asker", f"Câu hỏi số {i} về giấy tờ vay vốn?")
    assert "Hôm nay bạn đã gửi 2 câu hỏi cho cán bộ" in last.text
    with transaction(app.engine) as session:
        assert len(list(session.exec(select(OfficerQuestion)))) == 2
    from tests.registration_helpers import inbox_of

    assert len(inbox_of(app, "officer")) == 2
    assert "Hôm nay" not in _ask(app, "another-person", "Tôi cần giấy tờ gì?").text


def test_the_per_minute_limit_holds_across_processes_sharing_the_database(database_url, settings, brain):
    """Two bot processes on one database (two apps, each with its own engine and connections: no
    memory shared) take one chat's messages at the same time. Together they answer the limit,
    tell it once, and drop the rest: the count is in the database, not in a process."""
    import threading

    from storage.db import make_engine
    from tests.conftest import make_message, run

    url, schema = database_url
    engines = [make_engine(url, schema=schema) for _ in range(2)]
    try:
        apps = [limited_app(settings, brain, e, limit_messages_per_minute=5) for e in engines]
        clock = Clock()
        for app in apps:
            app.dispatcher.clock = clock
        replies: list[list] = []
        barrier = threading.Barrier(2)

        def worker(app) -> None:
            barrier.wait()
            for _ in range(6):
                replies.append(run(app.dispatcher.dispatch(make_message("xin chào", chat_id="6120031313"))))

        threads = [threading.Thread(target=worker, args=(app,)) for app in apps]
        [t.start() for t in threads]
        [t.join(60) for t in threads]
        told = [r for r in replies if r and "nhắn hơi nhanh" in r[0].text]
        answered = [r for r in replies if r and "nhắn hơi nhanh" not in r[0].text]
        assert (len(answered), len(told), replies.count([])) == (5, 1, 6)
        clock.now += timedelta(seconds=61)  # a new minute, in either process
        assert "nhắn hơi nhanh" not in Chat(apps[1], "6120031313").say("xin chào")[0].text
    finally:
        for e in engines:
            e.dispose()
