"""Bad input over real HTTP to the real aiohttp app, on all three webhooks: never a 500, never a
traceback in the log; a 400 for a body that cannot be an update, a 403 for one that is not
authentic, and a one-line warning, rate-limited. Zalo OA checks the signature before parsing.
Forged button data gets the stale-button reply."""

from __future__ import annotations

import json
import logging
import time

import pytest

from bot.channels.wire import RefusalLog
from bot.channels.zalo_oa import signature
from standins.zalo_oa_api import FakeZaloOA
from tests.registration_helpers import invite
from tests.security.wire import raw_post, tracebacks_or_errors
from tests.test_telegram import SECRET as TELEGRAM_SECRET, Harness as TelegramHarness, button_update, message_update
from tests.test_zalo_bot import SECRET as ZALO_BOT_SECRET, Harness as ZaloBotHarness, text_event as bot_event
from tests.test_zalo_oa import Harness as ZaloOAHarness, text_event as oa_event

pytestmark = pytest.mark.db
JSON = (b"Content-Type", b"application/json")


def nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


def deep_update(depth: int) -> bytes:
    """A valid Telegram update with a field nested `depth` levels (the object itself is level 1)."""
    return b'{"update_id": 9, "message": {"message_id": 9, "date": 1, "text": "hi", "chat": {"id": 7, "type": "private"}}, "x": ' \
        + nested(depth - 1) + b"}"


def dumps(data: dict) -> bytes:
    return json.dumps(data).encode()


def telegram_with(**changes) -> bytes:
    update = message_update(30, "xin chào")
    for path, value in changes.items():
        node = update
        *parents, leaf = path.split("__")
        for key in parents:
            node = node[key]
        node[leaf] = value
    return dumps(update)


def zalo_bot_with(**changes) -> bytes:
    event = bot_event("m30", "xin chào")
    for path, value in changes.items():
        node = event
        *parents, leaf = path.split("__")
        for key in parents:
            node = node[key]
        node[leaf] = value
    return dumps(event)


GOOD_TG = (b"X-Telegram-Bot-Api-Secret-Token", TELEGRAM_SECRET.encode())
GOOD_ZB = (b"X-Bot-Api-Secret-Token", ZALO_BOT_SECRET.encode())

# (id, headers, body, status): the secret is right unless the case is about the secret.
TELEGRAM_CASES = [
    ("no-secret", [JSON], telegram_with(), 403),
    ("0xff-secret", [JSON, (b"X-Telegram-Bot-Api-Secret-Token", b"\xff")], telegram_with(), 403),
    ("0xff-in-secret", [JSON, (b"X-Telegram-Bot-Api-Secret-Token", TELEGRAM_SECRET.encode() + b"\xff")], telegram_with(), 403),
    ("long-0xff-secret", [JSON, (b"X-Telegram-Bot-Api-Secret-Token", b"\xfe\xff" * 200)], nested(100_000), 403),
    ("not-json", [JSON, GOOD_TG], b"update_id=1", 400),
    ("not-utf8", [JSON, GOOD_TG], b'{"update_id": 1, "x": "\xff\xfe"}', 400),
    ("empty-body", [JSON, GOOD_TG], b"", 400),
    ("a-list", [JSON, GOOD_TG], b"[1, 2]", 400),
    ("null", [JSON, GOOD_TG], b"null", 400),
    ("nested-1000", [JSON, GOOD_TG], deep_update(1000), 400),
    ("nested-100000", [JSON, GOOD_TG], nested(100_000), 400),
    ("update_id-string", [JSON, GOOD_TG], telegram_with(update_id="abc"), 400),
    ("update_id-huge", [JSON, GOOD_TG], telegram_with(update_id=10**30), 400),
    ("update_id-bool", [JSON, GOOD_TG], telegram_with(update_id=True), 400),
    ("update_id-infinity", [JSON, GOOD_TG], telegram_with().replace(b'"update_id": 30', b'"update_id": 1e400'), 400),
    ("update_id-nan", [JSON, GOOD_TG], telegram_with().replace(b'"update_id": 30', b'"update_id": NaN'), 400),
    ("update_id-missing", [JSON, GOOD_TG], b'{"message": {}}', 400),
    ("message-string", [JSON, GOOD_TG], telegram_with(message="hi"), 400),
    ("chat-list", [JSON, GOOD_TG], telegram_with(message__chat=[1]), 400),
    ("chat-id-object", [JSON, GOOD_TG], telegram_with(message__chat={"id": {"a": 1}, "type": "private"}), 400),
    ("chat-id-huge", [JSON, GOOD_TG], telegram_with(message__chat={"id": 10**40, "type": "private"}), 400),
    ("text-number", [JSON, GOOD_TG], telegram_with(message__text=12), 400),
    ("from-string", [JSON, GOOD_TG], telegram_with(message__from="me"), 400),
    ("callback-data-number", [JSON, GOOD_TG], dumps({**button_update(31, "menu:faq"), "callback_query": {
        **button_update(31, "menu:faq")["callback_query"], "data": 5}}), 400),
    ("callback-without-from", [JSON, GOOD_TG], dumps({"update_id": 32, "callback_query": {"id": "q", "data": "menu:faq"}}), 400),
]

