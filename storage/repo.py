"""Repository functions: keyword-only, session first. The transaction is the caller's (one update)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Executable, bindparam, delete, select as sa_select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlmodel import Session, col, select

from storage.models import ChannelContact, Conversation, Download, InboxUpdate, OAuthToken, ProcessedUpdate, UnansweredQuestion


def _dialect(session: Session | Connection) -> str:
    return (session.dialect if isinstance(session, Connection) else session.get_bind().dialect).name


def _insert(session: Session | Connection, model):
    """The dialect's INSERT (for ON CONFLICT), given a Session or a Connection."""
    return (postgresql.insert if _dialect(session) == "postgresql" else sqlite.insert)(model)


# The statements every update runs, built once per dialect with bound parameters: building them
# per call (and computing their cache keys) cost as much as executing them.
_HOT: dict[str, dict[str, Executable]] = {}

# ROWCOUNT: sqlmodel types Session.execute as returning a Result; an UPDATE or DELETE returns a
# CursorResult (with rowcount) at run time, as SQLAlchemy's own types say. The functions the
# dispatcher and the inbox call with a Connection (one transaction per update) keep `execute`.


def _hot(session: Session | Connection) -> dict[str, Executable]:
    dialect = _dialect(session)
    if dialect not in _HOT:
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        processed, conversation, inbox = ProcessedUpdate.__table__, Conversation.__table__, InboxUpdate.__table__
        _HOT[dialect] = {
            "claim": insert(processed)
            .values(channel=bindparam("channel"), update_id=bindparam("update_id"), processed_at=bindparam("now"))
            .on_conflict_do_nothing(index_elements=["channel", "update_id"])
            .returning(processed.c.update_id),
            "load": sa_select(conversation.c.state).where(
                conversation.c.channel == bindparam("channel"), conversation.c.chat_id == bindparam("chat_id")
            ),
            # The chat id is sealed (storage/sealed.py): a saved conversation is updated where its
            # id matches under any key of the ring, and inserted only when there is none.
            "save": update(conversation)
            .where(conversation.c.channel == bindparam("in_channel"), conversation.c.chat_id == bindparam("of_chat"))
            .values(state=bindparam("state"), updated_at=bindparam("now")),
            "create": insert(conversation)
            .values(channel=bindparam("channel"), chat_id=bindparam("chat_id"), state=bindparam("state"),
                    created_at=bindparam("now"), updated_at=bindparam("now"))
            .on_conflict_do_update(index_elements=["channel", "chat_id"],
                                   set_={"state": bindparam("state"), "updated_at": bindparam("now")}),
            "claimed": sa_select(processed.c.update_id)
            .where(processed.c.channel == bindparam("channel"), processed.c.update_id.in_(bindparam("older", expanding=True))),
            "recorded": sa_select(inbox.c.id)
            .where(inbox.c.channel == bindparam("channel"), inbox.c.update_id.in_(bindparam("older", expanding=True))),
            "record": insert(inbox)
            .values(channel=bindparam("channel"), update_id=bindparam("update_id"), payload=bindparam("payload"),
                    received_at=bindparam("now"), lane=bindparam("lane"))
            .on_conflict_do_nothing(index_elements=["channel", "update_id"])
            .returning(inbox.c.id),
            "replies": update(inbox).where(inbox.c.id == bindparam("inbox_id"))
            .values(replies=bindparam("replies"), processed_at=bindparam("now"), chat_key=bindparam("chat_key")),
            "progress": update(inbox).where(inbox.c.id == bindparam("inbox_id"), inbox.c.sent_count < bindparam("count"))
            .values(sent_count=bindparam("count")),
            # A finished update leaves its lane (storage/lanes.py) and its lease.
            "done": update(inbox).where(inbox.c.id == bindparam("inbox_id"))
            .values(sent_count=bindparam("count"), sent_at=bindparam("now"), lane=None, lease_until=None),
            "sent": update(inbox).where(inbox.c.id.in_(bindparam("ids", expanding=True)))
            .values(sent_at=bindparam("now"), lane=None, lease_until=None),
        }
    return _HOT[dialect]


