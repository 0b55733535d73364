"""Private chats only: a Telegram group, supergroup or channel, or a Zalo Bot group, gets one
"Vui lòng nhắn riêng cho trợ lý" (once a day, however much it writes) and nothing else: no
binding, no personal data, no state, nothing recorded. Through the real channel code and the
stand-in APIs, in the platforms' wire format."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text

from bot.channels.inbox import PermanentSendError
from bot.types import Reply
from storage.db import transaction
from tests.registration_helpers import invite
from tests.test_telegram import Harness as TelegramHarness, message_update
from tests.test_zalo_bot import Harness as ZaloBotHarness, text_event

pytestmark = pytest.mark.db
NOTICE = "Vui lòng nhắn riêng cho trợ lý"
GROUP = -1001234567890


def group_message(update_id: int, value: str, *, chat_type: str = "supergroup", chat_id: int = GROUP, user: int = 777) -> dict:
    return {"update_id": update_id, "message": {
        "message_id": update_id, "date": 1700000000, "text": value, "chat": {"id": chat_id, "type": chat_type, "title": "Xóm"},
        "from": {"id": user, "is_bot": False, "first_name": "Lan"}}}


def group_press(update_id: int, data: str, *, chat_id: int = GROUP, user: int = 777) -> dict:
    return {"update_id": update_id, "callback_query": {
        "id": f"cq{update_id}", "chat_instance": "1", "data": data, "from": {"id": user, "is_bot": False, "first_name": "Lan"},
        "message": {"message_id": 1, "date": 1700000000, "text": "x", "chat": {"id": chat_id, "type": "supergroup"}}}}


def channel_post(update_id: int, value: str, chat_id: int = -1009876543210) -> dict:
    return {"update_id": update_id, "channel_post": {
        "message_id": update_id, "date": 1700000000, "text": value, "chat": {"id": chat_id, "type": "channel", "title": "Tin xã"}}}


def stored(app) -> dict[str, int]:
    """What the database holds about chats: inbox rows, conversations, officers."""
    with transaction(app.engine) as session:
        return {table: session.exec(text(f"SELECT count(*) FROM {table}")).one()[0]
                for table in ("inbox", "conversations", "officers", "processed_updates")}


async def settled(channel) -> None:
    """Until the channel's background work (notices, answers) is done: a signal, not a sleep."""
    while channel.tasks:
        await asyncio.gather(*list(channel.tasks), return_exceptions=True)




@pytest.mark.parametrize("update", [
    group_message(1, "lãi suất bao nhiêu", chat_type="group", chat_id=-4567),
    group_message(1, "lãi suất bao nhiêu", chat_type="supergroup"),
    group_message(1, "/start"),
    group_press(1, "menu:faq"),
    channel_post(1, "menu"),
], ids=["group", "supergroup", "start-in-a-group", "button-in-a-group", "channel-post"])
async def test_a_group_gets_one_notice_and_nothing_is_stored(settings, brain, engine, telegram_api, update):
    async with TelegramHarness(settings, brain, engine, telegram_api) as bot:
        assert await bot.post(update) == 200
        await settled(bot.channel)
        (sent,) = telegram_api.sent("sendMessage")
        assert sent["text"] == NOTICE and "reply_markup" not in sent
        assert stored(bot.app) == {"inbox": 0, "conversations": 0, "officers": 0, "processed_updates": 0}


async def test_an_invite_posted_in_a_group_binds_nobody_and_still_works_in_private(settings, brain, engine, telegram_api):
    async with TelegramHarness(settings, brain, engine, telegram_api) as bot:
        code = invite(bot.app)
        assert await bot.post(group_message(1, f"/canbo {code}")) == 200
        assert await bot.post(group_message(2, f"/start {code}", user=778)) == 200
        await settled(bot.channel)
        assert [m["text"] for m in telegram_api.sent("sendMessage")] == [NOTICE]
        assert stored(bot.app)["officers"] == 0
        # The code was not used up: the officer redeems it in a private chat.
        assert await bot.post(message_update(3, f"/canbo {code}", chat_id=777)) == 200
        await telegram_api.wait_for("sendMessage", 2)
        assert "Đã kích hoạt tài khoản cán bộ" in telegram_api.sent("sendMessage")[1]["text"]
        assert telegram_api.sent("sendMessage")[1]["chat_id"] == 777