ZALO_BOT_CASES = [
    ("no-secret", [JSON], zalo_bot_with(), 403),
    ("0xff-secret", [JSON, (b"X-Bot-Api-Secret-Token", b"\xff\xff\xff\xff\xff\xff\xff\xff")], zalo_bot_with(), 403),
    ("not-json", [JSON, GOOD_ZB], b"{", 400),
    ("not-utf8", [JSON, GOOD_ZB], b'"\xff"', 400),
    ("a-list", [JSON, GOOD_ZB], b"[]", 400),
    ("nested-1000", [JSON, GOOD_ZB], b'{"event_name": "message.text.received", "message": ' + nested(999) + b"}", 400),
    ("nested-100000", [JSON, GOOD_ZB], nested(100_000), 400),
    ("message-string", [JSON, GOOD_ZB], zalo_bot_with(message="x"), 400),
    ("from-list", [JSON, GOOD_ZB], zalo_bot_with(message__from=[]), 400),
    ("chat-id-object", [JSON, GOOD_ZB], zalo_bot_with(message__chat={"id": {}}), 400),
    ("chat-id-bool", [JSON, GOOD_ZB], zalo_bot_with(message__chat={"id": True}), 400),
    ("message_id-list", [JSON, GOOD_ZB], zalo_bot_with(message__message_id=[1]), 400),
    ("message_id-huge", [JSON, GOOD_ZB], zalo_bot_with(message__message_id=10**30), 400),
    ("text-number", [JSON, GOOD_ZB], zalo_bot_with(message__text=5), 400),
    ("event_name-number", [JSON, GOOD_ZB], zalo_bot_with(event_name=7), 400),
    ("wrapped-wrong", [JSON, GOOD_ZB], dumps({"ok": True, "result": {"event_name": "message.text.received", "message": 3}}), 400),
]


def oa_signed(raw: bytes, timestamp: str) -> list[tuple[bytes, bytes]]:
    return [JSON, (b"X-ZEvent-Signature", ("mac=" + signature(FakeZaloOA.APP_ID, raw, timestamp, FakeZaloOA.SECRET_KEY)).encode())]


def oa_case(name: str, raw_for, status: int, *, sign: bool = True, headers=None):
    """raw_for(timestamp) -> body; signed with that timestamp unless told otherwise."""
    return (name, raw_for, sign, headers, status)


def _oa_event(**changes) -> callable:
    def body(timestamp: str) -> bytes:
        event = oa_event("z30", "xin chào", timestamp=int(timestamp))
        event.update(changes)
        return dumps(event)
    return body


ZALO_OA_CASES = [
    # Unsigned: refused before the body is parsed, whatever it holds.
    oa_case("unsigned-nested-100000", lambda t: b'{"timestamp": "' + t.encode() + b'", "x": ' + nested(100_000) + b"}", 403, sign=False),
    oa_case("unsigned-not-json", lambda t: b"\xff\xfe{{{", 403, sign=False),
    oa_case("0xff-signature", _oa_event(), 403, sign=False, headers=[JSON, (b"X-ZEvent-Signature", b"mac=\xff\xff")]),
    oa_case("signature-of-another-body", _oa_event(), 403, sign=False,
            headers=oa_signed(b'{"timestamp": "1"}', "1")),
    oa_case("no-timestamp", lambda t: b'{"event_name": "user_send_text"}', 403),
    # Signed, so authentic, but not an event the bot can read.
    oa_case("signed-nested-1000", lambda t: b'{"timestamp": "' + t.encode() + b'", "app_id": "' + FakeZaloOA.APP_ID.encode()
            + b'", "x": ' + nested(999) + b"}", 400),
    oa_case("signed-not-json", lambda t: b'{"timestamp": "' + t.encode() + b'", oops', 400),
    oa_case("signed-sender-string", _oa_event(sender="8841"), 400),
    oa_case("signed-message-list", _oa_event(message=["hi"]), 400),
    oa_case("signed-text-list", _oa_event(message={"text": ["hi"], "msg_id": "z31"}), 400),
    oa_case("signed-msg_id-object", _oa_event(message={"text": "hi", "msg_id": {}}), 400),
    oa_case("signed-event_name-number", _oa_event(event_name=1), 400),
    # The signature was made with a timestamp the event does not carry.
    oa_case("signed-other-timestamp", lambda t: b'{"x": {"timestamp": "' + t.encode() + b'"}, "timestamp": "1", "app_id": "'
            + FakeZaloOA.APP_ID.encode() + b'"}', 400),
]


