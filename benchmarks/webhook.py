"""Webhook throughput and the cost of an update: synthetic Telegram updates POSTed over loopback by
40 concurrent connections, as Telegram does, to `python -m bot run` in webhook mode talking to a
stand-in Bot API. Each connection waits for the reply to reach the stand-in before sending that
chat's next update, like a person would.

For each database it runs four phases on one bot process: the mixed traffic (FAQ questions, menu
presses, whole registrations), then FAQ questions only (short and hard ones: long stories, no
accents, Telex, dialect), button presses only, registrations only. Each phase prints updates/s end
to end, p50/p99 from POST to the reply arriving, and the bot process's CPU time (user + system,
from /proc/<pid>/stat) divided by the updates it handled. The ceiling is a bare aiohttp server
that only answers 200, over the same connections.

    python benchmarks/webhook.py [--updates 3000] [--database sqlite|postgres|both]

PostgreSQL: BENCH_DATABASE_URL (default postgresql+psycopg://postgres@127.0.0.1:5432/test); each
run gets a schema of its own, dropped afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import platform
import signal
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

from standins.processes import clean_env  # noqa: E402
from standins.telegram_api import FakeTelegramAPI  # noqa: E402
from standins.traffic import (  # noqa: E402
    FAQ_QUESTIONS,
    HARD_QUESTIONS,
    PRESSES,
    REGISTRATION,
    faq_question,
    free_port,
    update,
    wait_healthy,
)

SECRET = "bench-secret"
CONNECTIONS = 40
UPDATE_IDS = itertools.count(1)  # unique across runs: a repeated id is (rightly) ignored by the bot
POSTGRES = os.environ.get("BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


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


Script = list[tuple[str, str]]


# Every question of a run is a different text (the warm-up asks the bare ones, round 0).
QUESTION_NUMBERS = itertools.count(len(FAQ_QUESTIONS))


def faq_script(i: int) -> Script:
    return [("text", faq_question(next(QUESTION_NUMBERS))) for _ in range(4)]


def registration_script(i: int) -> Script:
    return [(k, v.format(n=i % 1000)) for k, v in REGISTRATION]


def phase(kind: str, count: int) -> list[Script]:
    """Per-chat scripts of one kind (or the mix: 4 in 10 chats ask, 3 press, 3 register), ~`count` updates."""
    chats: list[Script] = []
    total = 0
    for i in itertools.count():
        if total >= count:
            return chats
        if kind == "faq" or (kind == "mixed" and i % 10 < 4):
            script = faq_script(i)
        elif kind == "presses" or (kind == "mixed" and i % 10 < 7):
            script = list(PRESSES)
        else:
            script = registration_script(i)
        chats.append(script)
        total += len(script)
    return chats


def bot_cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (every thread of it) so far."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime, stime (fields 14 and 15)


async def drive(url: str, chats: list[Script], fake: ReplyWatch | None, first_chat: int) -> tuple[float, list[float], int]:
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


def start_bot(port: int, fake_url: str, data_dir: Path, database_url: str, log) -> subprocess.Popen:
    env = clean_env(data_dir, database_url, {
        "LOG_LEVEL": os.environ.get("BENCH_LOG_LEVEL", "WARNING"),
        "TELEGRAM_BOT_TOKEN": "123456:TEST-token", "TELEGRAM_MODE": "webhook", "TELEGRAM_WEBHOOK_SECRET": SECRET,
        "TELEGRAM_API_BASE_URL": fake_url, "TELEGRAM_MAX_MESSAGES_PER_SECOND": "0", "PUBLIC_BASE_URL": "https://bench.invalid",
        "HTTP_HOST": "127.0.0.1", "HTTP_PORT": str(port),
    })
    command = [sys.executable, "-m", "bot", "run"]
    if os.environ.get("BENCH_PROFILE"):  # a cProfile of the bot process, written at its exit (SIGTERM)
        command = [sys.executable, str(ROOT / "benchmarks" / "profile_bot.py"), os.environ["BENCH_PROFILE"]]
    return subprocess.Popen(command, cwd=data_dir, env=env, stdout=subprocess.DEVNULL, stderr=log)


def postgres_schema() -> tuple[str, str]:
    """A fresh schema on the test PostgreSQL; the bot's URL points its search_path there."""
    from sqlalchemy import create_engine, text

    schema = f"bench_{uuid.uuid4().hex[:10]}"
    engine = create_engine(POSTGRES)
    with engine.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine.dispose()
    separator = "&" if "?" in POSTGRES else "?"
    return schema, f"{POSTGRES}{separator}options=-csearch_path%3D{schema}"


def drop_schema(schema: str) -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(POSTGRES)
    with engine.begin() as connection:
        connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    engine.dispose()


PHASES = ("mixed", "faq", "presses", "registrations")
ONLY = os.environ.get("BENCH_PHASES", ",".join(PHASES)).split(",")  # a profiling run may take one phase


