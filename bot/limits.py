"""Per-chat limits: messages per minute (in memory: a restart forgives), wrong invite codes with a
lockout, registrations and questions to officers per day (in the database, keyed by a keyed hash of
the chat). Each limit is a setting (LIMIT_* in bot/settings.py); each reply is in the catalog."""

from __future__ import annotations

import hashlib
import hmac
import threading
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from bot.vntime import vietnam_date
from storage import limits as counters

if TYPE_CHECKING:
    from bot.context import Context

INVITE_FAILURES, INVITE_LOCK = "invite_fail", "invite_lock"
REGISTRATIONS, QUESTIONS = "registration", "question"


@dataclass(frozen=True)
class Limits:
    messages_per_minute: int = 30
    invite_failures: int = 5
    invite_lockout: timedelta = timedelta(minutes=60)
    registrations_per_day: int = 3
    questions_per_day: int = 5

    @classmethod
    def from_settings(cls, settings) -> "Limits":
        return cls(
            messages_per_minute=settings.limit_messages_per_minute,
            invite_failures=settings.limit_invite_failures,
            invite_lockout=timedelta(minutes=settings.limit_invite_lockout_minutes),
            registrations_per_day=settings.limit_registrations_per_day,
            questions_per_day=settings.limit_questions_per_day,
        )


def chat_key(ctx: "Context") -> str:
    """A keyed hash of the chat: counters can be found again, but not tied to anyone without the key."""
    key = ctx.cipher.derive_key(b"chat-limits")
    return hmac.new(key, f"{ctx.channel}\x00{ctx.chat_id}".encode("utf-8"), hashlib.sha256).hexdigest()


def _today(ctx: "Context") -> str:
    return vietnam_date(ctx.now).isoformat()


# -- wrong invite codes --------------------------------------------------------------------------


def invite_locked_for(ctx: "Context") -> timedelta | None:
    """How long this chat must still wait before trying an invite code again; None when it may."""
    until = counters.blocked_until(session=ctx.session, chat_key=chat_key(ctx), kind=INVITE_LOCK)
    return until - ctx.now if until is not None and until > ctx.now else None


def invite_failed(ctx: "Context") -> timedelta | None:
    """Counts a wrong code; after `invite_failures` of them the chat is locked out (the lockout's length)."""
    if ctx.limits.invite_failures <= 0:
        return None
    key = chat_key(ctx)
    failures = counters.add(session=ctx.session, chat_key=key, kind=INVITE_FAILURES, period="", now=ctx.now)
    if failures < ctx.limits.invite_failures:
        return None
    counters.block(session=ctx.session, chat_key=key, kind=INVITE_LOCK, until=ctx.now + ctx.limits.invite_lockout, now=ctx.now)
    counters.reset(session=ctx.session, chat_key=key, kind=INVITE_FAILURES, now=ctx.now)
    return ctx.limits.invite_lockout


def invite_succeeded(ctx: "Context") -> None:
    counters.reset(session=ctx.session, chat_key=chat_key(ctx), kind=INVITE_FAILURES, now=ctx.now)


# -- per day -------------------------------------------------------------------------------------


def used_today(ctx: "Context", kind: str) -> int:
    return counters.count(session=ctx.session, chat_key=chat_key(ctx), kind=kind, period=_today(ctx))


def count_today(ctx: "Context", kind: str) -> int:
    return counters.add(session=ctx.session, chat_key=chat_key(ctx), kind=kind, period=_today(ctx), now=ctx.now)


def registrations_left(ctx: "Context") -> bool:
    limit = ctx.limits.registrations_per_day
    return limit <= 0 or used_today(ctx, REGISTRATIONS) < limit


def questions_left(ctx: "Context") -> bool:
    limit = ctx.limits.questions_per_day
    return limit <= 0 or used_today(ctx, QUESTIONS) < limit


def minutes(delta: timedelta) -> int:
    return max(1, -(-int(delta.total_seconds()) // 60))


# -- messages per minute -------------------------------------------------------------------------


class FloodGate:
    """At most `per_minute` updates per conversation in any 60 seconds. Over it: the first update
    is told once ("too_fast"), the rest get no reply and are not handled. In memory only."""

    WINDOW = timedelta(seconds=60)

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self._seen: dict[str, deque[datetime]] = {}
        self._told: dict[str, datetime] = {}
        self._lock = threading.Lock()  # on PostgreSQL updates are handled in worker threads

    def check(self, key: str, now: datetime) -> str | None:
        """None: handle it. "tell": over the limit, say so. "drop": over the limit, told already."""
        if self.per_minute <= 0:
            return None
        with self._lock:
            return self._check(key, now)

    def _check(self, key: str, now: datetime) -> str | None:
        seen = self._seen.setdefault(key, deque())
        while seen and now - seen[0] >= self.WINDOW:
            seen.popleft()
        if len(seen) < self.per_minute:
            seen.append(now)
            if len(self._seen) > 10_000:
                self._forget(now)
            return None
        told = self._told.get(key)
        if told is not None and now - told < self.WINDOW:
            return "drop"
        self._told[key] = now
        return "tell"

    def _forget(self, now: datetime) -> None:
        for key in [k for k, v in self._seen.items() if not v or now - v[-1] >= self.WINDOW]:
            self._seen.pop(key, None)
            self._told.pop(key, None)