async def _check(bot, path: str, headers, body: bytes, status: int, caplog, fake, method: str) -> None:
    caplog.clear()
    assert await raw_post(bot.url, path, headers, body) == status
    assert tracebacks_or_errors(caplog.records) == []
    refusals = [r for r in caplog.records if "refused a request" in r.getMessage()]
    assert len(refusals) <= 1 and all("\n" not in r.getMessage() for r in refusals)
    assert fake.sent(method) == []  # nothing was answered


@pytest.fixture(autouse=True)
def fresh_refusal_log(monkeypatch):
    """Each case sees its own warning (the rate limit is tested on its own below)."""
    import bot.channels.inbox as inbox
    import bot.channels.wire as wire

    log = RefusalLog()
    for module in (wire, inbox):
        monkeypatch.setattr(module, "refusals", log)
    for name in ("bot.channels.telegram", "bot.channels.zalo_bot", "bot.channels.zalo_oa"):
        module = __import__(name, fromlist=["x"])
        if hasattr(module, "refusals"):
            monkeypatch.setattr(module, "refusals", log)




@pytest.fixture
async def zalo_oa_api():
    api = await FakeZaloOA().start()
    yield api
    await api.stop()


@pytest.mark.parametrize("name, headers, body, status", TELEGRAM_CASES, ids=[c[0] for c in TELEGRAM_CASES])
async def test_telegram_bad_requests_get_a_4xx_and_no_traceback(settings, brain, engine, telegram_api, caplog, name, headers, body, status):
    caplog.set_level(logging.INFO)
    async with TelegramHarness(settings, brain, engine, telegram_api) as bot:
        await _check(bot, "/telegram/webhook", headers, body, status, caplog, telegram_api, "sendMessage")
        refusal = [r.getMessage() for r in caplog.records if "refused a request" in r.getMessage()]
        assert refusal and refusal[0].startswith(f"telegram webhook refused a request ({status})")


@pytest.mark.parametrize("name, headers, body, status", ZALO_BOT_CASES, ids=[c[0] for c in ZALO_BOT_CASES])
async def test_zalo_bot_bad_requests_get_a_4xx_and_no_traceback(settings, brain, engine, zalo_bot_api, caplog, name, headers, body, status):
    caplog.set_level(logging.INFO)
    async with ZaloBotHarness(settings, brain, engine, zalo_bot_api) as bot:
        await _check(bot, "/zalo-bot/webhook", headers, body, status, caplog, zalo_bot_api, "sendMessage")


@pytest.mark.parametrize("name, raw_for, sign, headers, status", ZALO_OA_CASES, ids=[c[0] for c in ZALO_OA_CASES])
async def test_zalo_oa_bad_requests_get_a_4xx_and_no_traceback(settings, brain, engine, zalo_oa_api, caplog, name, raw_for, sign,
                                                               headers, status):
    caplog.set_level(logging.INFO)
    timestamp = str(int(time.time() * 1000))
    body = raw_for(timestamp)
    headers = headers or (oa_signed(body, timestamp) if sign else [JSON])
    async with ZaloOAHarness(settings, brain, engine, zalo_oa_api) as bot:
        await _check(bot, "/zalo-oa/webhook", headers, body, status, caplog, zalo_oa_api, "message")


async def test_zalo_oa_does_not_parse_an_unsigned_body(settings, brain, engine, zalo_oa_api, monkeypatch):
    """The signature comes first: an unsigned request never reaches the JSON parser."""
    import bot.channels.zalo_oa as zalo_oa

    parsed = []
    real = zalo_oa.load_object
    monkeypatch.setattr(zalo_oa, "load_object", lambda raw: parsed.append(raw) or real(raw))
    async with ZaloOAHarness(settings, brain, engine, zalo_oa_api) as bot:
        event = dumps(oa_event("z40", "xin chào"))
        assert await raw_post(bot.url, "/zalo-oa/webhook", [JSON], event) == 403
        assert parsed == []
        assert await bot.post(oa_event("z41", "xin chào")) == 200
        assert len(parsed) == 1


