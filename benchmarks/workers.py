"""Several workers on PostgreSQL: `python -m bot run --workers N` against one worker, on the webhook
benchmark's traffic (benchmarks/webhook.py: FAQ questions, menu presses and whole registrations
over 40 kept-alive connections, each waiting for its reply at the stand-in Bot API). Prints
updates/s, p50/p99 from POST to the reply, and the CPU time per update: the user and system time
of every process of the bot (the parent and its workers, from /proc) over the measured run,
divided by the updates. Linux only (/proc).

    python benchmarks/workers.py [--updates 3000] [--workers 2] [--rounds 1] [--connections 40]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import webhook  # noqa: E402
from webhook import SECRET, ReplyWatch, drive, drop_schema, phase, postgres_schema  # noqa: E402

from standins.traffic import free_port, wait_healthy  # noqa: E402  (webhook.py put the project on the path)

TICK = os.sysconf("SC_CLK_TCK")


def start_bot(port: int, fake_url: str, data_dir: Path, database_url: str, workers: int) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "TELEGRAM_", "ZALO_", "DATA_"))}
    env.update({
        "DATA_DIR": str(data_dir), "DATABASE_URL": database_url, "LOG_LEVEL": "WARNING",
        "TELEGRAM_BOT_TOKEN": "123456:TEST-token", "TELEGRAM_MODE": "webhook", "TELEGRAM_WEBHOOK_SECRET": SECRET,
        "TELEGRAM_API_BASE_URL": fake_url, "TELEGRAM_MAX_MESSAGES_PER_SECOND": "0", "PUBLIC_BASE_URL": "https://bench.invalid",
        "HTTP_HOST": "127.0.0.1", "HTTP_PORT": str(port),
    })
    command = [sys.executable, "-m", "bot", "run", *(["--workers", str(workers)] if workers > 1 else [])]
    return subprocess.Popen(command, cwd=data_dir, env=env, stderr=subprocess.PIPE, text=True)


async def wait_workers(port: int, count: int, process: subprocess.Popen, timeout: float = 120) -> None:
    """Until each of the `count` workers has answered /healthz with 200 (it names itself there);
    a new connection each time, so the kernel hands them to every worker."""
    import time

    import aiohttp

    await wait_healthy(port, process, timeout)
    if count == 1:
        return
    ready: set[str] = set()
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True)) as session:
        while len(ready) < count:
            if time.monotonic() > deadline:
                raise RuntimeError(f"only {len(ready)} of {count} workers ready")
            async with session.get(f"http://127.0.0.1:{port}/healthz") as response:
                if response.status == 200:
                    ready.add((await response.json())["worker"])
                else:
                    await asyncio.sleep(0.1)


def processes(pid: int) -> list[int]:
    """The process and its children (the workers of `--workers N`)."""
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [pid, *(int(p) for p in path.read_text().split())] if path.exists() else [pid]


def cpu_seconds(pids: list[int]) -> float:
    """User plus system time of these processes so far."""
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
    return total / TICK


async def bot_run(updates: int, workers: int) -> dict:
    fake = ReplyWatch()
    await fake.start()
    schema, url = postgres_schema()
    with tempfile.TemporaryDirectory() as folder:
        port = free_port()
        process = start_bot(port, fake.base_url, Path(folder), url, workers)
        try:
            await wait_workers(port, workers, process)
            webhook = f"http://127.0.0.1:{port}/telegram/webhook"
            chats = phase("mixed", updates)
            # Warm-up: enough chats that every worker has had some (the kernel spreads the connections).
            await drive(webhook, chats[:40], fake, first_chat=900_000)
            pids = processes(process.pid)
            if len(pids) != workers + (workers > 1):
                raise RuntimeError(f"expected {workers} workers, found {len(pids) - 1}")
            before = cpu_seconds(pids)
            elapsed, latencies, done = await drive(webhook, chats[40:], fake, first_chat=100_000)
            cpu = cpu_seconds(pids) - before
        finally:
            process.terminate()
            await asyncio.to_thread(process.wait, 60)  # the stand-in keeps answering while the bot drains
            errors = [line for line in process.stderr.read().splitlines() if "ERROR" in line or "WARNING" in line]
            if errors:
                print(f"bot warnings ({len(errors)}):", *(e[:300] for e in errors[:6]), sep="\n  ", file=sys.stderr)
            await fake.stop()
            drop_schema(schema)
    latencies.sort()
    return {"rate": done / elapsed, "p50": statistics.median(latencies) * 1000,
            "p99": latencies[int(len(latencies) * 0.99) - 1] * 1000, "cpu": cpu / done * 1000, "updates": done}


async def main_async(updates: int, workers: int, rounds: int) -> None:
    print(f"conditions: {os.cpu_count()} cores, {platform.python_implementation()} {platform.python_version()}, "
          f"PostgreSQL, {webhook.CONNECTIONS} connections, {updates} updates (FAQ questions, menu presses, registrations), "
          f"stand-in Bot API in the load generator's process, rate limiter off, {rounds} round(s) of each, alternating")
    results: dict[int, list[dict]] = {1: [], workers: []}
    for _ in range(rounds):
        for count in (1, workers):
            results[count].append(await bot_run(updates, count))
    best = {count: max(runs, key=lambda r: r["rate"]) for count, runs in results.items()}
    cpu = {count: (statistics.median(r["cpu"] for r in runs), min(r["cpu"] for r in runs)) for count, runs in results.items()}
    for count in (1, workers):
        label = f"workers {count} (postgresql)"
        runs = results[count]
        rates = ", ".join(f"{r['rate']:.0f}" for r in runs)
        cpus = ", ".join(f"{r['cpu']:.2f}" for r in runs)
        print(f"{label}: {best[count]['rate']:.0f} updates/s (the best round; rounds: {rates})")
        print(f"{label} latency p50: {best[count]['p50']:.1f} ms")
        print(f"{label} latency p99: {best[count]['p99']:.1f} ms")
        print(f"{label} cpu per update: {cpu[count][0]:.2f} ms (median; lowest {cpu[count][1]:.2f}; rounds: {cpus})")
    print(f"workers {workers} / 1 throughput: {best[workers]['rate'] / best[1]['rate']:.2f} ×")
    print(f"workers {workers} / 1 cpu per update: {cpu[workers][0] / cpu[1][0]:.2f} × (median), "
          f"{cpu[workers][1] / cpu[1][1]:.2f} × (lowest)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--updates", type=int, default=3000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=1, help="runs of each, alternating (the machine's load varies)")
    parser.add_argument("--connections", type=int, default=webhook.CONNECTIONS,
                        help="concurrent senders (fewer: neither setting saturates the machine)")
    args = parser.parse_args()
    webhook.CONNECTIONS = args.connections  # drive() reads it
    asyncio.run(main_async(args.updates, args.workers, args.rounds))
    return 0


if __name__ == "__main__":
    sys.exit(main())
