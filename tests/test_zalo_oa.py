"""Zalo Official Account end to end against a stand-in Open API and OAuth server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
import time

import pytest
from pydantic import SecretStr
from sqlalchemy import text

from bot.channels.zalo_oa import ZaloOAChannel, signature
from bot.types import Reply
from standins.zalo_oa_api import FakeZaloOA
from storage import repo
from storage.db import transaction
from tests.channel_harness import ChannelHarness

pytestmark = pytest.mark.db


def text_event(msg_id: str, text_: str, user: str = "8841", *, timestamp: int | None = None) -> dict:
    return {
        "app_id": FakeZaloOA.APP_ID, "event_name": "user_send_text", "timestamp": str(timestamp or int(time.time() * 1000)),
        "sender": {"id": user}, "recipient": {"id": "oa-1"}, "message": {"text": text_, "msg_id": msg_id},
    }


class Harness(ChannelHarness):
    channel_class = ZaloOAChannel
    webhook_path = "/zalo-oa/webhook"

    def __init__(self, settings, brain, engine, fake) -> None:
        super().__init__(settings.model_copy(update={
            "zalo_oa_app_id": FakeZaloOA.APP_ID, "zalo_oa_secret_key": SecretStr(FakeZaloOA.SECRET_KEY),
            "zalo_oa_api_base_url": fake.base_url, "zalo_oa_oauth_base_url": fake.base_url,
            "zalo_oa_access_token": SecretStr("access-1"), "zalo_oa_refresh_token": SecretStr("refresh-1"),
        }), brain, engine)
        self.channel.backoff_seconds = (0.05, 0.1)

    async def post(self, event: dict, *, sign: bool = True, secret: str = FakeZaloOA.SECRET_KEY) -> int:
        raw = json.dumps(event).encode()
        headers = {"Content-Type": "application/json"}
        if sign:
            headers["X-ZEvent-Signature"] = "mac=" + signature(event["app_id"], raw, event["timestamp"], secret)
        return await self.post_webhook(headers=headers, data=raw)


@pytest.fixture
async def fake():
    api = await FakeZaloOA().start()
    yield api
    await api.stop()


async def test_a_signed_message_is_answered_with_oa_query_show_buttons(settings, brain, engine, fake):
    async with Harness(settings, brain, engine, fake) as bot:
        assert await bot.post(text_event("z1", "menu")) == 200
        (sent,) = await fake.wait_for("delivered")
        assert sent["recipient"] == {"user_id": "8841"}
        buttons = sent["message"]["attachment"]["payload"]["buttons"]
        assert buttons[0] == {"title": "Hỏi đáp chính sách", "type": "oa.query.show", "payload": "Hỏi đáp chính sách"}
        # Pressing the button sends its label back as a message: the core resolves it like typing.
        await bot.post(text_event("z2", "Hỏi đáp chính sách"))
        second = (await fake.wait_for("delivered", 2))[1]
        assert second["message"]["text"].startswith("Bạn cứ gõ câu hỏi")


@pytest.mark.parametrize("case", ["no signature", "wrong secret", "stale timestamp", "other app"])
async def test_unverified_or_stale_events_are_refused_and_not_processed(settings, brain, engine, fake, case):
    event = text_event("z3", "ls bn", timestamp=int(time.time() * 1000) - 10 * 60 * 1000 if case == "stale timestamp" else None)
    if case == "other app":
        event["app_id"] = "999"
    async with Harness(settings, brain, engine, fake) as bot:
        status = await bot.post(event, sign=case != "no signature", secret="wrong" if case == "wrong secret" else FakeZaloOA.SECRET_KEY)
        assert status == 403
        await bot.channel.idle()
        assert fake.sent("message") == []


async def test_the_same_msg_id_is_answered_once(settings, brain, engine, fake):
    async with Harness(settings, brain, engine, fake) as bot:
        for _ in range(3):
            assert await bot.post(text_event("z4", "ls bn")) == 200
        await fake.wait_for("delivered")
        await bot.channel.idle()
        assert len(fake.sent("delivered")) == 1 and "6,24%" in fake.sent("delivered")[0]["message"]["text"]


async def test_an_expired_token_under_ten_concurrent_sends_is_refreshed_exactly_once(settings, brain, engine, fake):
    async with Harness(settings, brain, engine, fake) as bot:
        fake.expire_access_token()
        await asyncio.gather(*(bot.channel.send(f"user-{i}", [Reply(f"tin {i}")]) for i in range(10)))
        assert fake.refreshes == 1
        assert len(fake.sent("delivered")) == 10
        with transaction(bot.app.engine) as session:
            stored = repo.load_token(session=session, name=bot.channel.token_name)
            raw = session.exec(text("SELECT access_token, refresh_token FROM oauth_tokens")).one()
        # The new pair is stored, encrypted, before use.
        assert bot.app.dispatcher.cipher.decrypt(stored.refresh_token) == fake.refresh_token
        assert fake.refresh_token not in raw[1] and fake.access_token not in raw[0]
    # After a restart the stored pair is used, not the spent one from the settings.
    async with Harness(settings, brain, engine, fake) as bot:
        await bot.channel.send("user-x", [Reply("lại")])
        assert fake.refreshes == 1


async def test_outside_the_window_the_person_is_marked_unreachable_and_not_retried(settings, brain, engine, fake):
    fake.errors_next = [-230]
    async with Harness(settings, brain, engine, fake) as bot:
        await bot.post(text_event("z5", "menu", user="7001"))
        await fake.wait_for("message")
        await bot.channel.idle()
        with transaction(bot.app.engine) as session:
            contact = repo.get_contact(session=session, channel="zalo_oa", chat_id="7001")
        assert contact.unreachable_since is not None and "7-day" in contact.reason
    async with Harness(settings, brain, engine, fake) as bot:
        await bot.channel.idle()
        assert len(fake.sent("message")) == 1  # given up, not re-sent after restart


async def test_rate_limits_back_off_and_then_deliver(settings, brain, engine, fake):
    fake.errors_next = [-32, -211]
    async with Harness(settings, brain, engine, fake) as bot:
        await bot.channel.send("u9", [Reply("xin chào")])
        assert len(fake.sent("delivered")) == 1 and len(fake.sent("message")) == 3


async def test_a_revoked_refresh_token_does_not_start_a_storm(settings, brain, engine, fake):
    async with Harness(settings, brain, engine, fake) as bot:
        fake.expire_access_token()
        fake.refresh_token = "revoked-by-zalo"
        results = await asyncio.gather(*(bot.channel.send(f"u{i}", [Reply("x")]) for i in range(10)), return_exceptions=True)
        assert all(isinstance(r, Exception) for r in results)
        assert len(fake.sent("oauth")) == 1  # one attempt, then a cool-down
        assert not bot.channel.healthy  # /healthz shows it


async def test_the_window_restarts_only_for_new_events(settings, brain, engine, fake):
    async with Harness(settings, brain, engine, fake) as bot:
        await bot.post(text_event("z9", "menu", user="9001"))
        await fake.wait_for("delivered")
        with transaction(bot.app.engine) as session:
            first = repo.get_contact(session=session, channel="zalo_oa", chat_id="9001").last_inbound_at
        await bot.post(text_event("z9", "menu", user="9001"))  # the same event again
        with transaction(bot.app.engine) as session:
            again = repo.get_contact(session=session, channel="zalo_oa", chat_id="9001").last_inbound_at
        assert first == again


async def test_new_tokens_in_the_settings_are_used_after_re_authorising(settings, brain, engine, fake):
    async with Harness(settings, brain, engine, fake) as bot:
        fake.expire_access_token()
        await bot.channel.send("u1", [Reply("x")])  # refreshed and stored
    # The OA was re-authorised: new tokens in the settings win over the stored pair.
    fake.access_token, fake.refresh_token = "fresh-access", "fresh-refresh"
    harness = Harness(settings, brain, engine, fake)
    harness.channel.settings = harness.settings = harness.settings.model_copy(update={
        "zalo_oa_access_token": SecretStr("fresh-access"), "zalo_oa_refresh_token": SecretStr("fresh-refresh")})
    harness.channel = ZaloOAChannel(harness.settings, harness.app)
    async with harness as bot:
        await bot.channel.send("u2", [Reply("y")])
        assert fake.sent("delivered")[-1]["recipient"] == {"user_id": "u2"}


async def test_two_workers_on_postgresql_refresh_the_single_use_token_once(settings, brain, database_url, fake):
    """Two processes' worth of channels, each with its own engine, on one PostgreSQL database."""
    url, schema = database_url
    if schema is None:
        pytest.skip("several workers need PostgreSQL (its advisory lock); SQLite is single-process")
    from storage.db import make_engine

    engines = [make_engine(url, schema=schema) for _ in range(2)]
    workers = [Harness(settings, brain, e, fake) for e in engines]
    try:
        for worker in workers:
            await worker.__aenter__()
        fake.expire_access_token()
        await asyncio.gather(*(w.channel.send(f"u{i}-{n}", [Reply("x")]) for n, w in enumerate(workers) for i in range(5)))
        assert fake.refreshes == 1 and len(fake.sent("delivered")) == 10
    finally:
        for worker in workers:
            await worker.__aexit__(None, None, None)
        for e in engines:
            e.dispose()


async def test_a_notice_to_someone_silent_for_over_a_week_is_recorded_undeliverable_without_calling_zalo(settings, brain, engine, fake):
    from datetime import timedelta

    from bot.channels.inbox import PermanentSendError
    from storage.models import utcnow

    async with Harness(settings, brain, engine, fake) as bot:
        with transaction(bot.app.engine) as session:
            repo.contact_wrote(session=session, channel="zalo_oa", chat_id="7001", now=utcnow() - timedelta(days=8))
            repo.contact_wrote(session=session, channel="zalo_oa", chat_id="7002", now=utcnow() - timedelta(days=2))
        before = len(fake.sent("delivered"))
        with pytest.raises(PermanentSendError):
            await bot.channel.send("7001", [Reply("Hạn lập danh sách")])
        assert len(fake.sent("delivered")) == before
        await bot.channel.send("7002", [Reply("Hạn lập danh sách")])
        assert len(fake.sent("delivered")) == before + 1
