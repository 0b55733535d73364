"""Shared fixtures: the real content, a real database (SQLite file, or PostgreSQL when
TEST_DATABASE_URL is set: a fresh schema per test), and small message factories."""

from __future__ import annotations

import asyncio
import atexit
import itertools
import os
import shutil
import tempfile
import uuid
from datetime import date

import pytest
from sqlalchemy import text

from bot.app import Brain, build_app, build_brain
from bot.settings import Settings
from bot.types import Incoming, Kind
from storage.db import make_engine

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "").strip()
# The trained n-gram models (bot/nlu/linear.py) are cached for this run only, in a folder every
# subprocess the tests start inherits: trained once per run, never read from the user's cache.
if "BOT_MODEL_CACHE" not in os.environ:
    os.environ["BOT_MODEL_CACHE"] = _models = tempfile.mkdtemp(prefix="bot-models-")
    atexit.register(shutil.rmtree, _models, ignore_errors=True)
_update_ids = itertools.count(1)


@pytest.fixture(scope="session")
def brain() -> Brain:
    return build_brain()


@pytest.fixture
def ctx(brain):
    return brain.context(lang="vi", today=date(2026, 11, 22))


@pytest.fixture
def database_url(tmp_path):
    """A database nobody else uses: a new SQLite file, or a new PostgreSQL schema dropped afterwards."""
    if not TEST_DATABASE_URL:
        yield f"sqlite:///{tmp_path / 'bot.sqlite3'}", None
        return
    schema = f"test_{uuid.uuid4().hex[:12]}"
    admin = make_engine(TEST_DATABASE_URL)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield TEST_DATABASE_URL, schema
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


_subprocess_schemas: list[str] = []


def subprocess_database_url(data_dir) -> str:
    """The database a `python -m bot` process of a test uses: its SQLite file under `data_dir`, or,
    when TEST_DATABASE_URL is set, a PostgreSQL schema of its own (chosen through the connection's
    search_path, so the process sees only it), dropped at the end of the run."""
    if not TEST_DATABASE_URL:
        return f"sqlite:///{data_dir}/bot.sqlite3"
    import hashlib

    schema = "sub_" + hashlib.sha256(str(data_dir).encode()).hexdigest()[:12]
    if schema not in _subprocess_schemas:
        admin = make_engine(TEST_DATABASE_URL)
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        admin.dispose()
        _subprocess_schemas.append(schema)
    separator = "&" if "?" in TEST_DATABASE_URL else "?"
    return f"{TEST_DATABASE_URL}{separator}options=-csearch_path%3D{schema}"


def subprocess_engine(data_dir):
    """An engine on a subprocess test's database, with that process's key ring (the development
    key file under `data_dir`): chat ids are sealed, so reading them needs the key."""
    from standins.processes import sealed_engine

    return sealed_engine(subprocess_database_url(data_dir), data_dir)


def database_dump(data_dir) -> bytes:
    """Everything a subprocess test's database holds, as bytes: the SQLite files, or every row of
    every table of its PostgreSQL schema as text."""
    from pathlib import Path

    if not TEST_DATABASE_URL:
        return b"".join(p.read_bytes() for p in Path(data_dir).glob("bot.sqlite3*"))
    engine = make_engine(subprocess_database_url(data_dir))
    out = []
    with engine.connect() as connection:
        tables = connection.execute(text("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")).scalars().all()
        for table in tables:
            out += [str(tuple(row)) for row in connection.execute(text(f'SELECT * FROM "{table}"'))]
    engine.dispose()
    return "\n".join(out).encode()


def _drop_subprocess_schemas() -> None:
    if not _subprocess_schemas:
        return
    admin = make_engine(TEST_DATABASE_URL)
    with admin.begin() as connection:
        for schema in _subprocess_schemas:
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture
def engine(database_url, tmp_path):
    """The test's database, with the key ring the app built on `settings` (the development key
    file under tmp_path) will use: rows written here before the app is built read back there."""
    from storage.crypto import Cipher, development_key
    from storage.sealed import use_cipher

    url, schema = database_url
    engine = make_engine(url, schema=schema)
    use_cipher(engine, Cipher([development_key(tmp_path)]))
    yield engine
    engine.dispose()


@pytest.fixture
def settings(tmp_path) -> Settings:
    # Scripted chats type faster than any person: the per-minute limit is off here, and on in
    # tests/security/test_limits.py, which tests it.
    return Settings(_env_file=None, data_dir=tmp_path, bot_locale="vi", limit_messages_per_minute=0)


@pytest.fixture
def app(settings, brain, engine):
    return build_app(settings, brain=brain, engine=engine)


def make_message(text: str = "", *, chat_id: str = "42", kind: Kind = Kind.TEXT, **overrides) -> Incoming:
    """An update as an adapter would produce it; a fresh update id unless one is given."""
    fields = dict(channel="test", chat_id=chat_id, user_id=chat_id, update_id=str(next(_update_ids)), kind=kind, text=text)
    fields.update(overrides)
    return Incoming(**fields)


def press(payload: str, **overrides) -> Incoming:
    return make_message(kind=Kind.BUTTON, payload=payload, **overrides)


def run(coro):
    return asyncio.run(coro)


# -- the log scan over the whole run -------------------------------------------------------------------

_collector = None


def pytest_sessionstart(session):
    import logging

    from tests.log_scan import Collector

    global _collector
    _collector = Collector()
    root = logging.getLogger()
    root.addHandler(_collector)
    if root.level > logging.INFO or root.level == logging.NOTSET:
        root.setLevel(logging.INFO)


def pytest_sessionfinish(session, exitstatus):
    from tests.log_scan import scan

    _drop_subprocess_schemas()
    if _collector is None:
        return
    found = scan(_collector.lines)
    if found:
        print(f"\nLOG SCAN: {len(found)} log lines hold personal data or secrets:", *found[:20], sep="\n  ")
        session.exitstatus = 1
    else:
        print(f"\nlog scan: {len(_collector.lines)} log lines, no phone number, ID number or token")