def claim_update(*, session: Session | Connection, channel: str, update_id: str, now: datetime, older: Sequence[str] = ()) -> bool:
    """Records the update as processed; False when it was already (a repeated delivery). `older`:
    the update id's hashes under the ring's older keys (a delivery recorded before a key rotation)."""
    hot = _hot(session)
    if older and session.execute(hot["claimed"], {"channel": channel, "older": list(older)}).first() is not None:
        return False
    return session.execute(hot["claim"], {"channel": channel, "update_id": update_id, "now": now}).first() is not None


def load_state(*, session: Session | Connection, channel: str, chat_id: str) -> str | None:
    return session.execute(_hot(session)["load"], {"channel": channel, "chat_id": chat_id}).scalar()


def save_state(*, session: Session | Connection, channel: str, chat_id: str, state: str, now: datetime) -> None:
    saved = {"in_channel": channel, "of_chat": chat_id, "state": state, "now": now}
    if session.execute(_hot(session)["save"], saved).rowcount == 0:  # type: ignore[attr-defined]  # see ROWCOUNT
        session.execute(_hot(session)["create"], {"channel": channel, "chat_id": chat_id, "state": state, "now": now})


def record_inbox(*, session: Session | Connection, channel: str, update_id: str, payload: str, now: datetime,
                 older: Sequence[str] = (), lane: str | None = None) -> int | None:
    """Records a delivered update; its row id, or None when the same update was recorded before
    (`older`: its hashes under the ring's older keys, for an update recorded before a rotation).
    `lane`: the conversation's keyed hash, for several workers (storage/lanes.py)."""
    hot = _hot(session)
    if older and session.execute(hot["recorded"], {"channel": channel, "older": list(older)}).first() is not None:
        return None
    values = {"channel": channel, "update_id": update_id, "payload": payload, "now": now, "lane": lane}
    return session.execute(hot["record"], values).scalar()


def store_replies(*, session: Session | Connection, inbox_id: int, replies: str, now: datetime, chat_key: str | None = None) -> None:
    """Keeps the replies with the update, in the handler's transaction, and which conversation it was
    (a keyed hash: found again when the person deletes their data)."""
    session.execute(_hot(session)["replies"], {"inbox_id": inbox_id, "replies": replies, "now": now, "chat_key": chat_key})


def erase_inbox(*, session: Session, chat_keys: list[str], current: int | None, blank_payload: str) -> int:
    """Deleting one's data: every stored message of the conversation (and the replies kept with it)
    goes. The update being handled stays until its reply is sent, but its text is blanked."""
    table = InboxUpdate.__table__
    count = session.exec(delete(table).where(table.c.chat_key.in_(chat_keys))).rowcount or 0
    if current is not None:
        session.execute(update(table).where(table.c.id == current).values(payload=blank_payload))
    return count


def mark_sent(*, session: Session | Connection, inbox_ids: list[int], now: datetime) -> None:
    session.execute(_hot(session)["sent"], {"ids": list(inbox_ids), "now": now})


def record_progress(*, session: Session | Connection, inbox_id: int, count: int) -> None:
    """`count` of the row's outgoing messages are confirmed delivered (never moves backwards)."""
    session.execute(_hot(session)["progress"], {"inbox_id": inbox_id, "count": count})


def record_done(*, session: Session | Connection, inbox_id: int, count: int, now: datetime) -> None:
    """The row's last message is confirmed delivered: its count and the row's sent_at, at once."""
    session.execute(_hot(session)["done"], {"inbox_id": inbox_id, "count": count, "now": now})


def mark_failed(*, session: Session | Connection, inbox_id: int, now: datetime) -> None:
    """The update could not be handled (database unavailable) and the person was told to try later."""
    session.execute(update(InboxUpdate.__table__).where(InboxUpdate.__table__.c.id == inbox_id).values(failed_at=now))


