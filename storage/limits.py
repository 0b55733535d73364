"""Repository: per-chat counters for limits, shared by every process on the database: messages
per minute, wrong invite codes and their lockout, registrations and questions to officers per day.
Chats are keyed by a keyed hash, never by their id: the table says nothing about who wrote.

Every function takes the chat's hashes under each key of the ring, newest first (`chat_keys`):
a counter kept under an older key (before a key rotation) is moved to the newest and counted on.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import bindparam, case, delete, select, update
from sqlalchemy.engine import Connection
from sqlmodel import Session

from storage.models import ChatLimit
from storage.repo import _insert


def _adopt(session: Session | Connection, chat_keys: list[str], kind: str, period: str) -> str:
    """The newest key, after moving this counter's rows kept under older keys onto it (counts
    added, the later lockout kept). Nothing to do, and no query, with a single key."""
    newest, older = chat_keys[0], chat_keys[1:]
    if not older:
        return newest
    table = ChatLimit.__table__
    mine = (table.c.kind == kind) & (table.c.period == period)
    rows = session.execute(select(table).where(mine, table.c.chat_key.in_([newest, *older]))).all()
    if not any(row.chat_key != newest for row in rows):
        return newest
    count = sum(row._mapping["count"] for row in rows)  # `row.count` is the tuple method to the type checker
    until = max((row.until for row in rows if row.until is not None), default=None)
    updated_at = max(row.updated_at for row in rows)
    session.execute(delete(table).where(mine, table.c.chat_key.in_([newest, *older])))
    session.execute(_insert(session, ChatLimit).values(chat_key=newest, kind=kind, period=period, count=count, until=until,
                                                       updated_at=updated_at))
    return newest


def count(*, session: Session, chat_keys: list[str], kind: str, period: str) -> int:
    key = _adopt(session, chat_keys, kind, period)
    table = ChatLimit.__table__
    statement = select(table.c.count).where(table.c.chat_key == key, table.c.kind == kind, table.c.period == period)
    return session.execute(statement).scalar() or 0


def add(*, session: Session, chat_keys: list[str], kind: str, period: str, now: datetime) -> int:
    """One more, as one upsert (two workers never lose a count); the new count."""
    key = _adopt(session, chat_keys, kind, period)
    table = ChatLimit.__table__
    statement = (
        _insert(session, ChatLimit)
        .values(chat_key=key, kind=kind, period=period, count=1, updated_at=now)
        .on_conflict_do_update(index_elements=["chat_key", "kind", "period"], set_={"count": table.c.count + 1, "updated_at": now})
        .returning(table.c.count)
    )
    return session.execute(statement).scalar_one()


_WINDOW: dict[str, object] = {}  # the statement every update runs, built once per dialect


def _window_statement(session: Session | Connection):
    dialect = session.get_bind().dialect.name if isinstance(session, Session) else session.dialect.name
    if dialect not in _WINDOW:
        table = ChatLimit.__table__
        current = table.c.until > bindparam("now")
        _WINDOW[dialect] = (
            _insert(session, ChatLimit)
            .values(chat_key=bindparam("key"), kind=bindparam("kind"), period="", count=1, until=bindparam("end"),
                    updated_at=bindparam("now"))
            .on_conflict_do_update(index_elements=["chat_key", "kind", "period"], set_={
                "count": case((current, table.c.count + 1), else_=1),
                "until": case((current, table.c.until), else_=bindparam("end")),
                "updated_at": bindparam("now"),
            })
            .returning(table.c.count)
        )
    return _WINDOW[dialect]


def add_in_window(*, session: Session | Connection, chat_keys: list[str], kind: str, now: datetime, window: timedelta) -> int:
    """One more in the chat's current window (`until` is its end): a window begins with the first
    message after the last one ended and lasts `window`. One upsert, so processes sharing the
    database count together and never lose a count; the count in the window so far."""
    key = _adopt(session, chat_keys, kind, "")
    values = {"key": key, "kind": kind, "now": now, "end": now + window}
    return session.execute(_window_statement(session), values).scalar_one()


def blocked_until(*, session: Session, chat_keys: list[str], kind: str) -> datetime | None:
    key = _adopt(session, chat_keys, kind, "")
    table = ChatLimit.__table__
    statement = select(table.c.until).where(table.c.chat_key == key, table.c.kind == kind, table.c.period == "")
    return session.execute(statement).scalar()


def block(*, session: Session, chat_keys: list[str], kind: str, until: datetime, now: datetime) -> None:
    """Blocks `kind` until then, and starts its count afresh."""
    key = _adopt(session, chat_keys, kind, "")
    statement = (
        _insert(session, ChatLimit)
        .values(chat_key=key, kind=kind, period="", count=0, until=until, updated_at=now)
        .on_conflict_do_update(index_elements=["chat_key", "kind", "period"], set_={"count": 0, "until": until, "updated_at": now})
    )
    session.execute(statement)


def reset(*, session: Session, chat_keys: list[str], kind: str, now: datetime) -> None:
    table = ChatLimit.__table__
    statement = update(table).where(table.c.chat_key.in_(list(chat_keys)), table.c.kind == kind, table.c.period == "")
    session.execute(statement.values(count=0, until=None, updated_at=now))


def prune(*, session: Session, before: datetime) -> int:
    """Forgets counters not touched since `before` (days past, lockouts long over)."""
    table = ChatLimit.__table__
    return session.exec(delete(table).where(table.c.updated_at < before)).rowcount or 0
