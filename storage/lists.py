"""Repository: the month's lists (one per commune and month), their steps taken once.

Keyword-only, session first; the transaction is the caller's. The signer and the return note
arrive encrypted."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, col, select

from storage.models import MonthlyList

CLOSED, CONFIRMED, RETURNED, RECEIVED = "closed", "confirmed", "returned", "received"


def get(*, session: Session, list_id: int) -> MonthlyList | None:
    return session.get(MonthlyList, list_id)


def find(*, session: Session, commune_code: int, period: str) -> MonthlyList | None:
    return session.exec(select(MonthlyList).where(MonthlyList.commune_code == commune_code, MonthlyList.period == period)).first()


def of_communes(*, session: Session, commune_codes: list[int], statuses: tuple[str, ...] | None = None,
                limit: int = 12) -> list[MonthlyList]:
    statement = select(MonthlyList).where(col(MonthlyList.commune_code).in_(commune_codes))
    if statuses is not None:
        statement = statement.where(col(MonthlyList.status).in_(statuses))
    return list(session.exec(statement.order_by(col(MonthlyList.period).desc(), col(MonthlyList.id)).limit(limit)))


def close(*, session: Session, commune_code: int, period: str, actor: str, now: datetime) -> MonthlyList | None:
    """Opens the period's list as closed by the police, or closes again one the committee returned.
    None when the period's list exists and was not returned (closed, confirmed or received)."""
    row = find(session=session, commune_code=commune_code, period=period)
    if row is None:
        row = MonthlyList(commune_code=commune_code, period=period, status=CLOSED, closed_at=now, closed_by=actor)
        session.add(row)
        session.flush()
        return row
    if not take(session=session, row=row, status_from=(RETURNED,)):
        return None
    row.status, row.closed_at, row.closed_by = CLOSED, now, actor
    row.decided_at, row.decided_by, row.note = None, None, None
    session.add(row)
    return row


def take(*, session: Session, row: MonthlyList, status_from: tuple[str, ...], expected: int | None = None) -> bool:
    """Takes the list for one step if it is in one of `status_from` (and at version `expected`):
    one conditional UPDATE, so of two presses at once only the first counts."""
    version = row.version if expected is None else expected
    table = MonthlyList.__table__
    result = session.exec(update(table).where(table.c.id == row.id, table.c.version == version,
                                              table.c.status.in_(status_from)).values(version=version + 1))
    if result.rowcount != 1:
        session.refresh(row)
        return False
    set_committed_value(row, "version", version + 1)
    return True
