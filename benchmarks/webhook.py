"""Webhook throughput: synthetic Telegram updates (FAQ questions, menu presses, whole registrations)
POSTed over loopback by 40 concurrent connections, as Telegram does, to `python -m bot run` in
webhook mode talking to a stand-in Bot API. Each connection waits for the reply to reach the
stand-in before sending that chat's next update, like a person would. Prints updates/s end to end
and p50/p99 from POST to the reply arriving, and the ceiling: a bare aiohttp server that only
answers 200, over the same connections.

    python benchmarks/webhook.py [--updates 3000] [--database sqlite|postgres|both]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import aiohttp
from aiohttp import web

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.fakes.telegram_api import FakeTelegramAPI  # noqa: E402
from tests.telegram_scripts import REGISTRATION, free_port, update, wait_healthy  # noqa: E402

SECRET = "bench-secret"
CONNECTIONS = 40
UPDATE_IDS = itertools.count(1)  # unique across runs: a repeated id is (rightly) ignored by the bot
POSTGRES = os.environ.get("BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
QUESTIONS = ["lãi suất bao nhiêu", "vay toi da bao nhieu", "đăng ký ở đâu", "ls bn", "ai duoc vay", "thủ tục vay thế nào",
             "ra tu duoc vay ko", "vay hoc nghe duoc bao nhieu"]


class ReplyWatch(FakeTelegramAPI):
    """The stand-in Bot API, telling waiting senders when a chat's reply arrives."""

    def __init__(self) -> None:
        super().__init__()
        self.waiters: dict[str, asyncio.Future] = {}

    async def _handle(self, request: web.Request) -> web.Response:
        response = await super()._handle(request)
        call = self.calls[-1] if self.calls else None
        if call is not None and call.method == "sendMessage":
            waiter = self.waiters.pop(str(call.params.get("chat_id")), None)
            if waiter is not None and not waiter.done():
                waiter.set_result(time.monotonic())
        self.calls.clear()  # keep memory flat over thousands of updates
        return response


def scripts(count: int) -> list[list[tuple[str, str]]]:
    """Per-chat scripts mixing FAQ questions, menu presses and whole registrations, ~`count` updates."""
    chats, total, n = [], 0, itertools.count()
    while total < count:
        i = next(n)
        kind = i % 10
        if kind < 4:
            script = [("text", QUESTIONS[(i + k) % len(QUESTIONS)]) for k in range(4)]
        elif kind < 7:
            script = [("press", "menu:show"), ("press", "menu:faq"), ("press", "elig:start"), ("press", "menu:show")]
        else:
            script = [(k, v.format(n=i % 1000)) for k, v in REGISTRATION]
        chats.append(script)
        total += len(script)
    return chats


async def drive(url: str, chats: list[list[tuple[str, str]]], fake: ReplyWatch | None,
                first_chat: int = 100_000) -> tuple[float, list[float], int]:
    """40 connections; each takes chats from a queue and plays them, waiting for each reply."""
    queue: asyncio.Queue = asyncio.Queue()
    for index, script in enumerate(chats):
        queue.put_nowait((first_chat + index, script))
    latencies: list[float] = []
    done = 0
    headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}

    async def worker(session: aiohttp.ClientSession) -> None:
        nonlocal done
        while not queue.empty():
            chat, script = queue.get_nowait()
            for kind, value in script:
                waiter = None
                if fake is not None:
                    waiter = asyncio.get_running_loop().create_future()
                    fake.waiters[str(chat)] = waiter
                started = time.monotonic()
                async with session.post(url, json=update(next(UPDATE_IDS), chat, kind, value), headers=headers) as response:
                    assert response.status == 200, response.status
                if waiter is not None:
                    try:
                        arrived = await asyncio.wait_for(waiter, 30)
                    except TimeoutError:
                        raise RuntimeError(f"no reply to {kind} {value!r} in chat {chat}") from None
                    latencies.append(arrived - started)
                done += 1

    connector = aiohttp.TCPConnector(limit=CONNECTIONS)
    async with aiohttp.ClientSession(connector=connector) as session:
        started = time.monotonic()
        await asyncio.gather(*(worker(session) for _ in range(CONNECTIONS)))
        return time.monotonic() - started, latencies, done


