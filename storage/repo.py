"""Repository functions: keyword-only, session first. The transaction is the caller's (one update)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, update
from sqlalchemy.engine import Connection
from sqlalchemy import select as sa_select
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from storage.models import ChannelContact, Conversation, Download, InboxUpdate, OAuthToken, ProcessedUpdate, UnansweredQuestion


def _insert(session: Session, model):
    """The dialect's INSERT (for ON CONFLICT), given a Session or a Connection."""
    dialect = (session.dialect if isinstance(session, Connection) else session.get_bind().dialect).name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(model)


def claim_update(*, session: Session, channel: str, update_id: str, now: datetime) -> bool:
    """Records the update as processed; False when it was already (a repeated delivery)."""
    statement = (
        _insert(session, ProcessedUpdate)
        .values(channel=channel, update_id=update_id, processed_at=now)
        .on_conflict_do_nothing(index_elements=["channel", "update_id"])
        .returning(ProcessedUpdate.__table__.c.update_id)
    )
    return session.execute(statement).first() is not None


def load_state(*, session: Session, channel: str, chat_id: str) -> str | None:
    table = Conversation.__table__
    statement = sa_select(table.c.state).where(table.c.channel == channel, table.c.chat_id == chat_id)
    return session.execute(statement).scalar()


def save_state(*, session: Session, channel: str, chat_id: str, state: str, now: datetime) -> None:
    statement = (
        _insert(session, Conversation)
        .values(channel=channel, chat_id=chat_id, state=state, created_at=now, updated_at=now)
        .on_conflict_do_update(index_elements=["channel", "chat_id"], set_={"state": state, "updated_at": now})
    )
    session.execute(statement)


def record_unanswered(*, session: Session, key: str, text: str, status: str, now: datetime) -> None:
    """Counts one more occurrence of an unanswered question (redacted text, no identity)."""
    insert = _insert(session, UnansweredQuestion)
    statement = insert.values(key=key, text=text, status=status, count=1, first_seen=now, last_seen=now)
    statement = statement.on_conflict_do_update(
        index_elements=["key"],
        set_={"count": UnansweredQuestion.__table__.c.count + 1, "last_seen": now, "status": status},
    )
    session.execute(statement)


def list_unanswered(*, session: Session, limit: int = 100) -> list[UnansweredQuestion]:
    statement = (
        select(UnansweredQuestion)
        .order_by(col(UnansweredQuestion.count).desc(), col(UnansweredQuestion.last_seen).desc())
        .limit(limit)
    )
    return list(session.exec(statement))


def prune_inbox(*, session: Session, before: datetime) -> int:
    """Forgets answered updates (their encrypted text and replies) received before `before`."""
    statement = delete(InboxUpdate).where(col(InboxUpdate.sent_at).is_not(None), col(InboxUpdate.received_at) < before)
    return session.exec(statement).rowcount or 0


def prune_downloads(*, session: Session, now: datetime) -> int:
    """Forgets files whose link was used or has expired."""
    statement = delete(Download).where((col(Download.used_at).is_not(None)) | (col(Download.expires_at) < now))
    return session.exec(statement).rowcount or 0


def prune_processed_updates(*, session: Session, before: datetime) -> int:
    """Forgets deduplication records older than `before` (channels never redeliver that late)."""
    result = session.exec(delete(ProcessedUpdate).where(col(ProcessedUpdate.processed_at) < before))
    return result.rowcount or 0


def record_inbox(*, session: Session, channel: str, update_id: str, payload: str, now: datetime) -> int | None:
    """Records a delivered update; its row id, or None when the same update was recorded before."""
    statement = (
        _insert(session, InboxUpdate)
        .values(channel=channel, update_id=update_id, payload=payload, received_at=now)
        .on_conflict_do_nothing(index_elements=["channel", "update_id"])
        .returning(InboxUpdate.__table__.c.id)
    )
    return session.execute(statement).scalar()


def store_replies(*, session: Session, inbox_id: int, replies: str, now: datetime) -> None:
    """Keeps the replies with the update, in the handler's transaction."""
    table = InboxUpdate.__table__
    session.execute(update(table).where(table.c.id == inbox_id).values(replies=replies, processed_at=now))


def mark_sent(*, session: Session, inbox_ids: list[int], now: datetime) -> None:
    table = InboxUpdate.__table__
    session.execute(update(table).where(table.c.id.in_(inbox_ids)).values(sent_at=now))


def unfinished_inbox(*, session: Session, channel: str, limit: int = 1000) -> list[InboxUpdate]:
    """Updates recorded but not yet answered, oldest first (finished at start-up)."""
    statement = (
        select(InboxUpdate)
        .where(InboxUpdate.channel == channel, col(InboxUpdate.sent_at).is_(None))
        .order_by(col(InboxUpdate.id))
        .limit(limit)
    )
    return list(session.exec(statement))


def load_token(*, session: Session, name: str) -> OAuthToken | None:
    return session.get(OAuthToken, name)


def save_token(*, session: Session, name: str, access: str, refresh: str, expires_at: datetime | None, now: datetime) -> None:
    """Stores an (encrypted) token pair, replacing the previous one."""
    statement = (
        _insert(session, OAuthToken)
        .values(name=name, access_token=access, refresh_token=refresh, expires_at=expires_at, updated_at=now)
        .on_conflict_do_update(
            index_elements=["name"],
            set_={"access_token": access, "refresh_token": refresh, "expires_at": expires_at, "updated_at": now},
        )
    )
    session.exec(statement)


def contact_wrote(*, session: Session, channel: str, chat_id: str, now: datetime) -> None:
    """The person wrote: reachable again, and the messaging window restarts."""
    statement = (
        _insert(session, ChannelContact)
        .values(channel=channel, chat_id=chat_id, last_inbound_at=now, unreachable_since=None, reason=None)
        .on_conflict_do_update(
            index_elements=["channel", "chat_id"], set_={"last_inbound_at": now, "unreachable_since": None, "reason": None}
        )
    )
    session.execute(statement)


def contact_unreachable(*, session: Session, channel: str, chat_id: str, reason: str, now: datetime) -> None:
    statement = (
        _insert(session, ChannelContact)
        .values(channel=channel, chat_id=chat_id, unreachable_since=now, reason=reason)
        .on_conflict_do_update(index_elements=["channel", "chat_id"], set_={"unreachable_since": now, "reason": reason})
    )
    session.exec(statement)


def get_contact(*, session: Session, channel: str, chat_id: str) -> ChannelContact | None:
    return session.get(ChannelContact, (channel, chat_id))
