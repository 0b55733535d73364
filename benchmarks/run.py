"""Every benchmark, one entry point. Each prints `name: value unit` lines and its conditions.

    python benchmarks/run.py            # full sizes (about 20 minutes: the 10,000-officer broadcast is 2 × 6 minutes)
    python benchmarks/run.py --quick    # a few minutes: smaller sizes, same measures

1. FAQ: correct and false-answer rates on ../shared/eval/faq-dev.jsonl (when it is there); match
   latency at 80, 200, 1,000 entries.
2. Webhook throughput end to end on SQLite and PostgreSQL, p50/p99, the bot's CPU per update (the
   mix, FAQ questions, presses, registrations), and the ceiling (a bare aiohttp server).
3. Broadcast: one reminder to N officers against a 30 messages/s stand-in, clean and killed halfway.
4. Memory: after start-up and after N distinct conversations; floods of 5,000 updates from one chat
   and from 1,000 chats, and whether the memory comes back.
5. The officers' web pages with a commune of 2,000 registrations (500 with --quick).

Only the product is needed (`pip install -e .`): the stand-ins come from the `standins` package.
PostgreSQL: BENCH_DATABASE_URL (default postgresql+psycopg://postgres@127.0.0.1:5432/test).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DEV_SET = ROOT.parent / "shared" / "eval" / "faq-dev.jsonl"


def run(title: str, command: list[str]) -> int:
    print(f"== {title}", flush=True)
    started = time.monotonic()
    result = subprocess.run([sys.executable, *command], cwd=ROOT)
    print(f"({title} took {time.monotonic() - started:.0f} s)", flush=True)
    return result.returncode


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes; finishes within a few minutes")
    args = parser.parse_args()
    quick = args.quick
    failures = 0
    if DEV_SET.exists():
        failures += run("FAQ quality", ["-m", "bot", "content", "eval", str(DEV_SET), "--metrics"])
    failures += run("FAQ speed", [str(HERE / "faq_speed.py"), "--queries", "300" if quick else "2000"])
    failures += run("webhook throughput", [str(HERE / "webhook.py"), "--updates", "3000" if quick else "6000"])
    failures += run("broadcast", [str(HERE / "broadcast.py"), "--officers", "300" if quick else "10000"])
    failures += run("memory", [str(HERE / "memory.py"), "--conversations", "2000" if quick else "10000", "--flood", "5000"])
    failures += run("web pages", [str(HERE / "web_pages.py"), "--registrations", "500" if quick else "2000",
                                  "--requests", "20" if quick else "60"])
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
