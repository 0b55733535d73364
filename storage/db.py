"""Engine, sessions and migrations. SQLite under DATA_DIR by default; PostgreSQL by DATABASE_URL."""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path

from sqlalchemy import event, text
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import DBAPIError, DisconnectionError, OperationalError
from sqlmodel import Session, create_engine

log = logging.getLogger(__name__)
MIGRATIONS = Path(__file__).resolve().parent / "migrations"
MIGRATION_LOCK = 0x5EED_0013  # the PostgreSQL advisory lock that lets one process at a time migrate


def make_engine(url: str, *, schema: str | None = None) -> Engine:
    """An engine with safe defaults; `schema` puts everything in one PostgreSQL schema (tests), and
    names its connections after it (application_name), so a test can find its own connections."""
    parsed = make_url(url)
    kwargs: dict = {"hide_parameters": True}  # bound values (personal data) never reach error messages
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            private_database_file(Path(parsed.database))
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": 15}
    elif schema:
        kwargs["connect_args"] = {"options": f"-csearch_path={schema}", "application_name": schema}
    engine = create_engine(parsed, **kwargs)
    if parsed.get_backend_name() == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    else:
        ping_when_idle(engine)
    return engine


PING_AFTER = 1.0  # seconds a pooled PostgreSQL connection may sit unused before it is pinged on checkout
# Set while a unit of work runs whose caller runs it again after a dropped connection (run_db, the
# dispatcher): copied into the worker thread with the rest of the context.
_RETRIED: ContextVar[bool] = ContextVar("retried_after_a_dropped_connection", default=False)


@contextmanager
def retried() -> Iterator[None]:
    """Marks the database work inside as run again by its caller after a dropped connection."""
    token = _RETRIED.set(True)
    try:
        yield
    finally:
        _RETRIED.reset(token)


def ping_when_idle(engine: Engine) -> None:
    """Pessimistic disconnect handling, as pool_pre_ping does: a pooled connection is pinged on
    checkout, and one that does not answer is replaced before it is handed out — except for work
    that is run again after a dropped connection anyway (`retried`: every update's transactions),
    when the connection was in use less than PING_AFTER ago. pool_pre_ping pinged every checkout:
    three round trips of every update. If the server went away in that second, the statement
    fails as retryable and the unit of work runs again on a fresh connection (RETRY_DELAYS)."""

    @event.listens_for(engine, "connect")
    def made(_dbapi_connection, record) -> None:
        record.info["fresh"] = True  # just connected: not pinged (as pool_pre_ping)

    @event.listens_for(engine, "checkin")
    def returned(_dbapi_connection, record) -> None:
        record.info["returned_at"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def handed_out(dbapi_connection, record, _proxy) -> None:
        if record.info.pop("fresh", False):
            return
        if _RETRIED.get() and time.monotonic() - record.info.get("returned_at", float("-inf")) < PING_AFTER:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as exc:  # noqa: BLE001 - any failure: the pool replaces the connection
            raise DisconnectionError() from exc


PRIVATE_DIR, PRIVATE_FILE = 0o700, 0o600
SQLITE_COMPANIONS = ("-wal", "-shm", "-journal")


def private_dir(path: Path) -> None:
    """A folder only its owner can enter (created if missing)."""
    path.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
    os.chmod(path, PRIVATE_DIR)


def private_database_file(path: Path) -> None:
    """The SQLite file (and its -wal/-shm companions) readable by its owner only, in a folder only
    the owner can enter. The file is created empty with mode 0600 before SQLite opens it, so it is
    never world-readable, even for a moment; SQLite creates its companions with the same mode."""
    private_dir(path.parent)
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, PRIVATE_FILE)
    os.close(descriptor)
    for candidate in (path, *(path.with_name(path.name + suffix) for suffix in SQLITE_COMPANIONS)):
        if candidate.exists():
            os.chmod(candidate, PRIVATE_FILE)


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    # Deleted and overwritten content is zeroed in the file, not left in free pages: an erased
    # record cannot be read back from the database file (see wipe_free_pages for the WAL).
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=15000")
    cursor.close()


def wipe_free_pages(engine: Engine) -> None:
    """After an erase: on SQLite, copies the write-ahead log into the database file (where
    secure_delete has zeroed the erased content) and truncates the log, which still holds the old
    page images. On PostgreSQL nothing here: dead row versions (ciphertext only) are reclaimed by
    (auto)vacuum; see the README's Privacy section for the vacuum policy."""
    if is_postgres(engine):
        return
    with engine.connect() as connection:
        busy, _, _ = connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)").one()
        if busy:
            log.warning("the write-ahead log could not be truncated after an erase (a reader was active); it is at the next checkpoint")


