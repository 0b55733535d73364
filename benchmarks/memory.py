"""Memory: resident set size of the bot after start-up and after N distinct conversations
(each a greeting and a policy question, through the real dispatcher and database).

    python benchmarks/memory.py [--conversations 10000]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def rss_mib() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=10_000)
    args = parser.parse_args()
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
            for i in range(args.conversations):
                chat = f"m{i}"
                await app.dispatcher.dispatch(Incoming("bench", chat, f"{i}-a", chat, Kind.OPEN))
                await app.dispatcher.dispatch(Incoming("bench", chat, f"{i}-b", chat, Kind.TEXT, text=questions[i % 4]))

        asyncio.run(converse())
        after = rss_mib()
    print(f"conditions: {os.cpu_count()} cores, SQLite, {args.conversations} distinct conversations (greeting + question)")
    print(f"memory before the bot: {base:.1f} MiB")
    print(f"memory after start-up: {started:.1f} MiB")
    print(f"memory after {args.conversations} conversations: {after:.1f} MiB")
    print(f"memory growth per 1000 conversations: {(after - started) / args.conversations * 1000:.2f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