def inbox_progress(*, session: Session | Connection, inbox_id: int) -> tuple[bool, int]:
    """Whether the row is finished (sent, given up or closed), and how many messages are confirmed."""
    table = InboxUpdate.__table__
    row = session.execute(sa_select(table.c.sent_at, table.c.sent_count).where(table.c.id == inbox_id)).first()
    return (True, 0) if row is None else (row[0] is not None, row[1] or 0)


def stored_replies(*, session: Session | Connection, inbox_id: int) -> str | None:
    """The replies kept with an update (encrypted), if its handler's transaction committed."""
    table = InboxUpdate.__table__
    return session.execute(sa_select(table.c.replies).where(table.c.id == inbox_id)).scalar()


def record_unanswered(*, session: Session, key: str, text: str, status: str, now: datetime, older: Sequence[str] = ()) -> None:
    """Counts one more occurrence of an unanswered question (`key` a keyed hash, `text` redacted
    and encrypted, `now` the day only: no identity). A row counted under an older key of the ring
    (`older`, before a rotation) is counted on, and takes the newest key."""
    table = UnansweredQuestion.__table__
    if older:
        moved = session.exec(update(table).where(table.c.key.in_(list(older))).values(
            key=key, text=text, count=table.c.count + 1, last_seen=now, status=status))
        if moved.rowcount:
            return
    insert = _insert(session, UnansweredQuestion)
    statement = insert.values(key=key, text=text, status=status, count=1, first_seen=now, last_seen=now)
    statement = statement.on_conflict_do_update(
        index_elements=["key"],
        set_={"count": UnansweredQuestion.__table__.c.count + 1, "last_seen": now, "status": status},
    )
    session.execute(statement)


def list_unanswered(*, session: Session, cipher, limit: int = 100) -> list[UnansweredQuestion]:
    """The most asked first, with their text decrypted (detached copies: nothing is written back)."""
    statement = (
        select(UnansweredQuestion)
        .order_by(col(UnansweredQuestion.count).desc(), col(UnansweredQuestion.last_seen).desc())
        .limit(limit)
    )
    rows = []
    for row in session.exec(statement):
        values = row.model_dump()
        values["text"] = cipher.decrypt(row.text) or ""
        rows.append(UnansweredQuestion.model_validate(values))
    return rows


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


def _contact_changed(session: Session | Connection, channel: str, chat_id: str, values: dict) -> bool:
    """Updates the chat's contact row, whichever key of the ring sealed its id; False when there is none."""
    table = ChannelContact.__table__
    statement = update(table).where(table.c.channel == channel, table.c.chat_id == chat_id).values(**values)
    return bool(session.execute(statement).rowcount)  # type: ignore[attr-defined]  # see ROWCOUNT


def contact_wrote(*, session: Session | Connection, channel: str, chat_id: str, now: datetime) -> None:
    """The person wrote: reachable again, and the messaging window restarts."""
    if _contact_changed(session, channel, chat_id, {"last_inbound_at": now, "unreachable_since": None, "reason": None}):
        return
    statement = (
        _insert(session, ChannelContact)
        .values(channel=channel, chat_id=chat_id, last_inbound_at=now, unreachable_since=None, reason=None)
        .on_conflict_do_update(
            index_elements=["channel", "chat_id"], set_={"last_inbound_at": now, "unreachable_since": None, "reason": None}
        )
    )
    session.execute(statement)


def contact_unreachable(*, session: Session, channel: str, chat_id: str, reason: str, now: datetime) -> None:
    if _contact_changed(session, channel, chat_id, {"unreachable_since": now, "reason": reason}):
        return
    statement = (
        _insert(session, ChannelContact)
        .values(channel=channel, chat_id=chat_id, unreachable_since=now, reason=reason)
        .on_conflict_do_update(index_elements=["channel", "chat_id"], set_={"unreachable_since": now, "reason": reason})
    )
    session.exec(statement)


def get_contact(*, session: Session, channel: str, chat_id: str) -> ChannelContact | None:
    statement = select(ChannelContact).where(ChannelContact.channel == channel, ChannelContact.chat_id == chat_id)
    return session.exec(statement).first()