async def test_a_flood_in_a_group_gets_one_notice_and_other_chats_are_answered(settings, brain, engine, telegram_api):
    async with TelegramHarness(settings, brain, engine, telegram_api) as bot:
        updates = [group_message(i, f"tin {i}", user=700 + i % 7) for i in range(1, 41)]
        updates += [group_press(i, "reg:start") for i in range(41, 51)]
        statuses = await asyncio.gather(*(bot.post(u) for u in updates))
        assert set(statuses) == {200}
        assert await bot.post(message_update(60, "lai suat vay bao nhieu", chat_id=555)) == 200
        await telegram_api.wait_for("sendMessage", 2)
        await settled(bot.channel)
        to_group = [m for m in telegram_api.sent("sendMessage") if m["chat_id"] == GROUP]
        assert [m["text"] for m in to_group] == [NOTICE]
        (private,) = [m for m in telegram_api.sent("sendMessage") if m["chat_id"] == 555]
        assert "6,24%" in private["text"]
        assert stored(bot.app)["inbox"] == 1  # only the private message


async def test_a_second_group_is_told_too_and_a_group_is_told_again_the_next_day(settings, brain, engine, telegram_api):
    async with TelegramHarness(settings, brain, engine, telegram_api) as bot:
        clock = [0.0]
        bot.channel.group_notices.clock = lambda: clock[0]
        await bot.post(group_message(1, "a"))
        await bot.post(group_message(2, "b", chat_id=-4001, chat_type="group"))
        await bot.post(group_message(3, "c"))
        clock[0] += 25 * 3600
        await bot.post(group_message(4, "d"))
        await settled(bot.channel)
        assert [m["chat_id"] for m in telegram_api.sent("sendMessage")] == [GROUP, -4001, GROUP]


async def test_nothing_is_ever_sent_to_a_group_through_the_reply_path(settings, brain, engine, telegram_api):
    """A chat bound or registered from a group before groups were refused gets no reply,
    notification or reminder: sending to a group or channel id is refused as permanent."""
    async with TelegramHarness(settings, brain, engine, telegram_api) as bot:
        with pytest.raises(PermanentSendError):
            await bot.channel.send(str(GROUP), [Reply("Nguyễn Văn Thử, đăng ký chờ xác minh")])
        assert telegram_api.sent("sendMessage") == []


def zalo_group_event(message_id: str, value: str, group: str = "grp-1", user: str = "u-100") -> dict:
    event = text_event(message_id, value, chat_id=user)
    event["message"]["chat"] = {"id": group, "chat_type": "GROUP"}
    return event


async def test_a_zalo_bot_group_gets_one_notice_and_nothing_is_stored(settings, brain, engine, zalo_bot_api):
    async with ZaloBotHarness(settings, brain, engine, zalo_bot_api) as bot:
        code = invite(bot.app)
        for i in range(10):
            assert await bot.post(zalo_group_event(f"g{i}", f"/canbo {code}" if i == 0 else "menu")) == 200
        await settled(bot.channel)
        assert zalo_bot_api.sent("sendMessage") == [{"chat_id": "grp-1", "text": NOTICE}]
        assert stored(bot.app) == {"inbox": 0, "conversations": 0, "officers": 0, "processed_updates": 0}
        # A private chat is answered as before.
        assert await bot.post(text_event("p1", "menu", chat_id="u-100")) == 200
        await zalo_bot_api.wait_for("sendMessage", 2)
        assert zalo_bot_api.sent("sendMessage")[1]["chat_id"] == "u-100"
