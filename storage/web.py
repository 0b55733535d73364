"""Repository: the officers' one-time login links and browser sessions.

Only SHA-256 hashes of the tokens are stored, so a copy of the database opens no session. A link
is taken by one conditional UPDATE (unused, unexpired): of two requests at once only one logs in.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlmodel import Session, col, select

from storage.models import Officer, WebLogin, WebSession

LINK_TTL = timedelta(minutes=10)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("ascii", "ignore")).hexdigest()


def create_login(*, session: Session, officer_id: int, now: datetime, ttl: timedelta = LINK_TTL) -> str:
    """A new login token for the binding, returned once."""
    token = secrets.token_urlsafe(32)
    session.add(WebLogin(token_hash=hash_token(token), officer_id=officer_id, created_at=now, expires_at=now + ttl))
    return token


def _active_officer(session: Session, officer_id: int) -> Officer | None:
    officer = session.get(Officer, officer_id)
    return officer if officer is not None and officer.revoked_at is None else None


def peek_login(*, session: Session, token: str, now: datetime) -> Officer | None:
    """The binding a link would log in, without taking it (the page with the login button)."""
    row = session.exec(select(WebLogin).where(WebLogin.token_hash == hash_token(token))).first()
    if row is None or row.used_at is not None or row.expires_at <= now:
        return None
    return _active_officer(session, row.officer_id)


def take_login(*, session: Session, token: str, now: datetime) -> Officer | None:
    """Uses the link up: its binding, or None for an unknown, used or expired link (or a revoked binding)."""
    table = WebLogin.__table__
    token_hash = hash_token(token)
    taken = session.exec(update(table).where(table.c.token_hash == token_hash, table.c.used_at.is_(None),
                                                table.c.expires_at > now).values(used_at=now))
    if taken.rowcount != 1:
        return None
    row = session.exec(select(WebLogin).where(WebLogin.token_hash == token_hash)).one()
    return _active_officer(session, row.officer_id)


def open_session(*, session: Session, officer_id: int, now: datetime) -> str:
    """A new browser session for the binding; the cookie's token, returned once."""
    token = secrets.token_urlsafe(32)
    session.add(WebSession(token_hash=hash_token(token), officer_id=officer_id, created_at=now, last_seen_at=now))
    return token


def session_for(*, session: Session, token: str, now: datetime, idle: timedelta) -> tuple[WebSession, Officer] | None:
    """The live session of this cookie and its binding, its last request moved to now; None when
    unknown, ended, idle too long, or its binding is revoked (the session is then ended)."""
    row = session.exec(select(WebSession).where(WebSession.token_hash == hash_token(token), col(WebSession.ended_at).is_(None))).first()
    if row is None:
        return None
    officer = _active_officer(session, row.officer_id)
    if officer is None or row.last_seen_at <= now - idle:
        row.ended_at = now
        session.add(row)
        return None
    row.last_seen_at = now
    session.add(row)
    return row, officer


def end_session(*, session: Session, token: str, now: datetime) -> bool:
    table = WebSession.__table__
    done = session.exec(update(table).where(table.c.token_hash == hash_token(token), table.c.ended_at.is_(None))
                        .values(ended_at=now))
    return done.rowcount == 1


def end_sessions_of(*, session: Session, officer_id: int, now: datetime) -> int:
    """Ends every session of a binding (its revocation)."""
    table = WebSession.__table__
    return session.exec(update(table).where(table.c.officer_id == officer_id, table.c.ended_at.is_(None))
                        .values(ended_at=now)).rowcount


def prune(*, session: Session, before: datetime) -> None:
    """Links and sessions that ended before `before` are of no use."""
    session.execute(WebLogin.__table__.delete().where(WebLogin.__table__.c.expires_at < before))
    table = WebSession.__table__
    session.execute(table.delete().where((table.c.ended_at < before) | (table.c.last_seen_at < before)))