def start_bot(port: int, fake_url: str, data_dir: Path, database_url: str) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "TELEGRAM_", "ZALO_", "DATA_"))}
    env.update({
        "DATA_DIR": str(data_dir), "DATABASE_URL": database_url, "LOG_LEVEL": "WARNING",
        "TELEGRAM_BOT_TOKEN": "123456:TEST-token", "TELEGRAM_MODE": "webhook", "TELEGRAM_WEBHOOK_SECRET": SECRET,
        "TELEGRAM_API_BASE_URL": fake_url, "TELEGRAM_MAX_MESSAGES_PER_SECOND": "0", "PUBLIC_BASE_URL": "https://bench.invalid",
        "HTTP_HOST": "127.0.0.1", "HTTP_PORT": str(port),
    })
    command = [sys.executable, "-m", "bot", "run"]
    if os.environ.get("BENCH_PYSPY"):
        command = [sys.executable, os.environ["BENCH_PYSPY"]]
    return subprocess.Popen(command, cwd=data_dir, env=env, stderr=subprocess.PIPE, text=True)


def postgres_schema() -> tuple[str, str]:
    """A fresh schema on the test PostgreSQL; the bot's URL points its search_path there."""
    from sqlalchemy import create_engine, text

    schema = f"bench_{uuid.uuid4().hex[:10]}"
    engine = create_engine(POSTGRES)
    with engine.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine.dispose()
    return schema, f"{POSTGRES}?options=-csearch_path%3D{schema}"


def drop_schema(schema: str) -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(POSTGRES)
    with engine.begin() as connection:
        connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    engine.dispose()


async def bot_run(updates: int, database: str) -> dict:
    fake = ReplyWatch()
    await fake.start()
    schema = None
    with tempfile.TemporaryDirectory() as folder:
        url = ""
        if database == "postgres":
            schema, url = postgres_schema()
        port = free_port()
        process = start_bot(port, fake.base_url, Path(folder), url)
        try:
            await wait_healthy(port, process)
            chats = scripts(updates)
            await drive(f"http://127.0.0.1:{port}/telegram/webhook", chats[:20], fake, first_chat=900_000)  # warm-up
            elapsed, latencies, done = await drive(f"http://127.0.0.1:{port}/telegram/webhook", chats[20:], fake)
        finally:
            process.terminate()
            process.wait(30)
            errors = [line for line in process.stderr.read().splitlines() if "ERROR" in line or "WARNING" in line]
            if errors:
                print(f"bot warnings ({len(errors)}):", *(e[:300] for e in errors[:6]), sep="\n  ", file=sys.stderr)
            await fake.stop()
            if schema:
                drop_schema(schema)
    latencies.sort()
    return {"rate": done / elapsed, "p50": statistics.median(latencies) * 1000,
            "p99": latencies[int(len(latencies) * 0.99) - 1] * 1000, "updates": done}


CEILING_SERVER = """
import sys
from aiohttp import web
async def ok(request):
    await request.read()
    return web.Response(status=200)
app = web.Application()
app.router.add_post("/telegram/webhook", ok)
app.router.add_get("/healthz", lambda request: web.Response(status=200))
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None)
"""


async def ceiling_run(updates: int) -> float:
    port = free_port()
    process = subprocess.Popen([sys.executable, "-c", CEILING_SERVER, str(port)], stderr=subprocess.PIPE, text=True)
    try:
        await wait_healthy(port, process)
        elapsed, _, done = await drive(f"http://127.0.0.1:{port}/telegram/webhook", scripts(updates), None)
    finally:
        process.terminate()
        process.wait(10)
    return done / elapsed


async def main_async(updates: int, databases: list[str]) -> None:
    print(f"conditions: {os.cpu_count()} cores, {platform.python_implementation()} {platform.python_version()}, "
          f"{CONNECTIONS} connections, {updates} updates (FAQ questions, menu presses, registrations), "
          f"stand-in Bot API in the load generator's process, rate limiter off")
    ceiling = await ceiling_run(updates)
    print(f"ceiling: {ceiling:.0f} requests/s")
    for database in databases:
        result = await bot_run(updates, database)
        print(f"webhook ({'sqlite' if database == 'sqlite' else 'postgresql'}): {result['rate']:.0f} updates/s")
        label = "sqlite" if database == "sqlite" else "postgresql"
        print(f"webhook ({label}) latency p50: {result['p50']:.1f} ms")
        print(f"webhook ({label}) latency p99: {result['p99']:.1f} ms")
        print(f"webhook ({label}) ratio to ceiling: {result['rate'] / ceiling:.2f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--updates", type=int, default=3000)
    parser.add_argument("--database", choices=["sqlite", "postgres", "both"], default="both")
    args = parser.parse_args()
    databases = ["sqlite", "postgres"] if args.database == "both" else [args.database]
    asyncio.run(main_async(args.updates, databases))
    return 0


if __name__ == "__main__":
    sys.exit(main())
