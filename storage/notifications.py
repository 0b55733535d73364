"""Repository: messages to other chats (decisions, relayed questions), sent by that chat's channel."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from storage.models import Notification

MAX_ATTEMPTS = 20  # about a day of one-minute sweeps with back-off; then given up and recorded


def add(*, session: Session, channel: str, chat_id: str, replies: str, now: datetime) -> None:
    session.add(Notification(channel=channel, chat_id=chat_id, replies=replies, created_at=now))


def due(*, session: Session, channel: str, chat_id: str | None = None, limit: int = 100) -> list[Notification]:
    """Unsent, not given up, oldest first."""
    statement = select(Notification).where(
        Notification.channel == channel, col(Notification.sent_at).is_(None), col(Notification.failed_at).is_(None)
    )
    if chat_id is not None:
        statement = statement.where(Notification.chat_id == chat_id)
    return list(session.exec(statement.order_by(col(Notification.id)).limit(limit)))


def mark_sent(*, session: Session, notification_id: int, now: datetime) -> None:
    row = session.get(Notification, notification_id)
    row.sent_at = now
    session.add(row)


def mark_attempt(*, session: Session, notification_id: int, now: datetime, permanent: bool) -> None:
    """A failed send: tried again later, or given up when permanent or tried too often."""
    row = session.get(Notification, notification_id)
    row.attempts += 1
    if permanent or row.attempts >= MAX_ATTEMPTS:
        row.failed_at = now
    session.add(row)
