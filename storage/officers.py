"""Repository: officers, single-use invites and the audit log (identifiers only, no personal values)."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from sqlalchemy import update
from sqlmodel import Session, col, select

from storage.models import AuditEntry, Officer, OfficerInvite
from storage.registrations import REFERENCE_ALPHABET

# officer: commune police; committee: the commune People's Committee; bank: an NHCSXH transaction
# office (may serve several communes); admin: the police side's administrator.
ROLES = ("officer", "committee", "bank", "admin")
POLICE = ("officer", "admin")  # the roles that review registrations, close the list, answer questions


def hash_code(code: str) -> str:
    return hashlib.sha256(code.strip().upper().replace("-", "").encode("ascii", "ignore")).hexdigest()


def create_invite(*, session: Session, commune_code: int, role: str, now: datetime, expires_at: datetime,
                  more_communes: list[int] | None = None) -> str:
    """A new single-use code, returned once; only its hash is kept. `more_communes`: further
    communes the same code binds (a bank office serving several)."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}")
    code = "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(10))
    extra = ",".join(str(c) for c in dict.fromkeys(more_communes or ()) if c != commune_code) or None
    session.add(OfficerInvite(code_hash=hash_code(code), commune_code=commune_code, role=role, created_at=now, expires_at=expires_at,
                              more_communes=extra))
    return code


def redeem_invite(*, session: Session, code: str, channel: str, chat_id: str, now: datetime) -> list[Officer]:
    """Binds the chat to the invite's communes (one binding each) with its role; empty for an
    unknown, used or expired code.

    The code is taken by one conditional UPDATE (only while unused and unexpired), so of any number
    of chats sending it at the same instant exactly one binds, on SQLite and on PostgreSQL (where
    the others wait on the row lock, then find it used)."""
    code_hash = hash_code(code)
    invites = OfficerInvite.__table__
    taken = session.exec(
        update(invites)
        .where(invites.c.code_hash == code_hash, invites.c.used_at.is_(None), invites.c.expires_at > now)
        .values(used_at=now)
    )
    if taken.rowcount != 1:
        return []
    invite = session.exec(
        select(OfficerInvite).where(OfficerInvite.code_hash == code_hash).execution_options(populate_existing=True)
    ).one()
    communes = [invite.commune_code] + [int(c) for c in (invite.more_communes or "").split(",") if c]
    bound = []
    for commune_code in communes:
        officer = session.exec(
            select(Officer).where(Officer.channel == channel, Officer.chat_id == chat_id, Officer.commune_code == commune_code,
                                  col(Officer.revoked_at).is_(None))
        ).first()
        if officer is None:
            officer = Officer(channel=channel, chat_id=chat_id, commune_code=commune_code, role=invite.role, created_at=now)
        else:
            officer.role = invite.role
        session.add(officer)
        session.flush()
        bound.append(officer)
    invite.officer_id = bound[0].id
    session.add(invite)
    return bound


def of_chat(*, session: Session, channel: str, chat_id: str) -> list[Officer]:
    """The chat's active officer bindings (one per commune)."""
    statement = select(Officer).where(Officer.channel == channel, Officer.chat_id == chat_id, col(Officer.revoked_at).is_(None))
    return list(session.exec(statement.order_by(col(Officer.commune_code))))


def of_commune(*, session: Session, commune_code: int, roles: tuple[str, ...] | None = None) -> list[Officer]:
    """The commune's active bindings (of these roles, when given)."""
    statement = select(Officer).where(Officer.commune_code == commune_code, col(Officer.revoked_at).is_(None))
    if roles is not None:
        statement = statement.where(col(Officer.role).in_(roles))
    return list(session.exec(statement.order_by(col(Officer.id))))


def all_officers(*, session: Session, include_revoked: bool = False) -> list[Officer]:
    statement = select(Officer)
    if not include_revoked:
        statement = statement.where(col(Officer.revoked_at).is_(None))
    return list(session.exec(statement.order_by(col(Officer.id))))


def revoke(*, session: Session, officer_id: int, now: datetime) -> bool:
    """Revokes an active binding; False when there is none (or it was revoked meanwhile)."""
    table = Officer.__table__
    result = session.exec(update(table).where(table.c.id == officer_id, table.c.revoked_at.is_(None)).values(revoked_at=now))
    return result.rowcount == 1


def audit(*, session: Session, actor: str, action: str, now: datetime, registration_id: int | None = None,
          commune_code: int | None = None, detail: str | None = None) -> None:
    session.add(AuditEntry(at=now, actor=actor, action=action, registration_id=registration_id, commune_code=commune_code, detail=detail))


def audit_entries(*, session: Session, limit: int = 1000) -> list[AuditEntry]:
    return list(session.exec(select(AuditEntry).order_by(col(AuditEntry.id).desc()).limit(limit)))