def sample(pid: int, out: str) -> subprocess.Popen:
    """py-spy (if installed) sampling the bot's every thread, collapsed stacks to `out` (BENCH_PYSPY=prefix)."""
    spy = Path(sys.executable).with_name("py-spy")
    return subprocess.Popen([str(spy), "record", "--pid", str(pid), "--format", "raw", "--rate", "250", "--nonblocking",
                             "--output", out + ".txt"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


async def bot_run(updates: int, database: str) -> dict[str, dict]:
    """One bot process, the four phases one after the other (after a warm-up); figures per phase."""
    fake = ReplyWatch()
    await fake.start()
    schema = None
    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as folder, tempfile.TemporaryFile("w+") as log:
        url = ""
        if database == "postgres":
            schema, url = postgres_schema()
        port = free_port()
        process = start_bot(port, fake.base_url, Path(folder), url, log)
        webhook = f"http://127.0.0.1:{port}/telegram/webhook"
        try:
            await wait_healthy(port, process)
            # Warm-up: every question of the mix once (bare), presses, registrations.
            warm = [[("text", q)] for q in FAQ_QUESTIONS] + phase("presses", 100) + phase("registrations", 100)
            await drive(webhook, warm, fake, first_chat=900_000)
            for number, name in enumerate(PHASES, start=1):
                if name not in ONLY:
                    continue
                chats = phase(name, updates if name == "mixed" else updates // 2)
                spy = sample(process.pid, f"{os.environ['BENCH_PYSPY']}-{database}-{name}") if os.environ.get("BENCH_PYSPY") else None
                cpu = bot_cpu_seconds(process.pid)
                elapsed, latencies, done = await drive(webhook, chats, fake, first_chat=number * 100_000)
                cpu = bot_cpu_seconds(process.pid) - cpu
                if spy is not None:
                    spy.send_signal(signal.SIGINT)
                    await asyncio.to_thread(spy.wait, 60)
                latencies.sort()
                results[name] = {"rate": done / elapsed, "p50": statistics.median(latencies) * 1000,
                                 "p99": latencies[int(len(latencies) * 0.99) - 1] * 1000, "updates": done,
                                 "cpu": cpu / done * 1000}
        finally:
            process.terminate()
            # Waited for off the event loop: the stand-in lives on it and must still answer the
            # bot's last sends while it shuts down (a blocking wait here made them time out).
            await asyncio.to_thread(process.wait, 60)
            await fake.stop()
            log.seek(0)
            lines = log.read().splitlines()
            if os.environ.get("BENCH_LOG_OUT"):  # the bot's whole log, for a look at what it did
                Path(f"{os.environ['BENCH_LOG_OUT']}-{database}.log").write_text("\n".join(lines))
            errors = [line for line in lines if "ERROR" in line or "WARNING" in line]
            errors = [line for line in errors if "DATA_ENCRYPTION_KEYS" not in line]  # the development key, expected
            if errors:
                print(f"bot warnings ({len(errors)}):", *(e[:300] for e in errors[:6]), sep="\n  ", file=sys.stderr)
            if schema:
                drop_schema(schema)
    return results


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


async def ceiling_run(updates: int) -> tuple[float, float]:
    """Requests/s of a bare aiohttp server, and its CPU per request (ms)."""
    port = free_port()
    process = subprocess.Popen([sys.executable, "-c", CEILING_SERVER, str(port)], stderr=subprocess.PIPE, text=True)
    try:
        await wait_healthy(port, process)
        cpu = bot_cpu_seconds(process.pid)
        elapsed, _, done = await drive(f"http://127.0.0.1:{port}/telegram/webhook", phase("mixed", updates), None, 1)
        cpu = bot_cpu_seconds(process.pid) - cpu
    finally:
        process.terminate()
        process.wait(10)
    return done / elapsed, cpu / done * 1000


async def main_async(updates: int, databases: list[str]) -> None:
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "?"
    print(f"conditions: {os.cpu_count()} cores (load average before: {load}), {platform.python_implementation()} "
          f"{platform.python_version()}, {CONNECTIONS} connections; mixed traffic {updates} updates (4 in 10 chats ask 4 "
          f"FAQ questions, 3 press 4 menu buttons, 3 register: 18 updates), then {updates // 2} each of FAQ questions "
          f"({len(FAQ_QUESTIONS)} in turn, {len(HARD_QUESTIONS)} of them hard, each time with another opening and ending), "
          f"presses, registrations; stand-in Bot API in the load generator's process, rate limiter off")
    ceiling, ceiling_cpu = await ceiling_run(updates)
    print(f"ceiling: {ceiling:.0f} requests/s")
    print(f"ceiling cpu per request: {ceiling_cpu:.3f} ms")
    for database in databases:
        label = "sqlite" if database == "sqlite" else "postgresql"
        results = await bot_run(updates, database)
        mixed = results.get("mixed")
        if mixed is not None:
            print(f"webhook ({label}): {mixed['rate']:.0f} updates/s")
            print(f"webhook ({label}) latency p50: {mixed['p50']:.1f} ms")
            print(f"webhook ({label}) latency p99: {mixed['p99']:.1f} ms")
            print(f"webhook ({label}) ratio to ceiling: {mixed['rate'] / ceiling:.3f}")
            print(f"webhook ({label}) cpu per update: {mixed['cpu']:.2f} ms")
        for name in PHASES[1:]:
            if name not in results:
                continue
            result = results[name]
            print(f"webhook ({label}) {name}: {result['rate']:.0f} updates/s")
            print(f"webhook ({label}) {name} latency p50: {result['p50']:.1f} ms")
            print(f"webhook ({label}) {name} latency p99: {result['p99']:.1f} ms")
            print(f"webhook ({label}) {name} cpu per update: {result['cpu']:.2f} ms")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--updates", type=int, default=3000, help="updates of the mixed phase (half as many in each other phase)")
    parser.add_argument("--database", choices=["sqlite", "postgres", "both"], default="both")
    args = parser.parse_args()
    databases = ["sqlite", "postgres"] if args.database == "both" else [args.database]
    asyncio.run(main_async(args.updates, databases))
    return 0


if __name__ == "__main__":
    sys.exit(main())
