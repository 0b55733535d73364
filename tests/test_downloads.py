"""Files: Telegram gets a document; Zalo gets a one-time, expiring, signed link served by our server."""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import urlsplit

import aiohttp
import pytest

from bot.types import Document, Reply
from standins.telegram_api import FakeTelegramAPI
from standins.zalo_bot_api import FakeZaloBotAPI
from tests.test_telegram import Harness as TelegramHarness
from tests.test_zalo_bot import Harness as ZaloHarness

pytestmark = pytest.mark.db
XLSX = Document("danh-sach-2026-12.xlsx", b"PK\x03\x04 fake workbook", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


async def test_telegram_sends_the_document_itself(settings, brain, engine):
    fake = await FakeTelegramAPI().start()
    try:
        async with TelegramHarness(settings, brain, engine, fake) as bot:
            await bot.channel.send("777", [Reply("Danh sách tháng 12/2026", document=XLSX)])
            (sent,) = fake.sent("sendDocument")
            assert sent["document"].filename == "danh-sach-2026-12.xlsx"
            assert fake.sent("sendMessage")[0]["text"] == "Danh sách tháng 12/2026"
    finally:
        await fake.stop()


async def get(base: str, link: str) -> tuple[int, bytes, str]:
    parts = urlsplit(link)
    async with aiohttp.ClientSession() as session, session.get(f"{base}{parts.path}?{parts.query}") as response:
        return response.status, await response.read(), response.headers.get("Content-Disposition", "")


async def test_zalo_gets_a_link_that_works_once(settings, brain, engine):
    fake = await FakeZaloBotAPI().start()
    try:
        async with ZaloHarness(settings, brain, engine, fake) as bot:
            await bot.channel.send("u-1", [Reply("Danh sách tháng 12/2026", document=XLSX)])
            (sent,) = fake.sent("sendMessage")
            link = re.search(r"https://bot\.example\.vn/download/\S+", sent["text"]).group(0)
            assert "dùng được một lần" in sent["text"]
            signature = re.search(r"sig=(\w+)", link).group(1)
            flipped = ("1" if signature[0] == "0" else "0") + signature[1:]
            assert (await get(bot.url, link.replace(signature, flipped)))[0] == 403  # tampered signature
            later = re.sub(r"exp=(\d+)", lambda m: f"exp={int(m.group(1)) + 3600}", link)
            assert (await get(bot.url, later))[0] == 403  # tampered expiry
            async with aiohttp.ClientSession() as session:
                parts = urlsplit(link)
                async with session.head(f"{bot.url}{parts.path}?{parts.query}") as response:
                    assert response.status == 405  # a link preview cannot use it up
            status, body, disposition = await get(bot.url, link)
            assert status == 200 and body == XLSX.content and "danh-sach-2026-12.xlsx" in disposition
            assert (await get(bot.url, link))[0] == 410  # once only
    finally:
        await fake.stop()


async def test_an_expired_link_is_refused(settings, brain, engine):
    fake = await FakeZaloBotAPI().start()
    try:
        async with ZaloHarness(settings, brain, engine, fake) as bot:
            bot.app.downloads.ttl = timedelta(seconds=-1)
            link = bot.app.downloads.create(XLSX)
            assert (await get(bot.url, link))[0] == 410
    finally:
        await fake.stop()


def test_files_are_encrypted_at_rest(app):
    from sqlalchemy import text

    from storage.db import transaction

    app.downloads.create(XLSX)
    with transaction(app.engine) as session:
        (stored,) = session.exec(text("SELECT content FROM downloads")).one()
    assert b"fake workbook" not in bytes(stored)
