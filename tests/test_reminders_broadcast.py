"""The kill-and-restart broadcast: `reminders run-once` as a real process sending through the real
python-telegram-bot client to a stand-in Bot API that enforces 30 messages a second; the process
is killed (SIGKILL) halfway and started again. Every officer gets the reminder exactly once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import datetime, timezone

import pytest

from storage.db import make_engine, migrate, transaction
from storage.models import Officer
from tests.fakes.telegram_api import ThreadedFakeTelegramAPI
from tests.conftest import subprocess_database_url
from tests.test_cli import ROOT, _env

OFFICERS = 60
pytestmark = pytest.mark.db  # a real process on the run's database (PostgreSQL in the PostgreSQL pass)
NOW = "2026-12-04T08:00+07:00"  # the monthly list's on-the-day reminder (the 5th is a Saturday)


def bind_officers(data_dir, count: int) -> None:
    engine = make_engine(subprocess_database_url(data_dir))
    migrate(engine)
    with transaction(engine) as session:
        for i in range(count):
            session.add(Officer(channel="telegram", chat_id=str(5000 + i), commune_code=17035, role="officer",
                                created_at=datetime(2026, 11, 1, tzinfo=timezone.utc)))
    engine.dispose()


def run_once(data_dir, fake) -> subprocess.Popen:
    env = _env(data_dir, {
        "TELEGRAM_BOT_TOKEN": fake.token, "TELEGRAM_API_BASE_URL": fake.base_url,
        "TELEGRAM_MAX_MESSAGES_PER_SECOND": "30", "NOTIFICATION_LEASE_SECONDS": "1",
    })
    return subprocess.Popen([sys.executable, "-m", "bot", "reminders", "run-once", "--now", NOW], cwd=data_dir, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_killed_halfway_and_restarted_every_officer_gets_the_reminder_exactly_once(tmp_path):
    bind_officers(tmp_path, OFFICERS)
    with ThreadedFakeTelegramAPI() as fake:
        fake.max_per_second = 30
        first = run_once(tmp_path, fake)
        deadline = time.monotonic() + 60
        while len(fake.sent()) < OFFICERS // 2:
            assert time.monotonic() < deadline and first.poll() is None, first.stderr.read() if first.poll() is not None else "slow"
            time.sleep(0.005)
        time.sleep(0.018)  # between two sends (34 ms apart): the last one is recorded as sent, the next not begun
        os.kill(first.pid, signal.SIGKILL)
        first.wait(10)
        assert len(fake.sent()) < OFFICERS  # it really died halfway
        time.sleep(1.2)  # the dead sender's lease (1 s here) runs out
        second = run_once(tmp_path, fake)
        out, err = second.communicate(timeout=120)
        assert second.returncode == 0, err
        received = Counter(str(m["chat_id"]) for m in fake.sent())
    assert set(received) == {str(5000 + i) for i in range(OFFICERS)}
    assert max(received.values()) == 1, [chat for chat, n in received.items() if n > 1]
    assert fake.too_many == 0
