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
from datetime import UTC, datetime

import pytest

from storage.db import migrate, transaction
from storage.models import Officer
from tests.conftest import subprocess_engine
from tests.fakes.telegram_api import ThreadedFakeTelegramAPI
from tests.test_cli import _env

OFFICERS = 60
pytestmark = pytest.mark.db  # a real process on the run's database (PostgreSQL in the PostgreSQL pass)
NOW = "2026-12-04T08:00+07:00"  # the monthly list's on-the-day reminder (the 5th is a Saturday)


def bind_officers(data_dir, count: int) -> None:
    engine = subprocess_engine(data_dir)
    migrate(engine)
    with transaction(engine) as session:
        for i in range(count):
            session.add(Officer(channel="telegram", chat_id=str(5000 + i), commune_code=17035, role="officer",
                                created_at=datetime(2026, 11, 1, tzinfo=UTC)))
    engine.dispose()


def run_once(data_dir, fake) -> subprocess.Popen:
    env = _env(data_dir, {
        "TELEGRAM_BOT_TOKEN": fake.token, "TELEGRAM_API_BASE_URL": fake.base_url,
        "TELEGRAM_MAX_MESSAGES_PER_SECOND": "30", "NOTIFICATION_LEASE_SECONDS": "1",
    })
    return subprocess.Popen([sys.executable, "-m", "bot", "reminders", "run-once", "--now", NOW], cwd=data_dir, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_killed_halfway_and_restarted_every_officer_gets_the_reminder_exactly_once(tmp_path):
    """The stand-in holds the 31st message (unsent) once 30 are delivered, and the process is
    killed while it waits: a signal, not a timer, places the kill between two sends. Each
    delivered message was marked sent before the next send began, so the restart sends exactly
    the other 30. (A message the platform took but whose confirmation was not yet recorded would be
    sent again: the one unavoidable repeat, see README "Reliability".)"""
    bind_officers(tmp_path, OFFICERS)
    with ThreadedFakeTelegramAPI() as fake:
        fake.max_per_second = 30
        fake.stall_after = OFFICERS // 2
        first = run_once(tmp_path, fake)
        assert fake.stalled.wait(60), first.stderr.read() if first.poll() is not None else "no stall"
        assert first.poll() is None
        os.kill(first.pid, signal.SIGKILL)
        first.wait(10)
        fake.release_stalled()
        assert len(fake.sent()) == OFFICERS // 2  # it really died halfway
        # Waiting on time here is the rule under test: the dead sender's lease (1 s) must run out.
        time.sleep(1.2)
        second = run_once(tmp_path, fake)
        out, err = second.communicate(timeout=120)
        assert second.returncode == 0, err
        received = Counter(str(m["chat_id"]) for m in fake.sent())
    assert set(received) == {str(5000 + i) for i in range(OFFICERS)}
    assert max(received.values()) == 1, [chat for chat, n in received.items() if n > 1]
    assert fake.too_many == 0
