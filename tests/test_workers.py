"""Several workers on one PostgreSQL database (`python -m bot run --workers 2`, bot/workers.py and
storage/lanes.py): a burst from many chats spread over both workers, one worker SIGKILLed midway
and started again by the parent; a dead worker's leased chat taken over when its lease runs out;
SQLite refused."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from standins.telegram_api import FakeTelegramAPI, ThreadedFakeTelegramAPI
from standins.traffic import REGISTRATION, free_port
from storage.models import utcnow
from tests.burst import masked, send_scripts, tally
from tests.conftest import TEST_DATABASE_URL, subprocess_engine
from tests.test_cli import _env
from tests.test_reminders_broadcast import bind_officers
from tests.test_telegram import SECRET, Harness, message_update

NOW = "2026-12-04T08:00+07:00"  # the reminder sweeps' clock: the monthly list's on-the-day reminder is due
OFFICER_CHAT = "5000"  # bind_officers(…, 1) binds this chat
postgres_only = pytest.mark.skipif(not TEST_DATABASE_URL, reason="several workers need PostgreSQL (TEST_DATABASE_URL)")


def start_workers(tmp_path: Path, fake, port: int, count: int = 2) -> subprocess.Popen:
    env = _env(tmp_path, {
        "TELEGRAM_BOT_TOKEN": fake.token, "TELEGRAM_MODE": "webhook", "TELEGRAM_WEBHOOK_SECRET": SECRET,
        "TELEGRAM_API_BASE_URL": fake.base_url, "TELEGRAM_MAX_MESSAGES_PER_SECOND": "0",
        "PUBLIC_BASE_URL": "https://bot.example.vn", "HTTP_PORT": str(port), "LOG_LEVEL": "WARNING",
        "REMINDERS_NOW": NOW,
    })
    with open(tmp_path / "workers.log", "w") as log:  # a file, not a pipe: nothing blocks on a full pipe
        return subprocess.Popen([sys.executable, "-m", "bot", "run", "--workers", str(count)], cwd=tmp_path, env=env,
                                stdout=subprocess.DEVNULL, stderr=log, text=True)


def exited(pid: int, timeout: float) -> bool:
    """Waits until a process that is not ours ends (Linux: its pidfd becomes readable)."""
    import select

    try:
        descriptor = os.pidfd_open(pid)
    except ProcessLookupError:
        return True
    try:
        return bool(select.select([descriptor], [], [], timeout)[0])
    finally:
        os.close(descriptor)


def children(pid: int) -> list[int]:
    """The worker processes the parent started (Linux: /proc)."""
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []


@pytest.mark.db
@postgres_only
def test_two_workers_with_one_sigkilled_midway_answer_every_update_once_in_each_chats_order(tmp_path):
    """Thirty people register at once (540 updates) over the webhook of `run --workers 2`; each
    chat's next update follows the previous one's 200 on a new connection, so its updates reach
    both workers. At half the burst one worker is SIGKILLed; the parent starts
    it again, and "Telegram" delivers again what was not acknowledged. Each chat's messages at the
    stand-in are compared with a clean registration's (the accounting of tests/test_faults.py; the
    order is compared with each repeat taken out where it is, next to its original): nothing lost,
    nothing out of order, and at most one message repeated per chat — the one a chat's queue had
    in flight at the instant of the kill (Telegram has no idempotency key; see README,
    Reliability). An officer's reminder falls due when both workers start (two schedulers
    sweep at once, and the restarted worker sweeps again): it goes once."""
    import aiohttp

    bind_officers(tmp_path, 1)
    people = [8100 + i for i in range(30)]
    control = 8099
    chats = {chat: [(k, v.format(n=chat % 1000)) for k, v in REGISTRATION] for chat in [control, *people]}
    acknowledged: dict[int, int] = {}
    headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
    to = lambda fake, chat: [masked(str(m.get("text"))) for m in fake.sent() if str(m["chat_id"]) == str(chat)]
    with ThreadedFakeTelegramAPI() as fake:
        port = free_port()
        parent = start_workers(tmp_path, fake, port)
        url = f"http://127.0.0.1:{port}/telegram/webhook"
        killed: list[int] = []

        async def deliver(who: list[int], kill_at: int | None, spread: bool = True) -> None:
            reached = asyncio.Event()

            def counted() -> None:
                if kill_at is not None and sum(acknowledged.values()) >= kill_at:
                    reached.set()

            # Spread: a new connection for every update, which the kernel hands to either worker,
            # so a chat's consecutive updates land on both (Telegram's own connections spread them
            # too). Otherwise one kept-alive connection: one worker.
            connector = aiohttp.TCPConnector(force_close=spread, limit=0 if spread else 1)
            async with aiohttp.ClientSession(connector=connector) as session:
                sending = asyncio.create_task(send_scripts(session, url, headers, chats, acknowledged, who, retry=True,
                                                           on_acknowledged=counted))
                if kill_at is not None:
                    await reached.wait()  # a signal from the senders, not a timer
                    victim = children(parent.pid)[0]
                    os.kill(victim, signal.SIGKILL)
                    killed.append(victim)
                await sending

        try:
            # Both workers registered the webhook: their channels are starting (a 503 until
            # ready is delivered again, as Telegram would).
            assert fake.wait_until_sync(lambda: len(fake.sent("setWebhook")) >= 2, 120), (tmp_path / "workers.log").read_text()[-3000:]
            first = set(children(parent.pid))
            assert len(first) == 2
            # The reminder falls due at start-up, in both workers' first sweeps at once.
            assert fake.wait_until_sync(lambda: any(str(m["chat_id"]) == OFFICER_CHAT for m in fake.sent()), 60)
            asyncio.run(asyncio.wait_for(deliver([control], None, spread=False), 120))  # a clean registration, on one worker
            assert fake.wait_until_sync(lambda: any("CODE" in t for t in to(fake, control)), 60)
            expected_count = len(to(fake, control))
            total = len(people) * len(REGISTRATION)
            asyncio.run(asyncio.wait_for(deliver(people, sum(acknowledged.values()) + total // 2), 240))
            # The parent started the killed worker again: a third registration of the webhook.
            assert fake.wait_until_sync(lambda: len(fake.sent("setWebhook")) >= 3, 120)
            finished = lambda: all(len(to(fake, chat)) >= expected_count for chat in people)
            assert fake.wait_until_sync(finished, 120)
            # Anything still to come (a repeat) comes before a last question is answered in each chat.
            for chat in people:
                chats[chat].append(("text", "lãi suất bao nhiêu"))
            asyncio.run(asyncio.wait_for(deliver(people, None), 60))
            rate = lambda chat: any("6,24%" in str(m.get("text")) for m in fake.sent() if str(m["chat_id"]) == str(chat))
            assert fake.wait_until_sync(lambda: all(rate(c) for c in people), 60)
            after = set(children(parent.pid))
        finally:
            parent.send_signal(signal.SIGTERM)
            code = parent.wait(60)
        log = (tmp_path / "workers.log").read_text()
        assert code == 0, log[-3000:]
        assert all(not Path(f"/proc/{pid}").exists() for pid in first | after)  # SIGTERM stopped every worker
        expected = to(fake, control)[:expected_count]
        assert all(a != b for a, b in zip(expected, expected[1:], strict=False))  # no message follows an identical one
        # A repeat is the message a chat's queue had in flight at the kill, sent again first thing
        # by the worker that takes the chat: right after its original. Without those, the chat's
        # messages must be the clean registration's, in its order.
        counts = tally(lambda chat: to(fake, chat), people, expected, show=True)
        reminders = [m for m in fake.sent() if str(m["chat_id"]) == OFFICER_CHAT]
    from sqlalchemy import text

    engine = subprocess_engine(tmp_path)
    with engine.connect() as connection:
        by_worker = dict(connection.execute(text("SELECT leased_by, count(*) FROM inbox GROUP BY leased_by")).all())
        mixed = connection.execute(text(
            "SELECT count(*) FROM (SELECT chat_key FROM inbox WHERE chat_key IS NOT NULL GROUP BY chat_key "
            "HAVING count(DISTINCT leased_by) > 1) AS both_workers")).scalar()
    engine.dispose()
    print(f"\ntwo workers, one SIGKILLed in a {total}-update burst ({len(people)} chats): updates per worker "
          f"{sorted(by_worker.values())}, chats answered by both {mixed}; duplicates {counts.duplicates} (at most {counts.worst} in one "
          f"chat), losses {counts.losses}, replies out of order {counts.out_of_order}; reminders to the officer {len(reminders)}")
    assert killed and killed[0] in first and killed[0] not in after and len(after) == 2  # started again
    assert "ended (signal SIGKILL); starting it again" in log
    assert all(acknowledged[chat] == len(REGISTRATION) + 1 for chat in people)
    assert counts.losses == 0 and counts.out_of_order == 0
    assert counts.worst <= 1  # one message in flight per chat at the one kill
    assert len(reminders) == 1 and "Hạn" in reminders[0]["text"]
    # Both workers handled a good part of the burst, and chats went from one to the other. (A
    # worker goes on with a chat while its next update arrives before the last is answered,
    # whichever worker received it, so the split follows who took each chat first.)
    assert len(by_worker) == 2 and min(by_worker.values()) >= len(REGISTRATION)
    assert mixed > 0


@pytest.mark.db
@postgres_only
def test_workers_whose_parent_was_sigkilled_stop_on_their_own(tmp_path):
    """The parent of `run --workers 2` is SIGKILLed (nothing forwards a SIGTERM): each worker
    notices it has no parent and stops like on SIGTERM, instead of serving on unsupervised."""
    with ThreadedFakeTelegramAPI() as fake:
        parent = start_workers(tmp_path, fake, free_port())
        try:
            assert fake.wait_until_sync(lambda: len(fake.sent("setWebhook")) >= 2, 120), (tmp_path / "workers.log").read_text()[-3000:]
            workers = children(parent.pid)
            assert len(workers) == 2
        finally:
            os.kill(parent.pid, signal.SIGKILL)
            parent.wait(10)
        assert all(exited(pid, 60) for pid in workers)
    assert (tmp_path / "workers.log").read_text().count("the parent of this worker is gone: stopping") == 2


@pytest.mark.db
async def test_a_dead_workers_chat_waits_for_its_lease_then_another_worker_answers_it_in_order(settings, brain, engine):
    """Worker "a" leased a chat's update and died before answering it. Worker "b" gets the chat's
    next message: it answers neither while a's lease runs (one worker at a time per chat, even
    across processes), and once the lease has run out its sweep answers both, in order."""
    if engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL only: several workers need it")
    fake = await FakeTelegramAPI().start()
    try:
        dead = Harness(settings, brain, engine, fake)
        dead.channel.worker = "a"
        first = message_update(601, "xin chào", chat_id=6001)
        leased = await asyncio.to_thread(dead.channel._record_and_claim, "601", first, dead.channel._lane(first))
        assert leased is not None and leased[0] is not None  # a holds it and never answers
        harness = Harness(settings, brain, engine, fake)
        harness.channel.worker = "b"
        async with harness as bot:
            assert await bot.post(message_update(602, "ls bn", chat_id=6001)) == 200
            await bot.channel.resume()  # the minute sweep, while a's lease runs
            await bot.channel.idle()
            assert not [m for m in fake.sent() if str(m["chat_id"]) == "6001"]
            later = utcnow() + bot.channel.lease + timedelta(seconds=1)
            bot.channel.clock = lambda: later  # the lease has run out
            await bot.channel.resume()
            rate = lambda: any("6,24%" in m["text"] for m in fake.sent())
            assert await fake.wait_until(rate, 20)
            await bot.channel.idle()
            texts = [m["text"] for m in fake.sent() if str(m["chat_id"]) == "6001"]
        # The greeting's messages, then the answer to the question: in order, once each.
        assert texts[0].startswith("Xin chào") and "6,24%" in texts[-1] and not any("6,24%" in t for t in texts[:-1])
        assert len(texts) == len(set(texts))
    finally:
        await fake.stop()


def test_several_workers_on_sqlite_are_refused_with_the_reason(tmp_path):
    env = _env(tmp_path, {"DATABASE_URL": "", "TELEGRAM_BOT_TOKEN": "123456:TEST-token", "TELEGRAM_MODE": "webhook",
                          "TELEGRAM_WEBHOOK_SECRET": SECRET, "PUBLIC_BASE_URL": "https://bot.example.vn"})
    result = subprocess.run([sys.executable, "-m", "bot", "run", "--workers", "2"], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "--workers 2: several workers need PostgreSQL" in result.stderr
    assert "Traceback" not in result.stderr
