"""Telegram end to end: a webhook POST goes through the real python-telegram-bot client to a
stand-in Bot API on 127.0.0.1; secrets, duplicates, buttons, 429s and crashes."""

from __future__ import annotations

import asyncio
import json

import aiohttp
import pytest
from pydantic import SecretStr

from bot.channels.telegram import TelegramChannel
from standins.telegram_api import FakeTelegramAPI
from tests.channel_harness import ChannelHarness

SECRET = "s3cret-Token_1"
pytestmark = pytest.mark.db


def message_update(update_id: int, text: str, chat_id: int = 777) -> dict:
    return {
        "update_id": update_id,
        "message": {"message_id": update_id, "date": 1700000000, "text": text,
                    "chat": {"id": chat_id, "type": "private"},
                    "from": {"id": chat_id, "is_bot": False, "first_name": "Lan"}},
    }


def button_update(update_id: int, data: str, chat_id: int = 777) -> dict:
    return {
        "update_id": update_id,
        "callback_query": {"id": f"cq{update_id}", "chat_instance": "1", "data": data,
                           "from": {"id": chat_id, "is_bot": False, "first_name": "Lan"},
                           "message": {"message_id": 1, "date": 1700000000, "text": "x",
                                       "chat": {"id": chat_id, "type": "private"}}},
    }


class Harness(ChannelHarness):
    """Our web server with the Telegram channel, pointed at the fake API."""

    channel_class = TelegramChannel
    webhook_path = "/telegram/webhook"

    def __init__(self, settings, brain, engine, fake: FakeTelegramAPI) -> None:
        super().__init__(settings.model_copy(update={
            "telegram_bot_token": SecretStr(fake.token), "telegram_mode": "webhook",
            "telegram_webhook_secret": SecretStr(SECRET), "telegram_api_base_url": fake.base_url,
            "public_base_url": "https://bot.example.vn",
        }), brain, engine)

    async def post(self, update: dict, secret: str | None = SECRET) -> int:
        headers = {"X-Telegram-Bot-Api-Secret-Token": secret} if secret is not None else {}
        return await self.post_webhook(headers=headers, json_body=update)


@pytest.fixture
async def fake():
    api = await FakeTelegramAPI().start()
    yield api
    await api.stop()


async def test_webhook_is_registered_with_the_secret_and_commands_in_vietnamese(settings, brain, engine, fake):
    async with Harness(settings, brain, engine, fake):
        (hook,) = fake.sent("setWebhook")
        assert hook["url"] == "https://bot.example.vn/telegram/webhook" and hook["secret_token"] == SECRET
        commands = fake.sent("setMyCommands")[0]["commands"]
        assert {"command": "menu", "description": "Menu chính"} in commands


async def test_polling_mode_answers_updates_from_get_updates(settings, brain, engine, fake):
    harness = Harness(settings, brain, engine, fake)
    harness.channel.settings = harness.settings.model_copy(update={"telegram_mode": "polling"})
    fake.queued_updates.append(message_update(20, "ls bn"))
    async with harness:
        (sent,) = await fake.wait_for("sendMessage")
        assert "6,24%" in sent["text"]
        assert fake.sent("deleteWebhook") and not fake.sent("setWebhook")


async def test_a_question_is_answered_through_the_real_client_with_its_keyboard(settings, brain, engine, fake):
    async with Harness(settings, brain, engine, fake) as bot:
        assert await bot.post(message_update(1, "lai suat vay bao nhieu")) == 200
        (sent,) = await fake.wait_for("sendMessage")
        assert sent["chat_id"] == 777 and "6,24%" in sent["text"] and "Căn cứ:" in sent["text"]
        labels = [row[0]["text"] for row in sent["reply_markup"]["inline_keyboard"]]
        assert labels[-1] == "Về menu"
        assert fake.sent("sendChatAction") == []  # a fast answer needs no "typing…"
        assert "parse_mode" not in sent  # user text and answers are shown literally


@pytest.mark.parametrize("secret", [None, "", "wrong-secret"])
async def test_a_wrong_or_missing_secret_is_refused_and_nothing_is_processed(settings, brain, engine, fake, secret):
    async with Harness(settings, brain, engine, fake) as bot:
        assert await bot.post(message_update(2, "xin chào"), secret=secret) == 403
        await bot.channel.idle()
        assert fake.sent("sendMessage") == []


