"""Stand-in platform servers shared by the security tests (real HTTP on 127.0.0.1)."""

import pytest

from standins.telegram_api import FakeTelegramAPI
from standins.zalo_bot_api import FakeZaloBotAPI


@pytest.fixture
async def telegram_api():
    api = await FakeTelegramAPI().start()
    yield api
    await api.stop()


@pytest.fixture
async def zalo_bot_api():
    api = await FakeZaloBotAPI().start()
    yield api
    await api.stop()
