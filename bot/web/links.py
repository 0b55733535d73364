"""One-time login links to the officers' web pages, for the chat's "Mở trang quản lý" and
`python -m bot officers login-link ID` alike: valid 10 minutes, single use, bound to one binding."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from storage import officers, web
from storage.models import Officer

LOGIN_PATH = "/web/login"


def login_link(*, session: Session, officer: Officer, base_url: str, now: datetime, actor: str) -> str:
    """A new link for the binding (audited: who asked for it, for which binding)."""
    token = web.create_login(session=session, officer_id=officer.id, now=now)
    officers.audit(session=session, actor=actor, action="web_link", now=now, commune_code=officer.commune_code,
                   detail=f"officer={officer.id}")
    return f"{base_url.rstrip('/')}{LOGIN_PATH}?t={token}"