async def test_the_same_update_delivered_twice_is_answered_once(settings, brain, engine, fake):
    async with Harness(settings, brain, engine, fake) as bot:
        assert await bot.post(message_update(3, "menu")) == 200
        assert await bot.post(message_update(3, "menu")) == 200
        await fake.wait_for("sendMessage")
        await bot.channel.idle()
        assert len(fake.sent("sendMessage")) == 1


async def test_a_button_press_is_answered_and_an_old_button_gets_a_sensible_reply(settings, brain, engine, fake):
    async with Harness(settings, brain, engine, fake) as bot:
        await bot.post(button_update(4, "menu:faq"))
        # The button's spinner stops with the webhook's answer (the Bot API runs the method given there).
        assert json.loads(bot.last_answer) == {"method": "answerCallbackQuery", "callback_query_id": "cq4"}
        (first,) = await fake.wait_for("sendMessage")
        assert first["text"].startswith("Bạn cứ gõ câu hỏi")
        assert fake.sent("answerCallbackQuery") == []  # not a second time through the API
        await bot.post(button_update(5, "reg:removed-step"))
        second = (await fake.wait_for("sendMessage", 2))[1]
        assert "Nút này đã cũ" in second["text"]


async def test_long_texts_are_split_under_telegrams_limit(settings, brain, engine, fake):
    from bot.types import Reply

    async with Harness(settings, brain, engine, fake) as bot:
        await bot.channel.send("777", [Reply("Một câu rất dài. " * 600)])
        texts = [m["text"] for m in fake.sent("sendMessage")]
        assert len(texts) >= 3 and all(len(t) <= 4096 for t in texts)


async def test_a_429_waits_its_retry_after_and_the_message_still_arrives(settings, brain, engine, fake):
    async with Harness(settings, brain, engine, fake) as bot:
        fake.rate_limit_next["sendMessage"] = 1
        await bot.post(message_update(6, "ls bn"))
        sent = await fake.wait_for("sendMessage", 2, timeout=15)
        calls = [c for c in fake.calls if c.method == "sendMessage"]
        assert calls[1].at - calls[0].at >= 0.9  # waited retry_after before trying again
        assert "6,24%" in sent[1]["text"]


async def test_an_update_recorded_before_a_crash_is_answered_after_restart(settings, brain, engine, fake):
    first = Harness(settings, brain, engine, fake)
    # The update is recorded and acknowledged, then the process dies before handling it.
    await asyncio.to_thread(first.channel._record, "8", message_update(8, "vay toi da bao nhieu"))
    async with Harness(settings, brain, engine, fake):
        (sent,) = await fake.wait_for("sendMessage")
        assert "200 triệu" in sent["text"]


async def test_replies_stored_but_not_sent_before_a_crash_are_sent_after_restart(settings, brain, engine, fake):
    harness = Harness(settings, brain, engine, fake)
    update = message_update(9, "xin chao")
    inbox_id = await asyncio.to_thread(harness.channel._record, "9", update)
    from bot.channels.telegram import to_incoming

    # Processed (state and replies committed together), then the process died before sending.
    await harness.app.dispatcher.dispatch(to_incoming(update), inbox_id=inbox_id)
    async with Harness(settings, brain, engine, fake):
        greeting, menu = await fake.wait_for("sendMessage", 2)
        assert greeting["text"].startswith("Xin chào") and menu["reply_markup"]["inline_keyboard"]


async def test_healthz_reports_database_and_channel(settings, brain, engine, fake):
    async with Harness(settings, brain, engine, fake) as bot:
        async with aiohttp.ClientSession() as session, session.get(f"{bot.url}/healthz") as response:
            body = await response.json()
        assert response.status == 200 and body == {"database": "ok", "disk": "ok", "channels": {"telegram": "ok"}}


async def test_a_blocked_chat_is_recorded_as_done_not_retried_forever(settings, brain, engine, fake):
    fake.block_chats.add("555")
    async with Harness(settings, brain, engine, fake) as bot:
        await bot.post(message_update(10, "menu", chat_id=555))
        await fake.wait_for("sendMessage")
    async with Harness(settings, brain, engine, fake) as bot:
        await bot.channel.idle()  # the start-up's resume has run and finished
        assert len(fake.sent("sendMessage")) == 1  # not sent again after restart


