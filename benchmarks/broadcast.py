"""Broadcast: one reminder to N officers on Telegram, through `python -m bot reminders run-once`
(the real python-telegram-bot client) against a stand-in Bot API that accepts at most 30 messages
in any second and answers 429 beyond. Two runs: a clean one, and one killed (SIGKILL) halfway and
started again. Prints `name: value unit` lines: time against the theoretical minimum (N / 30 s),
429s, duplicates and losses.

    python benchmarks/broadcast.py [--officers 1000]      # 10000 for the full scale (about 6 minutes a run)
"""

from __future__ import annotations

import argparse
import os
import platform
import signal
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from standins.processes import bind_officers, clean_env, reminders_run_once, sealed_engine, sqlite_url  # noqa: E402
from standins.telegram_api import ThreadedFakeTelegramAPI  # noqa: E402

RATE = 30


def one_run(officers: int, kill: bool) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as folder, ThreadedFakeTelegramAPI() as fake:
        data_dir = Path(folder)
        bind_officers(sealed_engine(sqlite_url(data_dir), data_dir), officers)
        env = clean_env(data_dir, sqlite_url(data_dir))
        fake.max_per_second = RATE
        started = time.monotonic()
        process = reminders_run_once(data_dir, env, fake)
        if kill:
            while len(fake.sent()) < officers // 2 and process.poll() is None:
                time.sleep(0.005)
            time.sleep(0.018)
            os.kill(process.pid, signal.SIGKILL)
            process.wait()
            time.sleep(1.2)  # the lease of the dead sender (NOTIFICATION_LEASE_SECONDS=1 here)
            process = reminders_run_once(data_dir, env, fake)
        process.communicate(timeout=officers / RATE * 3 + 120)
        total = time.monotonic() - started
        calls = [c for c in fake.calls if c.method == "sendMessage"]
        received = Counter(str(c.params["chat_id"]) for c in calls)
        first, last = (calls[0].at, calls[-1].at) if calls else (0.0, 0.0)
        return {
            "sending": last - first,
            "total": total,
            "too_many": fake.too_many,
            "duplicates": sum(n - 1 for n in received.values() if n > 1),
            "losses": officers - len(received),
        }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--officers", type=int, default=1000, help="officers to remind (10000 for the full scale)")
    args = parser.parse_args()
    n = args.officers
    minimum = (n - 1) / RATE  # first to last message at exactly 30 a second
    print(f"conditions: {os.cpu_count()} cores, {platform.python_implementation()} {platform.python_version()}, SQLite, "
          f"{n} officers (full scale is 10000: minimum 333 s), stand-in Telegram limit {RATE} messages/s")
    for label, kill in (("clean", False), ("killed-and-restarted", True)):
        result = one_run(n, kill)
        print(f"broadcast {label} sending time: {result['sending']:.1f} s")
        print(f"broadcast {label} theoretical minimum: {minimum:.1f} s")
        print(f"broadcast {label} ratio to minimum: {result['sending'] / minimum:.3f} x")
        print(f"broadcast {label} total with start-up: {result['total']:.1f} s")
        print(f"broadcast {label} 429 responses: {result['too_many']} count")
        print(f"broadcast {label} duplicates: {result['duplicates']} count")
        print(f"broadcast {label} losses: {result['losses']} count")
    return 0


if __name__ == "__main__":
    sys.exit(main())