async def test_lone_surrogates_are_answered_on_every_channel(settings, brain, engine, telegram_api, zalo_bot_api, zalo_oa_api, caplog):
    """"\\ud800" with no pair cannot be stored or sent as UTF-8: it becomes U+FFFD and the
    message is answered like any other."""
    async with TelegramHarness(settings, brain, engine, telegram_api) as bot:
        body = telegram_with(message__text="lai suat \ud800 bao nhieu")
        assert b"\\ud800" in body
        assert await raw_post(bot.url, "/telegram/webhook", [JSON, GOOD_TG], body) == 200
        (sent,) = await telegram_api.wait_for("sendMessage")
        assert "6,24%" in sent["text"]
    async with ZaloBotHarness(settings, brain, engine, zalo_bot_api) as bot:
        body = zalo_bot_with(message__text="\udfff menu")
        assert await raw_post(bot.url, "/zalo-bot/webhook", [JSON, GOOD_ZB], body) == 200
        await zalo_bot_api.wait_for("sendMessage")
    async with ZaloOAHarness(settings, brain, engine, zalo_oa_api) as bot:
        timestamp = str(int(time.time() * 1000))
        body = dumps(oa_event("z42", "menu \ud83d", timestamp=int(timestamp)) | {"\ud800key": 1})
        assert await raw_post(bot.url, "/zalo-oa/webhook", oa_signed(body, timestamp), body) == 200
        await zalo_oa_api.wait_for("delivered")
    assert tracebacks_or_errors(caplog.records) == []


async def test_a_flood_of_bad_requests_logs_one_line_a_minute(settings, brain, engine, telegram_api, caplog, monkeypatch):
    import bot.channels.wire as wire

    log = RefusalLog(every=60.0, clock=lambda: now[0])
    now = [1000.0]
    monkeypatch.setattr(wire, "refusals", log)
    caplog.set_level(logging.INFO)
    async with TelegramHarness(settings, brain, engine, telegram_api) as bot:
        for _ in range(20):
            assert await raw_post(bot.url, "/telegram/webhook", [JSON, GOOD_TG], nested(5000)) == 400
        lines = [r.getMessage() for r in caplog.records if "refused a request" in r.getMessage()]
        assert lines == ["telegram webhook refused a request (400): nested too deeply"]
        now[0] += 61
        assert await raw_post(bot.url, "/telegram/webhook", [JSON, GOOD_TG], nested(5000)) == 400
        lines = [r.getMessage() for r in caplog.records if "refused a request" in r.getMessage()]
        assert lines[-1] == "telegram webhook refused a request (400): nested too deeply (19 more like it in the last 60s)"


FORGED = ["off:list:17035:1-2", "off:open:99999999999999999999999", "off:ok:" + "9" * 5000, "off:list:17035:--1",
          "off:q:123456789012345678901234567890", "reg:amend:99999999999999999999", "rem:done:monthly_list:not-a-date:1",
          "rem:snooze:monthly_list:2026-99-99:1", "zz:unknown:prefix", "\u0000:\u0000"]


@pytest.mark.parametrize("data", FORGED, ids=range(len(FORGED)))
async def test_forged_button_data_from_an_officer_gets_the_stale_button_reply(settings, brain, engine, telegram_api, caplog, data):
    async with TelegramHarness(settings, brain, engine, telegram_api) as bot:
        assert await bot.post(message_update(50, f"/canbo {invite(bot.app)}", chat_id=901)) == 200
        await wait_text(telegram_api, "Đã kích hoạt tài khoản cán bộ")
        await wait_text(telegram_api, "Việc của cán bộ")
        before = len(telegram_api.sent("sendMessage"))
        caplog.clear()
        assert await bot.post(button_update(51, data[:64], chat_id=901)) == 200
        stale = await wait_text(telegram_api, "Nút này đã cũ")
        assert len(telegram_api.sent("sendMessage")) == before + 1 and "thử lại sau" not in stale
        assert tracebacks_or_errors(caplog.records) == []
        lines = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
        assert all("\n" not in line and data[8:40] not in line for line in lines if len(data) > 20)
        # The officer's chat still works.
        assert await bot.post(message_update(52, "/canbo", chat_id=901)) == 200
        await wait_text(telegram_api, "Việc của cán bộ", after=before + 1)


async def wait_text(api, needle: str, *, after: int = 0, timeout: float = 10.0) -> str:
    """The first message sent (from index `after`) that contains `needle`; waits, bounded."""
    found = lambda: [m["text"] for m in api.sent("sendMessage")[after:] if needle in m["text"]]
    if not await api.wait_until(found, timeout):  # woken by each call the stand-in records
        raise AssertionError(f"no message with {needle!r}: {[m['text'][:60] for m in api.sent('sendMessage')]}")
    return found()[0]
