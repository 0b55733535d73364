"""Repository: per-chat counters for limits that must survive a restart (wrong invite codes and
their lockout, registrations and questions to officers per day). Chats are keyed by a keyed hash,
never by their id: the table says nothing about who wrote."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlmodel import Session

from storage.models import ChatLimit
from storage.repo import _insert


def count(*, session: Session, chat_key: str, kind: str, period: str) -> int:
    table = ChatLimit.__table__
    statement = select(table.c.count).where(table.c.chat_key == chat_key, table.c.kind == kind, table.c.period == period)
    return session.execute(statement).scalar() or 0


def add(*, session: Session, chat_key: str, kind: str, period: str, now: datetime) -> int:
    """One more, as one upsert (two workers never lose a count); the new count."""
    table = ChatLimit.__table__
    statement = (
        _insert(session, ChatLimit)
        .values(chat_key=chat_key, kind=kind, period=period, count=1, updated_at=now)
        .on_conflict_do_update(index_elements=["chat_key", "kind", "period"], set_={"count": table.c.count + 1, "updated_at": now})
        .returning(table.c.count)
    )
    return session.execute(statement).scalar()


def blocked_until(*, session: Session, chat_key: str, kind: str) -> datetime | None:
    table = ChatLimit.__table__
    statement = select(table.c.until).where(table.c.chat_key == chat_key, table.c.kind == kind, table.c.period == "")
    return session.execute(statement).scalar()


def block(*, session: Session, chat_key: str, kind: str, until: datetime, now: datetime) -> None:
    """Blocks `kind` until then, and starts its count afresh."""
    table = ChatLimit.__table__
    statement = (
        _insert(session, ChatLimit)
        .values(chat_key=chat_key, kind=kind, period="", count=0, until=until, updated_at=now)
        .on_conflict_do_update(index_elements=["chat_key", "kind", "period"], set_={"count": 0, "until": until, "updated_at": now})
    )
    session.execute(statement)


def reset(*, session: Session, chat_key: str, kind: str, now: datetime) -> None:
    table = ChatLimit.__table__
    statement = update(table).where(table.c.chat_key == chat_key, table.c.kind == kind, table.c.period == "")
    session.execute(statement.values(count=0, until=None, updated_at=now))


def prune(*, session: Session, before: datetime) -> int:
    """Forgets counters not touched since `before` (days past, lockouts long over)."""
    from sqlalchemy import delete

    table = ChatLimit.__table__
    return session.execute(delete(table).where(table.c.updated_at < before)).rowcount or 0
