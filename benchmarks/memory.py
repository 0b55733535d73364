"""Memory: resident set size (RSS) of the bot.

1. Conversations: after start-up and after N distinct conversations (each a greeting and a policy
   question, through the real dispatcher and database, in this process): memory per 1,000.
2. Floods: `python -m bot run` in webhook mode (SQLite, the stand-in Bot API) gets 5,000 updates
   from one chat, then 5,000 from 1,000 chats (five each), over 40 connections as Telegram sends
   them; its RSS (from /proc) is read before, at the end of each flood and once everything is
   handled (the inbox has nothing unfinished). Memory must come back to within 20 % of before.

    python benchmarks/memory.py [--conversations 10000] [--flood 5000]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from standins.processes import clean_env  # noqa: E402
from standins.telegram_api import FakeTelegramAPI  # noqa: E402
from standins.traffic import faq_question, free_port, update, wait_healthy  # noqa: E402

SECRET = "memory-secret"
CONNECTIONS = 40


def rss_mib(pid: int | str = "self") -> float:
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def conversations(n: int) -> None:
    from bot.app import build_app
    from bot.settings import Settings
    from bot.types import Incoming, Kind

    with tempfile.TemporaryDirectory() as folder:
        base = rss_mib()
        app = build_app(Settings(_env_file=None, data_dir=Path(folder)))
        app.brain.ask("lãi suất bao nhiêu")  # warm: first match builds caches
        started = rss_mib()
        questions = ["lãi suất bao nhiêu", "vay tối đa bao nhiêu", "đăng ký ở đâu", "ai được vay"]

        async def converse() -> None:
            for i in range(n):
                chat = f"m{i}"
                await app.dispatcher.dispatch(Incoming("bench", chat, f"{i}-a", chat, Kind.OPEN))
                await app.dispatcher.dispatch(Incoming("bench", chat, f"{i}-b", chat, Kind.TEXT, text=questions[i % 4]))

        asyncio.run(converse())
        after = rss_mib()
    print(f"conditions: {os.cpu_count()} cores, SQLite, {n} distinct conversations (greeting + question), in this process")
    print(f"memory before the bot: {base:.1f} MiB")
    print(f"memory after start-up: {started:.1f} MiB")
    print(f"memory after {n} conversations: {after:.1f} MiB")
    print(f"memory growth per 1000 conversations: {(after - started) / n * 1000:.2f} MiB")


class Quiet(FakeTelegramAPI):
    """The stand-in Bot API keeping no record (thousands of replies)."""

    def _record(self, call) -> None:
        pass


def unfinished(database: Path) -> int:
    with sqlite3.connect(database, timeout=30) as connection:
        return connection.execute("SELECT count(*) FROM inbox WHERE sent_at IS NULL").fetchone()[0]


async def flood(url: str, updates: list[dict]) -> None:
    """All the updates as fast as 40 connections take them (Telegram does not wait for replies)."""
    queue: asyncio.Queue = asyncio.Queue()
    for body in updates:
        queue.put_nowait(body)
    headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}

    async def worker(session: aiohttp.ClientSession) -> None:
        while not queue.empty():
            async with session.post(url, json=queue.get_nowait(), headers=headers) as response:
                assert response.status == 200, response.status

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=CONNECTIONS)) as session:
        await asyncio.gather(*(worker(session) for _ in range(CONNECTIONS)))


async def settled(pid: int, database: Path, timeout: float = 600) -> float:
    """RSS once the bot has handled and answered everything it was sent (polled: a benchmark)."""
    deadline = time.monotonic() + timeout
    while unfinished(database) and time.monotonic() < deadline:
        await asyncio.sleep(0.2)
    await asyncio.sleep(1.0)  # the last replies' bookkeeping
    return rss_mib(pid)


async def floods(size: int) -> None:
    fake = Quiet()
    await fake.start()
    ids = itertools.count(1)
    with tempfile.TemporaryDirectory() as folder:
        data_dir, port = Path(folder), free_port()
        env = clean_env(data_dir, "", {
            "LOG_LEVEL": "WARNING", "TELEGRAM_BOT_TOKEN": fake.token, "TELEGRAM_MODE": "webhook",
            "TELEGRAM_WEBHOOK_SECRET": SECRET, "TELEGRAM_API_BASE_URL": fake.base_url,
            "TELEGRAM_MAX_MESSAGES_PER_SECOND": "0", "PUBLIC_BASE_URL": "https://bench.invalid",
            "HTTP_HOST": "127.0.0.1", "HTTP_PORT": str(port),
        })
        process = subprocess.Popen([sys.executable, "-m", "bot", "run"], cwd=data_dir, env=env,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        database, url = data_dir / "bot.sqlite3", f"http://127.0.0.1:{port}/telegram/webhook"
        try:
            await wait_healthy(port, process)
            # Warm-up: every kind of work once, so the first flood does not pay for first uses.
            await flood(url, [update(next(ids), 1_000_000 + i, "text", faq_question(i)) for i in range(200)])
            before = await settled(process.pid, database)
            print(f"conditions: {os.cpu_count()} cores, SQLite, `python -m bot run` (webhook) and the stand-in Bot API, "
                  f"{CONNECTIONS} connections, floods of {size} updates (FAQ questions, every text different)")
            print(f"flood memory before: {before:.1f} MiB")
            for label, chats in (("one chat", 1), ("1000 chats", 1000)):
                bodies = [update(next(ids), 2_000_000 + chats + i % chats, "text", faq_question(1000 + i)) for i in range(size)]
                started = time.monotonic()
                await flood(url, bodies)
                peak = rss_mib(process.pid)
                after = await settled(process.pid, database)
                print(f"flood ({label}) memory at its end: {peak:.1f} MiB")
                print(f"flood ({label}) memory once handled: {after:.1f} MiB ({time.monotonic() - started:.0f} s)")
                print(f"flood ({label}) memory after, relative to before: {after / before:.2f} x")
        finally:
            process.terminate()
            await asyncio.to_thread(process.wait, 60)
            await fake.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=10_000)
    parser.add_argument("--flood", type=int, default=5000, help="updates in each flood (0: no floods)")
    args = parser.parse_args()
    conversations(args.conversations)
    if args.flood:
        asyncio.run(floods(args.flood))
    return 0


if __name__ == "__main__":
    sys.exit(main())
