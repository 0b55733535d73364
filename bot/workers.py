"""Several workers: `python -m bot run --workers N` starts N copies of `python -m bot run` on one
PostgreSQL database, all listening on HTTP_PORT, and keeps N running (README "Several workers").

Why a parent that starts N processes, each binding the port with SO_REUSEPORT:
- one command and one systemd unit, as for a single worker; SIGTERM to the parent stops every
  worker gracefully (each finishes its work in flight), and a worker that dies (SIGKILL, out of
  memory) is started again at once by the parent, under the same name, so it takes back at once
  the chats its predecessor had leased (storage/lanes.py) instead of waiting for the leases to
  run out;
- each worker is a fresh `python -m bot run` (started, not forked): no event loop, thread, uvloop
  state or database connection is inherited, and a worker runs exactly the code a single worker
  runs. The parent imports no application code and holds no database connection;
- SO_REUSEPORT (aiohttp's `reuse_port`): the kernel spreads incoming connections evenly among the
  workers' sockets, and a worker that dies stops receiving new ones. Connections waiting in a dead
  worker's queue are refused; Telegram and Zalo deliver those updates again, and every update is
  recorded before it is acknowledged, so nothing acknowledged is lost.

Each worker keeps Telegram's overall rate (TELEGRAM_MAX_MESSAGES_PER_SECOND) divided by N, so
together they keep the limit. A worker whose parent is gone stops (bot/server.py).
"""

from __future__ import annotations

import logging
import signal
import subprocess
import sys
import time
from collections.abc import Callable

log = logging.getLogger(__name__)
RESTART_FIRST, RESTART_MAX = 1.0, 30.0  # seconds before starting again a worker that ended soon after starting, doubling
QUICK_EXIT = 10.0  # a worker that ran at least this long is started again at once
STOP_GRACE = 30.0  # after SIGTERM, a worker has this long to finish its work in flight (it drains for 20 s)
TICK = 0.2  # seconds between looks at the workers (a signal cuts the wait short)


def refusal(settings) -> str | None:
    """Why these settings cannot run several workers; None when they can."""
    from sqlalchemy.engine import make_url

    if make_url(settings.effective_database_url).get_backend_name() != "postgresql":
        return ("several workers need PostgreSQL (DATABASE_URL=postgresql+psycopg://…). SQLite takes one writer at a "
                "time and one process keeps each chat's order; run one worker on SQLite.")
    if settings.telegram_bot_token is None and settings.zalo_bot_token is None and not settings.zalo_oa_configured:
        return "several workers need a webhook channel (Telegram, Zalo Bot or Zalo OA); the console is one terminal."
    if settings.telegram_bot_token is not None and settings.telegram_mode != "webhook":
        return "several workers need TELEGRAM_MODE=webhook: Telegram hands updates to one getUpdates poller at a time."
    if settings.zalo_bot_token is not None and not (settings.zalo_bot_webhook_secret and settings.public_base_url):
        return ("several workers need Zalo Bot's webhook (ZALO_BOT_WEBHOOK_SECRET and PUBLIC_BASE_URL): "
                "without it every worker would poll getUpdates.")
    return None


def describe(code: int) -> str:
    return f"signal {signal.Signals(-code).name}" if code < 0 else f"exit code {code}"


def supervise(command: Callable[[int], list[str]], count: int) -> int:
    """Runs `command(slot)` for slots 0…count-1 until SIGTERM or SIGINT, starting again any that
    ends; then stops them all with SIGTERM (SIGKILL after STOP_GRACE). Returns the exit code."""
    stopping: list[int] = []
    signal.signal(signal.SIGTERM, lambda signum, _frame: stopping.append(signum))
    signal.signal(signal.SIGINT, lambda signum, _frame: stopping.append(signum))
    running: dict[int, tuple[subprocess.Popen, float]] = {}
    due = {slot: 0.0 for slot in range(count)}  # slot -> when to start it (monotonic)
    pauses: dict[int, float] = {}
    log.info("starting %d workers", count)
    while not stopping:
        now = time.monotonic()
        for slot, at in sorted(due.items()):
            if at <= now:
                process = subprocess.Popen(command(slot))
                running[slot] = (process, now)
                del due[slot]
                log.info("worker %d started (pid %d)", slot, process.pid)
        for slot, (process, started) in list(running.items()):
            code = process.poll()
            if code is None:
                continue
            del running[slot]
            if now - started >= QUICK_EXIT:
                pauses[slot] = 0.0
            else:  # ended soon after starting (the database down, a wrong setting): do not spin
                pauses[slot] = min(max(pauses.get(slot, 0.0) * 2, RESTART_FIRST), RESTART_MAX)
            due[slot] = now + pauses[slot]
            log.warning("worker %d (pid %d) ended (%s); starting it again in %.0f s", slot, process.pid, describe(code),
                        pauses[slot])
        time.sleep(TICK)
    log.info("%s: stopping %d workers", signal.Signals(stopping[0]).name, len(running))
    for process, _ in running.values():
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + STOP_GRACE
    for slot, (process, _) in running.items():
        try:
            process.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            log.warning("worker %d (pid %d) did not stop in %.0f s: killed", slot, process.pid, STOP_GRACE)
            process.kill()
            process.wait()
    return 0


def worker_command(slot: int, count: int, locale: str | None) -> list[str]:
    """`python -m bot run` as worker `slot` of `count`."""
    prefix = ["--locale", locale] if locale else []
    return [sys.executable, "-m", "bot", *prefix, "run", "--slot", str(slot), "--of", str(count)]
