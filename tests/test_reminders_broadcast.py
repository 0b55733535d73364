"""The kill-and-restart broadcast: `reminders run-once` as a real process sending through the real
python-telegram-bot client to a stand-in Bot API that enforces 30 messages a second; the process
is killed (SIGKILL) halfway and started again. Every officer gets the reminder exactly once."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections import Counter

import pytest

from standins.processes import bind_officers as bind_officers_on, reminders_run_once
from standins.telegram_api import ThreadedFakeTelegramAPI
from tests.conftest import subprocess_engine
from tests.test_cli import _env

OFFICERS = 60
pytestmark = pytest.mark.db  # a real process on the run's database (PostgreSQL in the PostgreSQL pass)


def bind_officers(data_dir, count: int) -> None:
    bind_officers_on(subprocess_engine(data_dir), count)


def run_once(data_dir, fake) -> subprocess.Popen:
    return reminders_run_once(data_dir, _env(data_dir), fake)


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