async def test_a_message_telegram_rejects_is_recorded_as_done_not_retried_forever(settings, brain, engine, fake):
    fake.missing_chats.add("556")  # 400 "chat not found": retrying cannot help
    async with Harness(settings, brain, engine, fake) as bot:
        await bot.post(message_update(11, "menu", chat_id=556))
        await fake.wait_for("sendMessage")
        await asyncio.wait_for(bot.channel.idle(), 10)  # the chat's queue is done with it, not waiting to try again
        assert len(fake.sent("sendMessage")) == 1
    async with Harness(settings, brain, engine, fake) as bot:
        await bot.channel.idle()  # the start-up's resume has run and finished
        assert len(fake.sent("sendMessage")) == 1  # not sent again after restart


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def _start_bot(tmp_path, fake, port):
    """`python -m bot run` as a real process in webhook mode, pointed at the stand-in; waits for /healthz."""
    import sys
    import time

    from tests.test_cli import _env

    env = _env(tmp_path)  # the run's database: PostgreSQL when TEST_DATABASE_URL is set
    env.update({
        "TELEGRAM_BOT_TOKEN": fake.token, "TELEGRAM_MODE": "webhook",
        "TELEGRAM_WEBHOOK_SECRET": SECRET, "TELEGRAM_API_BASE_URL": fake.base_url,
        "PUBLIC_BASE_URL": "https://bot.example.vn", "HTTP_HOST": "127.0.0.1", "HTTP_PORT": str(port),
    })
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run", cwd=tmp_path, env=env,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )
    deadline = time.monotonic() + 90  # a loaded CI machine starts slowly
    async with aiohttp.ClientSession() as session:
        while True:
            try:
                async with session.get(f"http://127.0.0.1:{port}/healthz") as response:
                    if response.status == 200:
                        return proc
            except aiohttp.ClientError:
                pass
            assert time.monotonic() < deadline and proc.returncode is None, "the bot did not come up"
            await asyncio.sleep(0.1)


async def test_run_in_webhook_mode_answers_refuses_and_deduplicates(tmp_path, fake):
    """The acceptance check: `python -m bot run` as a real process, Telegram pointed at the stand-in."""
    import signal

    port = _free_port()
    proc = await _start_bot(tmp_path, fake, port)
    url = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession() as session:
            update = message_update(42, "vay toi da bao nhieu")
            headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
            async with session.post(f"{url}/telegram/webhook", json=update, headers=headers) as response:
                assert response.status == 200
            (answer,) = await fake.wait_for("sendMessage")
            assert "200 triệu" in answer["text"] and "Căn cứ:" in answer["text"]
            async with session.post(f"{url}/telegram/webhook", json=message_update(43, "xin chao"),
                                    headers={"X-Telegram-Bot-Api-Secret-Token": "wrong"}) as response:
                assert response.status in (401, 403)
            async with session.post(f"{url}/telegram/webhook", json=update, headers=headers) as response:
                assert response.status == 200
            # The same chat's next update is answered after anything before it (its send queue):
            # once its answer is in, a reply to the repeat would have been too.
            async with session.post(f"{url}/telegram/webhook", json=message_update(44, "ls bn"), headers=headers) as response:
                assert response.status == 200
            answers = await fake.wait_for("sendMessage", 2)
            assert len(answers) == 2 and "6,24%" in answers[1]["text"]
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
        stderr = (await asyncio.wait_for(proc.communicate(), 20))[1].decode()
    assert proc.returncode == 0, stderr[-2000:]
    assert fake.token.split(":")[1] not in stderr  # the token never reaches the logs


async def test_killed_right_after_acknowledging_the_update_is_answered_after_restart(tmp_path, fake):
    """SIGKILL while the update is being handled (the Bot API stalls): a new process answers it."""
    port = _free_port()
    fake.delays["sendMessage"] = 5
    proc = await _start_bot(tmp_path, fake, port)
    try:
        async with aiohttp.ClientSession() as session:
            headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
            async with session.post(f"http://127.0.0.1:{port}/telegram/webhook",
                                    json=message_update(50, "ls bn"), headers=headers) as response:
                assert response.status == 200
        await fake.wait_for("sendMessage")  # answered, but the send hangs: killed now
    finally:
        proc.kill()
        await proc.wait()
    fake.delays.clear()
    proc = await _start_bot(tmp_path, fake, port)
    try:
        answer = (await fake.wait_for("sendMessage", 2))[1]
        assert "6,24%" in answer["text"]
    finally:
        proc.kill()
        await proc.wait()


