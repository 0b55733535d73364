"""Zalo Bot Platform end to end against a stand-in API on 127.0.0.1."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from bot.channels.zalo_bot import ZaloBotChannel
from standins.zalo_bot_api import FakeZaloBotAPI
from tests.channel_harness import ChannelHarness

SECRET = "zalo-secret-123"
pytestmark = pytest.mark.db


def text_event(message_id: str, text: str, chat_id: str = "u-100") -> dict:
    return {
        "event_name": "message.text.received",
        "message": {"message_id": message_id, "date": 1700000000000, "text": text,
                    "from": {"id": chat_id, "display_name": "Lan", "is_bot": False},
                    "chat": {"id": chat_id, "chat_type": "PRIVATE"}},
    }


class Harness(ChannelHarness):
    channel_class = ZaloBotChannel
    webhook_path = "/zalo-bot/webhook"

    def __init__(self, settings, brain, engine, fake, *, webhook: bool = True) -> None:
        super().__init__(settings.model_copy(update={
            "zalo_bot_token": SecretStr(fake.token), "zalo_bot_api_base_url": fake.base_url,
            "zalo_bot_webhook_secret": SecretStr(SECRET) if webhook else None,
            "public_base_url": "https://bot.example.vn" if webhook else "",
        }), brain, engine)

    async def post(self, body: dict, secret: str | None = SECRET) -> int:
        headers = {"X-Bot-Api-Secret-Token": secret} if secret is not None else {}
        return await self.post_webhook(headers=headers, json_body=body)


@pytest.fixture
async def fake():
    api = await FakeZaloBotAPI().start()
    yield api
    await api.stop()


@pytest.mark.parametrize("wrapped", [True, False])
async def test_webhook_answer_with_buttons_as_numbered_lines(settings, brain, engine, fake, wrapped):
    async with Harness(settings, brain, engine, fake) as bot:
        assert fake.sent("setWebhook")[0] == {"url": "https://bot.example.vn/zalo-bot/webhook", "secret_token": SECRET}
        event = text_event("m1", "menu")
        assert await bot.post({"ok": True, "result": event} if wrapped else event) == 200
        (sent,) = await fake.wait_for("sendMessage")
        assert sent["chat_id"] == "u-100"
        assert "\n1. Hỏi đáp chính sách\n2. Kiểm tra điều kiện vay" in sent["text"]
        # Typing the number answers like the button would.
        await bot.post(text_event("m2", "1"))
        second = (await fake.wait_for("sendMessage", 2))[1]
        assert second["text"].startswith("Bạn cứ gõ câu hỏi")


async def test_wrong_secret_is_refused_and_a_duplicate_answered_once(settings, brain, engine, fake):
    async with Harness(settings, brain, engine, fake) as bot:
        assert await bot.post(text_event("m3", "ls bn"), secret="nope") == 403
        assert await bot.post(text_event("m3", "ls bn"), secret=None) == 403
        await bot.channel.idle()
        assert fake.sent("sendMessage") == []
        assert await bot.post(text_event("m4", "ls bn")) == 200
        assert await bot.post(text_event("m4", "ls bn")) == 200
        await fake.wait_for("sendMessage")
        await bot.channel.idle()
        assert len(fake.sent("sendMessage")) == 1 and "6,24%" in fake.sent("sendMessage")[0]["text"]


async def test_long_texts_are_split_under_2000_characters(settings, brain, engine, fake):
    from bot.types import Reply

    async with Harness(settings, brain, engine, fake) as bot:
        await bot.channel.send("u-1", [Reply("Một câu khá dài. " * 400)])
        texts = [m["text"] for m in fake.sent("sendMessage")]
        assert len(texts) >= 3 and all(len(t) <= 2000 for t in texts)


async def test_polling_mode_uses_get_updates(settings, brain, engine, fake):
    fake.queued_updates.append(text_event("m5", "vay toi da bao nhieu"))
    async with Harness(settings, brain, engine, fake, webhook=False):
        (sent,) = await fake.wait_for("sendMessage")
        assert "200 triệu" in sent["text"]
        assert fake.sent("deleteWebhook")


async def test_a_failed_send_is_retried_by_the_next_sweep_and_sent_once(settings, brain, engine, fake):
    fake.fail_sends = 1
    async with Harness(settings, brain, engine, fake) as bot:
        await bot.post(text_event("m6", "ls bn"))
        await fake.wait_for("sendMessage")  # the failed attempt
        await bot.channel.idle()
        await bot.channel.resume()  # what the scheduler does every minute
        sent = await fake.wait_for("sendMessage", 2)
        assert "6,24%" in sent[1]["text"]
        await bot.channel.resume()
        await bot.channel.idle()
        assert len(fake.sent("sendMessage")) == 2  # delivered once, not again


async def test_updates_of_one_chat_are_handled_in_order(settings, brain, engine, fake):
    async with Harness(settings, brain, engine, fake) as bot:
        # The second arrives while the first is still being handled; "1" refers to the menu the first shows.
        assert await bot.post(text_event("m7", "menu")) == 200
        assert await bot.post(text_event("m8", "1")) == 200
        first, second = await fake.wait_for("sendMessage", 2)
        assert "1. Hỏi đáp chính sách" in first["text"] and second["text"].startswith("Bạn cứ gõ câu hỏi")
