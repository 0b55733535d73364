"""Inbox lanes: with several workers on one PostgreSQL database, each chat's updates are handled
and answered by one worker at a time, in arrival order, and a dead worker's are taken over.

Every unfinished update carries its conversation's lane (a keyed hash, cleared when the update is
finished). Before a worker handles and sends an update it leases the lane's oldest unfinished one.
While an update of the lane is leased (by any worker, itself included), nobody takes another of
that lane: the holder takes the next one itself when it finishes (`next_after`). Claims of one
lane take turns through a transaction-scoped advisory lock, and each statement after the lock
sees what the previous claimer committed, so two claims never both find the lane free. A lease
runs for INBOX_LEASE_SECONDS and is renewed while the worker works on it; a SIGKILLed worker's
leases run out and another worker's sweep takes the lane (a worker restarted under the same name
takes back its own at once, `release_worker`), resuming after the last confirmed message.

Updates that got "thử lại sau" (failed_at) do not hold their lane up: once a newer update of the
chat is taken they are closed unanswered (the person wrote again), and the sweep replays one only
when nothing newer waits (`replay_failed`). Functions take the caller's connection (one
transaction); PostgreSQL only: SQLite serves one process, whose in-memory per-chat locks suffice.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, text, update
from sqlalchemy.engine import Connection

from storage.models import InboxUpdate

INBOX = InboxUpdate.__table__


def lock(connection: Connection, lane: str) -> None:
    """Claims on one lane take turns until the end of the transaction."""
    connection.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:lane, 13))"), {"lane": lane})


def claim(connection: Connection, *, lane: str, worker: str, now: datetime, until: datetime,
          replay_failed: bool = False) -> int | None:
    """Leases the lane's next update to `worker` and returns its id; None when an update of the
    lane is leased already (its holder goes on with the lane) or nothing waits. Call under `lock`."""
    rows = connection.execute(
        select(INBOX.c.id, INBOX.c.lease_until, INBOX.c.failed_at)
        .where(INBOX.c.lane == lane, INBOX.c.sent_at.is_(None)).order_by(INBOX.c.id)
    ).all()
    if any(row.lease_until is not None and row.lease_until > now for row in rows):
        return None
    fresh = [row.id for row in rows if row.failed_at is None]
    failed = [row.id for row in rows if row.failed_at is not None]
    if fresh:
        head = fresh[0]
    elif replay_failed and failed:
        head = failed[-1]
    else:
        return None
    stale = [row_id for row_id in failed if row_id < head]
    if stale:  # "thử lại sau", and the person wrote again since: closed, not replayed
        connection.execute(update(INBOX).where(INBOX.c.id.in_(stale)).values(sent_at=now, lane=None, lease_until=None))
    connection.execute(update(INBOX).where(INBOX.c.id == head).values(leased_by=worker, lease_until=until))
    return head


def claim_row(connection: Connection, *, inbox_id: int, worker: str, now: datetime, until: datetime) -> bool:
    """Leases one update that has no lane (its payload names no conversation, or it was recorded
    before lanes existed), unless it is finished or leased by a live worker."""
    statement = update(INBOX).where(
        INBOX.c.id == inbox_id, INBOX.c.sent_at.is_(None), (INBOX.c.lease_until.is_(None)) | (INBOX.c.lease_until <= now)
    ).values(leased_by=worker, lease_until=until)
    return bool(connection.execute(statement).rowcount)


def next_after(connection: Connection, *, inbox_id: int, lane: str | None, worker: str, now: datetime,
               until: datetime, chain: bool = True) -> int | None:
    """`worker` is done with `inbox_id` (finished, closed, or given "thử lại sau"): its lease is
    released and, when `chain`, the lane's next update is leased to the same worker (its id).
    An update left unfinished for another reason (a send that failed unexpectedly) keeps the lane
    waiting for the sweep, so a chat's later reply never overtakes it."""
    if lane is not None:
        lock(connection, lane)
    state = connection.execute(select(INBOX.c.sent_at, INBOX.c.failed_at).where(INBOX.c.id == inbox_id)).first()
    connection.execute(update(INBOX).where(INBOX.c.id == inbox_id, INBOX.c.leased_by == worker, INBOX.c.sent_at.is_(None))
                       .values(lease_until=None))
    unfinished = state is not None and state.sent_at is None and state.failed_at is None
    if lane is None or not chain or unfinished:
        return None
    return claim(connection, lane=lane, worker=worker, now=now, until=until)


def renew(connection: Connection, *, inbox_ids: list[int], worker: str, until: datetime) -> int:
    """Extends the leases `worker` still holds on these updates (it is alive and working on them)."""
    statement = update(INBOX).where(
        INBOX.c.id.in_(list(inbox_ids)), INBOX.c.leased_by == worker, INBOX.c.sent_at.is_(None),
        INBOX.c.lease_until.is_not(None),
    ).values(lease_until=until)
    return connection.execute(statement).rowcount or 0


def release_worker(connection: Connection, *, channel: str, worker: str) -> int:
    """A worker starting under a name frees what a previous process of that name left leased: it
    is dead (one process per name: the parent of `run --workers` restarts a slot only after its
    process ended, and a plain `run` holds its port)."""
    statement = update(INBOX).where(
        INBOX.c.channel == channel, INBOX.c.leased_by == worker, INBOX.c.sent_at.is_(None), INBOX.c.lease_until.is_not(None)
    ).values(lease_until=None)
    return connection.execute(statement).rowcount or 0


def open_work(connection: Connection, *, channel: str, now: datetime, limit: int = 1000) -> tuple[list[str], list[int]]:
    """Unfinished work nobody alive holds, oldest first: the lanes, and the updates without a lane."""
    rows = connection.execute(
        select(INBOX.c.id, INBOX.c.lane, INBOX.c.lease_until)
        .where(INBOX.c.channel == channel, INBOX.c.sent_at.is_(None)).order_by(INBOX.c.id).limit(limit)
    ).all()
    held = {row.lane for row in rows if row.lane is not None and row.lease_until is not None and row.lease_until > now}
    lanes, loose = [], []
    for row in rows:
        if row.lane is None:
            if row.lease_until is None or row.lease_until <= now:
                loose.append(row.id)
        elif row.lane not in held and row.lane not in lanes:
            lanes.append(row.lane)
    return lanes, loose


def give_up(connection: Connection, *, channel: str, received_before: datetime, now: datetime) -> list[int]:
    """Closes unfinished updates received before `received_before` that nobody alive holds; their ids."""
    statement = update(INBOX).where(
        INBOX.c.channel == channel, INBOX.c.sent_at.is_(None), INBOX.c.received_at < received_before,
        (INBOX.c.lease_until.is_(None)) | (INBOX.c.lease_until <= now),
    ).values(sent_at=now, lane=None, lease_until=None).returning(INBOX.c.id)
    return list(connection.execute(statement).scalars())


def work(connection: Connection, inbox_id: int):
    """What a worker needs to go on with a leased update: payload, stored replies, progress, lane."""
    return connection.execute(
        select(INBOX.c.id, INBOX.c.payload, INBOX.c.replies, INBOX.c.sent_count, INBOX.c.lane).where(INBOX.c.id == inbox_id)
    ).first()
