"""Repository: messages to other chats (decisions, relayed questions, reminders), sent by that
chat's channel. A sender leases the rows it takes, so two workers never send the same one."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from storage.models import Notification

MAX_ATTEMPTS = 12  # with back-off (1, 2, 4 … 60 minutes) about half a day; then given up and recorded
LEASE = timedelta(seconds=30)  # a sender that died while sending: its rows are taken again after this


def add(*, session: Session, channel: str, chat_id: str, replies: str, now: datetime, origin_key: str | None = None) -> int:
    row = Notification(channel=channel, chat_id=chat_id, replies=replies, created_at=now, origin_key=origin_key)
    session.add(row)
    session.flush()
    return row.id


def claim(*, session: Session, channel: str, now: datetime, chat_id: str | None = None, limit: int = 20,
          lease: timedelta = LEASE) -> list[Notification]:
    """Unsent, not given up, not leased or backing off: taken for LEASE, oldest first.
    On PostgreSQL rows another worker is taking right now are skipped (FOR UPDATE SKIP LOCKED)."""
    statement = select(Notification).where(
        Notification.channel == channel, col(Notification.sent_at).is_(None), col(Notification.failed_at).is_(None),
        (col(Notification.not_before).is_(None)) | (col(Notification.not_before) <= now),
    )
    if chat_id is not None:
        statement = statement.where(Notification.chat_id == chat_id)
    statement = statement.order_by(col(Notification.id)).limit(limit)
    if session.get_bind().dialect.name == "postgresql":
        statement = statement.with_for_update(skip_locked=True)
    rows = list(session.exec(statement))
    for row in rows:
        row.not_before = now + lease
        session.add(row)
    return rows


def mark_sent(*, session: Session, notification_id: int, now: datetime) -> None:
    row = session.get_one(Notification, notification_id)
    row.sent_at = now
    session.add(row)


def mark_attempt(*, session: Session, notification_id: int, now: datetime, permanent: bool, reason: str = "") -> None:
    """A failed send: tried again after a back-off, or given up when permanent or tried too often."""
    row = session.get_one(Notification, notification_id)
    row.attempts += 1
    row.reason = reason[:64] or None
    if permanent or row.attempts >= MAX_ATTEMPTS:
        row.failed_at = now
    else:
        row.not_before = now + timedelta(minutes=min(2 ** (row.attempts - 1), 60))
    session.add(row)


def failed_since(*, session: Session, since: datetime) -> list[Notification]:
    """Notifications given up since `since` (blocked bot, outside the messaging window)."""
    statement = select(Notification).where(col(Notification.failed_at) >= since).order_by(col(Notification.id))
    return list(session.exec(statement))


def erase_for_chat(*, session: Session, channel: str, chat_id: str, origin_keys: Sequence[str] = ()) -> int:
    """Deleting one's data: messages to that chat (officers' answers, decisions) go too, and the
    messages its own messages wrote to others (questions and corrections relayed to officers)."""
    from sqlalchemy import delete

    to_chat = (col(Notification.channel) == channel) & (col(Notification.chat_id) == chat_id)
    statement = delete(Notification).where(to_chat | col(Notification.origin_key).in_(list(origin_keys)))
    return session.exec(statement).rowcount or 0


def prune(*, session: Session, before: datetime) -> int:
    """Forgets messages sent or given up before `before`."""
    from sqlalchemy import delete

    done = (col(Notification.sent_at) < before) | (col(Notification.failed_at) < before)
    return session.exec(delete(Notification).where(done)).rowcount or 0

