"""Inbox lanes: with several workers on one PostgreSQL database, each chat's updates are handled
and answered by one worker at a time, in arrival order, and a dead worker's are taken over.

Every unfinished update carries its conversation's lane (a keyed hash, cleared when the update is
finished). Before a worker handles and sends an update it leases the lane's oldest unfinished one.
While an update of the lane is leased (by any worker, itself included), nobody takes another of
that lane: the holder takes the next one itself when it finishes (`finish` then `take`, in one
transaction). Claims of one lane take turns through a transaction-scoped advisory lock (taken by
the statement that records or finishes an update, so it costs no statement of its own), and the
statement after the lock sees what the previous claimer committed, so two claims never both find
the lane free. A lease
runs for INBOX_LEASE_SECONDS and is renewed while the worker works on it; a SIGKILLed worker's
leases run out and another worker's sweep takes the lane (a worker restarted under the same name
takes back its own at once, `release_worker`), resuming after the last confirmed message.

Updates that got "thử lại sau" (failed_at) do not hold their lane up: a newer update of the chat
is taken before them, and the sweep closes them unanswered once the person has written again, or
replays the newest when they have not (`claim`). Functions take the caller's connection (one
transaction); PostgreSQL only: SQLite serves one process, whose in-memory per-chat locks suffice.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import bindparam, exists, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.engine import Connection, Row

from storage import repo
from storage.models import InboxUpdate

INBOX = InboxUpdate.__table__
_LOCK = func.pg_advisory_xact_lock(func.hashtextextended(bindparam("lane_key"), 13))
WORK = (INBOX.c.id, INBOX.c.payload, INBOX.c.replies, INBOX.c.sent_count, INBOX.c.failed_at, INBOX.c.lane)
# The statements of every update, built once with bound parameters.
_RECORD = (
    insert(INBOX)
    .values(channel=bindparam("channel"), update_id=bindparam("update_id"), payload=bindparam("payload"),
            received_at=bindparam("now"), lane=bindparam("lane_key"))
    .on_conflict_do_nothing(index_elements=["channel", "update_id"])
    .returning(INBOX.c.id, _LOCK)
)
_FINISH = (
    update(INBOX).where(INBOX.c.id == bindparam("inbox_id"))
    .values(sent_count=bindparam("count"), sent_at=bindparam("now"), lane=None, lease_until=None)
    .returning(_LOCK)
)
_HEAD = select(func.min(INBOX.c.id)).where(
    INBOX.c.lane == bindparam("lane_key"), INBOX.c.sent_at.is_(None), INBOX.c.failed_at.is_(None)
).scalar_subquery()
_HELD = exists().where(INBOX.c.lane == bindparam("lane_key"), INBOX.c.sent_at.is_(None), INBOX.c.lease_until > bindparam("now"))
_TAKE = (
    update(INBOX).where(INBOX.c.id == _HEAD, ~_HELD)
    .values(leased_by=bindparam("worker"), lease_until=bindparam("until"))
    .returning(*WORK)
)


def lock(connection: Connection, lane: str) -> None:
    """Claims on one lane take turns until the end of the transaction."""
    connection.execute(select(_LOCK), {"lane_key": lane})


def record(connection: Connection, *, channel: str, update_id: str, payload: str, now: datetime, lane: str,
           older: Sequence[str] = ()) -> int | None:
    """`repo.record_inbox`, taking the lane's lock in the same statement; None for a repeat."""
    if older and connection.execute(repo._hot(connection)["recorded"], {"channel": channel, "older": list(older)}).first():
        return None
    values = {"channel": channel, "update_id": update_id, "payload": payload, "now": now, "lane_key": lane}
    row = connection.execute(_RECORD, values).first()
    return row[0] if row is not None else None


def finish(connection: Connection, *, inbox_id: int, count: int, now: datetime, lane: str) -> None:
    """`repo.record_done` (the update's last message confirmed: it leaves its lane and its lease),
    taking the lane's lock in the same statement, so `take` can follow."""
    connection.execute(_FINISH, {"inbox_id": inbox_id, "count": count, "now": now, "lane_key": lane})


def take(connection: Connection, *, lane: str, worker: str, now: datetime, until: datetime) -> Row | None:
    """Leases the lane's oldest unfinished update (not counting those that got "thử lại sau") to
    `worker`: its id, payload, stored replies, progress, failed_at and lane. None when an update
    of the lane is leased already (its holder goes on with the lane) or nothing waits. One
    statement; call it under the lane's lock."""
    return connection.execute(_TAKE, {"lane_key": lane, "worker": worker, "now": now, "until": until}).first()


def claim(connection: Connection, *, lane: str, worker: str, now: datetime, until: datetime) -> Row | None:
    """The sweep's `take`: also decides the lane's updates that got "thử lại sau". Those older
    than the next update to take are closed unanswered (the person wrote again); when only such
    updates wait, the newest is taken for a replay, unless the person wrote after it (a later
    update of the chat, answered already: `chat_key` is the lane's value once handled). Call it
    under the lane's lock."""
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
    elif failed and connection.execute(select(INBOX.c.id).where(INBOX.c.chat_key == lane, INBOX.c.id > failed[-1])
                                       .limit(1)).first() is None:
        head = failed[-1]
    else:
        head = None
    stale = [row_id for row_id in failed if head is None or row_id < head]
    if stale:  # "thử lại sau", and the person wrote again since: closed, not replayed
        connection.execute(update(INBOX).where(INBOX.c.id.in_(stale)).values(sent_at=now, lane=None, lease_until=None))
    if head is None:
        return None
    statement = update(INBOX).where(INBOX.c.id == head).values(leased_by=worker, lease_until=until).returning(*WORK)
    return connection.execute(statement).first()


def claim_row(connection: Connection, *, inbox_id: int, worker: str, now: datetime, until: datetime) -> Row | None:
    """Leases one update that has no lane (its payload names no conversation, or it was recorded
    before lanes existed), unless it is finished or leased by a live worker."""
    statement = update(INBOX).where(
        INBOX.c.id == inbox_id, INBOX.c.sent_at.is_(None), (INBOX.c.lease_until.is_(None)) | (INBOX.c.lease_until <= now)
    ).values(leased_by=worker, lease_until=until).returning(*WORK)
    return connection.execute(statement).first()


def next_after(connection: Connection, *, inbox_id: int, lane: str | None, worker: str, now: datetime,
               until: datetime, chain: bool = True) -> Row | None:
    """`worker` is done with `inbox_id` some other way than its last message (closed unanswered,
    given "thử lại sau", a send that failed): its lease is released and, when `chain`, the lane's
    next update is leased to the same worker. An update left unfinished by a send that failed
    unexpectedly keeps the lane waiting for the sweep, so a chat's later reply never overtakes it."""
    if lane is not None:
        lock(connection, lane)
    state = connection.execute(select(INBOX.c.sent_at, INBOX.c.failed_at).where(INBOX.c.id == inbox_id)).first()
    connection.execute(update(INBOX).where(INBOX.c.id == inbox_id, INBOX.c.leased_by == worker, INBOX.c.sent_at.is_(None))
                       .values(lease_until=None))
    unfinished = state is not None and state.sent_at is None and state.failed_at is None
    if lane is None or not chain or unfinished:
        return None
    return take(connection, lane=lane, worker=worker, now=now, until=until)


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
