"""`python -m bot …` as a separate process, the way an operator starts it: a clean environment
(no tokens, keys or database of the caller), its own data folder, and a database chosen by URL."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

# Settings of the caller that must not leak into a fresh install's process.
CALLER_ONLY = ("DATABASE_URL", "BOT_", "TELEGRAM_", "DATA_", "ZALO_")
REMINDER_NOW = "2026-12-04T08:00+07:00"  # the monthly list's on-the-day reminder (the 5th is a Saturday)


def clean_env(data_dir: Path, database_url: str, extra: dict | None = None) -> dict:
    """The environment of a fresh install on `database_url` (SQLite under `data_dir` when empty)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(CALLER_ONLY)}
    env.update({"DATA_DIR": str(data_dir), "PYTHONIOENCODING": "utf-8", "DATABASE_URL": database_url}, **(extra or {}))
    return env


def sqlite_url(data_dir: Path) -> str:
    return f"sqlite:///{data_dir}/bot.sqlite3"


def sealed_engine(database_url: str, data_dir: Path):
    """An engine on a process's database with that process's key ring (the development key file
    under `data_dir`): chat ids are sealed, so reading or writing them needs the key."""
    from storage.crypto import Cipher, development_key
    from storage.db import make_engine
    from storage.sealed import use_cipher

    engine = make_engine(database_url)
    use_cipher(engine, Cipher([development_key(data_dir)]))
    return engine


def bind_officers(engine, count: int) -> None:
    """`count` Telegram officers of one commune (chats 5000, 5001, …), on a migrated database."""
    from storage.db import migrate, transaction
    from storage.models import Officer

    migrate(engine)
    with transaction(engine) as session:
        for i in range(count):
            session.add(Officer(channel="telegram", chat_id=str(5000 + i), commune_code=17035, role="officer",
                                created_at=datetime(2026, 11, 1, tzinfo=UTC)))
    engine.dispose()


def reminders_run_once(data_dir: Path, env: dict, fake, now: str = REMINDER_NOW) -> subprocess.Popen:
    """`python -m bot reminders run-once` sending through the stand-in Bot API `fake` at 30 messages/s."""
    env = {**env, "TELEGRAM_BOT_TOKEN": fake.token, "TELEGRAM_API_BASE_URL": fake.base_url,
           "TELEGRAM_MAX_MESSAGES_PER_SECOND": "30", "NOTIFICATION_LEASE_SECONDS": "1"}
    return subprocess.Popen([sys.executable, "-m", "bot", "reminders", "run-once", "--now", now], cwd=data_dir, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
