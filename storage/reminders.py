"""Repository: the reminder ledger (one row per deadline, period, officer and lead time) and the
officers' answers to reminders (done, snoozed)."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from storage.models import ReminderDelivery, ReminderTask
from storage.repo import _insert


def claim(*, session: Session, deadline_id: str, period: str, officer_id: int, lead: str, status: str, now: datetime) -> int | None:
    """Records the delivery; its id, or None when this (deadline, period, officer, lead) exists already.
    The unique key decides, so two sweepers can never both claim one reminder."""
    statement = (
        _insert(session, ReminderDelivery)
        .values(deadline_id=deadline_id, period=period, officer_id=officer_id, lead=lead, status=status, created_at=now)
        .on_conflict_do_nothing(index_elements=["deadline_id", "period", "officer_id", "lead"])
        .returning(ReminderDelivery.__table__.c.id)
    )
    return session.exec(statement).scalar()


def set_notification(*, session: Session, delivery_id: int, notification_id: int) -> None:
    row = session.get_one(ReminderDelivery, delivery_id)
    row.notification_id = notification_id
    session.add(row)


def existing(*, session: Session, officer_ids: list[int], periods: list[str]) -> set[tuple[str, str, int, str]]:
    """Keys already in the ledger for these officers and periods (to skip them without a write)."""
    if not officer_ids or not periods:
        return set()
    statement = select(ReminderDelivery.deadline_id, ReminderDelivery.period, ReminderDelivery.officer_id, ReminderDelivery.lead).where(
        col(ReminderDelivery.period).in_(periods), col(ReminderDelivery.officer_id).in_(officer_ids)
    )
    return {(deadline, period, officer, lead) for deadline, period, officer, lead in session.exec(statement)}


def tasks(*, session: Session, officer_ids: list[int]) -> dict[tuple[str, str, int], ReminderTask]:
    if not officer_ids:
        return {}
    statement = select(ReminderTask).where(col(ReminderTask.officer_id).in_(officer_ids))
    return {(t.deadline_id, t.period, t.officer_id): t for t in session.exec(statement)}


def mark_task(*, session: Session, deadline_id: str, period: str, officer_id: int, now: datetime,
              done: bool = False, snoozed_until: datetime | None = None) -> None:
    """Done or snoozed, as one upsert: two presses at once (or a press while the sweeper runs)
    never collide on the key or lose one of the answers."""
    values = {}
    if done:
        values["done_at"] = now
    if snoozed_until is not None:
        values["snoozed_until"] = snoozed_until
    statement = _insert(session, ReminderTask).values(deadline_id=deadline_id, period=period, officer_id=officer_id, **values)
    if values:
        statement = statement.on_conflict_do_update(index_elements=["deadline_id", "period", "officer_id"], set_=values)
    else:
        statement = statement.on_conflict_do_nothing(index_elements=["deadline_id", "period", "officer_id"])
    session.execute(statement)


def deliveries(*, session: Session, status: str | None = None) -> list[ReminderDelivery]:
    statement = select(ReminderDelivery)
    if status is not None:
        statement = statement.where(ReminderDelivery.status == status)
    return list(session.exec(statement.order_by(col(ReminderDelivery.id))))