def inbox_rows(engine) -> int:
    from sqlalchemy import text as sql

    from storage.db import transaction

    with transaction(engine) as session:
        return session.exec(sql("SELECT count(*) FROM inbox")).one()[0]


async def test_refused_webhooks_record_nothing(settings, brain, engine, fake):
    async with Harness(settings, brain, engine, fake) as bot:
        assert await bot.post(message_update(60, "menu"), secret="wrong") == 403
        assert inbox_rows(engine) == 0


async def test_one_chats_updates_are_handled_in_arrival_order(settings, brain, engine, fake):
    """The first update stalls (slow Bot API); the second arrives meanwhile and must wait its turn."""
    async with Harness(settings, brain, engine, fake) as bot:
        fake.delay_once["sendMessage"] = 0.5
        assert await bot.post(message_update(61, "menu")) == 200
        await fake.wait_for("sendMessage")
        assert await bot.post(message_update(62, "1")) == 200
        first, second = await fake.wait_for("sendMessage", 2)
        assert first["text"].startswith("Bạn cần giúp gì")
        assert second["text"].startswith("Bạn cứ gõ câu hỏi")  # "1" meant the menu the first showed


async def test_stopping_lets_work_in_flight_finish(settings, brain, engine, fake):
    bot = Harness(settings, brain, engine, fake)
    await bot.__aenter__()
    fake.delay_once["sendMessage"] = 0.5
    await bot.post(message_update(63, "ls bn"))
    await fake.wait_for("sendMessage")
    await bot.__aexit__(None, None, None)  # stop while the answer is being sent
    from sqlalchemy import text as sql

    from storage.db import transaction

    with transaction(engine) as session:
        unsent = session.exec(sql("SELECT count(*) FROM inbox WHERE sent_at IS NULL")).one()[0]
    assert unsent == 0  # stop() waited for the send to finish and the update to be marked done


async def test_a_database_blip_gets_a_calm_reply_now_and_the_answer_later(settings, brain, engine, fake, monkeypatch):
    """The database is unavailable for longer than the dispatcher's retries: "thử lại sau" now;
    once it is back, the sweep answers the update (the person has not written since). Every wait
    is on a signal: the stand-in's arrivals and the channel going idle, never on time."""
    from sqlalchemy.exc import OperationalError

    from storage import repo

    real = repo.load_state
    down = {"on": True}

    def flaky(**kwargs):
        if down["on"]:
            raise OperationalError("SELECT", {}, Exception("server closed the connection"))
        return real(**kwargs)

    monkeypatch.setattr(repo, "load_state", flaky)
    async with Harness(settings, brain, engine, fake) as bot:
        bot.app.dispatcher.retry_delays = (0.01, 0.01)  # the retries run out quickly
        await bot.post(message_update(64, "ls bn"))
        (calm,) = await fake.wait_for("sendMessage")
        assert "thử lại sau" in calm["text"]
        await bot.channel.idle()  # the first attempt has finished (a sweep skips rows in flight)
        down["on"] = False
        await bot.channel.resume()  # the scheduler's sweep, once the database is back
        answer = (await fake.wait_for("sendMessage", 2))[1]
        assert "6,24%" in answer["text"]
        await bot.channel.idle()
        assert len(fake.sent("sendMessage")) == 2


async def test_a_dropped_connection_is_retried_and_the_person_just_gets_the_answer(settings, brain, engine, fake, monkeypatch):
    from sqlalchemy.exc import OperationalError

    from storage import repo

    real = repo.load_state
    failures = iter([True, True])

    def flaky(**kwargs):
        if next(failures, False):
            raise OperationalError("SELECT", {}, Exception("server closed the connection"))
        return real(**kwargs)

    monkeypatch.setattr(repo, "load_state", flaky)
    async with Harness(settings, brain, engine, fake) as bot:
        await bot.post(message_update(65, "ls bn"))
        (answer,) = await fake.wait_for("sendMessage")
        assert "6,24%" in answer["text"]