def alembic_config():
    from alembic.config import Config  # imported on use: `ask` never migrates

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def migrate(engine: Engine, cipher=None) -> None:
    """Brings the schema to the newest migration (run at every start-up; a no-op when current).
    `cipher` is for migrations that turn stored values into keyed hashes or ciphertext, and becomes
    the engine's key ring for sealed chat ids (storage/sealed.py)."""
    from alembic import command

    if cipher is not None:
        from storage.sealed import use_cipher

        use_cipher(engine, cipher)
    config = alembic_config()
    with engine.begin() as connection:
        if is_postgres(engine):
            # Workers starting together (`run --workers N`) migrate one after another; the others
            # then find the schema current.
            connection.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": MIGRATION_LOCK})
        config.attributes["connection"] = connection
        config.attributes["cipher"] = cipher
        command.upgrade(config, "head")


def is_postgres(engine: Engine) -> bool:
    return engine.dialect.name == "postgresql"


# A dropped connection (PostgreSQL restarted, a backend killed, a failover) or a busy SQLite file
# fails one transaction; it is run again on a fresh connection after these pauses (about 1.5 s in
# all) before the caller is told the database is unavailable.
RETRY_DELAYS = (0.05, 0.1, 0.2, 0.4, 0.8)


def retryable(exc: BaseException) -> bool:
    """Whether re-running the whole transaction may succeed: the connection dropped or the
    database was momentarily unavailable (never a constraint or programming error)."""
    return isinstance(exc, OperationalError) or (isinstance(exc, DBAPIError) and bool(exc.connection_invalidated))


async def run_db(engine: Engine, function, *args):
    """Runs a short unit of database work (one whole transaction: `function` must be safe to run
    again) from the event loop, re-running it after a dropped connection (RETRY_DELAYS)."""
    for delay in (*RETRY_DELAYS, None):
        try:
            with retried():
                return await _run_db_once(engine, function, *args)
        except DBAPIError as exc:
            if delay is None or not retryable(exc):
                raise
            log.info("database unavailable (%s); transaction run again in %.2f s", type(exc).__name__, delay)
            await asyncio.sleep(delay)


async def _run_db_once(engine: Engine, function, *args):
    """Runs a short unit of database work from the event loop. SQLite (a local file, one process,
    sub-millisecond statements) runs it in the loop's own thread: handing it to a worker thread
    cost more than the work, because the threads then fight over the GIL (webhook throughput
    doubled without it). PostgreSQL, where a statement can wait on the network or on another
    worker's lock, runs it in a worker thread so the loop never blocks."""
    if is_postgres(engine):
        return await asyncio.to_thread(function, *args)
    return function(*args)


_sqlite_writers: weakref.WeakKeyDictionary[Engine, threading.RLock] = weakref.WeakKeyDictionary()


@contextmanager
def connection_transaction(engine: Engine, *, lock_key: str | None = None) -> Iterator[Connection]:
    """Like `transaction`, on a Core connection: no ORM session unless a handler asks for one
    (see bot.context.Context.session). The hot path of every update (claim, load and save the
    state, keep the replies) costs a third of what it did through an ORM session."""
    if is_postgres(engine):
        with engine.begin() as connection:
            if lock_key is not None:
                connection.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:k, 0))"), {"k": lock_key})
            yield connection
        return
    writer = _sqlite_writers.setdefault(engine, threading.RLock())
    with writer, engine.begin() as connection:
        yield connection


@contextmanager
def one_statement(engine: Engine) -> Iterator[Connection]:
    """For a unit of work that is a single statement, atomic on its own (an UPDATE marking an inbox
    row): on PostgreSQL it runs in autocommit, without the BEGIN and COMMIT round trips of a
    transaction around it; on SQLite it is `connection_transaction`."""
    if not is_postgres(engine):
        with connection_transaction(engine) as connection:
            yield connection
        return
    with engine.connect() as connection:
        connection = connection.execution_options(isolation_level="AUTOCOMMIT")
        yield connection


@contextmanager
def transaction(engine: Engine, *, lock_key: str | None = None) -> Iterator[Session]:
    """One unit of work: commits on success, rolls back on error. On PostgreSQL `lock_key` takes a
    transaction-scoped advisory lock, so several workers never process one conversation at once.
    On SQLite, which has one writer at a time anyway, transactions of this process take turns on a
    lock instead of colliding and sleeping in SQLite's busy handler."""
    if is_postgres(engine):
        with Session(engine, expire_on_commit=False) as session, session.begin():
            if lock_key is not None:
                session.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:k, 0))").bindparams(k=lock_key))
            yield session
        return
    writer = _sqlite_writers.setdefault(engine, threading.RLock())
    with writer, Session(engine, expire_on_commit=False) as session, session.begin():
        yield session