async def test_typing_is_shown_only_when_an_answer_is_slow(settings, brain, engine, fake, monkeypatch):
    async with Harness(settings, brain, engine, fake) as bot:
        real = bot.app.dispatcher.process

        def slow(msg, inbox_id=None):
            import time as clock

            clock.sleep(1.2)
            return real(msg, inbox_id)

        monkeypatch.setattr(bot.app.dispatcher, "process", slow)
        bot.app.dispatcher.in_thread = True  # as on PostgreSQL: a slow handler does not hold up the loop
        await bot.post(message_update(70, "ls bn"))
        await fake.wait_for("sendMessage")
        assert fake.sent("sendChatAction")[0]["action"] == "typing"


async def test_an_officer_on_telegram_verifies_and_the_registrant_gets_the_news_and_the_list_arrives_as_a_file(
    settings, brain, engine, fake
):
    from tests.registration_helpers import WIFE_ANSWERS, invite

    async with Harness(settings, brain, engine, fake) as bot:
        code = invite(bot.app)
        await bot.post(message_update(500, f"/canbo {code}", chat_id=900))
        await fake.wait_for("sendMessage", 2)
        # The registrant goes through the whole registration on Telegram, pressing real buttons.
        update = iter(range(600, 700))
        await bot.post(button_update(next(update), "reg:start", chat_id=901))
        await bot.post(button_update(next(update), "reg:who:relative", chat_id=901))
        for kind, value in WIFE_ANSWERS + [("press", "Đúng, gửi đăng ký")]:
            if kind == "type":
                await bot.post(message_update(next(update), value, chat_id=901))
                continue
            await bot.channel.idle()  # every earlier update answered: the last message's buttons are current
            last = [m for m in fake.sent("sendMessage") if str(m["chat_id"]) == "901"]
            markup = last[-1].get("reply_markup") if last else None
            markup = json.loads(markup) if isinstance(markup, str) else markup
            buttons = [b for row in markup["inline_keyboard"] for b in row] if markup else []
            match = [b for b in buttons if b["text"] == value or b["text"].startswith(value)]
            await bot.post(button_update(next(update), match[0]["callback_data"], chat_id=901))
        to_901 = lambda: [m["text"] for m in fake.sent("sendMessage") if str(m["chat_id"]) == "901"]
        assert await fake.wait_until(lambda: any("Mã đăng ký của bạn" in t for t in to_901()))
        from tests.registration_helpers import registrations

        [row] = registrations(bot.app)
        await bot.post(button_update(700, f"off:ok:{row.id}", chat_id=900))
        news = await fake.wait_until(lambda: any("đã xác minh" in t for t in to_901()))
        assert news, "the registrant was not told"
        await bot.post(button_update(701, "off:export:17035:2026-11", chat_id=900))
        (document,) = await fake.wait_for("sendDocument")
        assert str(document["chat_id"]) == "900"


def test_every_kind_of_telegram_message_is_read_from_its_json():
    from bot.channels.telegram import to_incoming
    from bot.types import Kind

    base = {"message_id": 1, "date": 1700000000, "chat": {"id": 5, "type": "private"},
            "from": {"id": 6, "is_bot": False, "first_name": "A"}}
    kinds = {"sticker": {"file_id": "x"}, "photo": [{"file_id": "x"}], "voice": {"file_id": "x"}, "document": {"file_id": "x"},
             "location": {"latitude": 1, "longitude": 2}}
    expected = {"sticker": Kind.STICKER, "photo": Kind.PHOTO, "voice": Kind.VOICE, "document": Kind.FILE, "location": Kind.OTHER}
    for field, value in kinds.items():
        assert to_incoming({"update_id": 1, "message": {**base, field: value}}).kind is expected[field]
    opened = to_incoming({"update_id": 2, "message": {**base, "text": "/start ABC123"}})
    assert (opened.kind, opened.payload, opened.chat_id, opened.user_id) == (Kind.OPEN, "ABC123", "5", "6")
    assert to_incoming({"update_id": 3, "message": {**base, "text": ""}}).kind is Kind.TEXT
    assert to_incoming({"update_id": 4, "edited_message": base}) is None
