"""Per-chat limits: messages per minute, wrong invite codes with a lockout, registrations and
questions to officers per day. All are counted in the database (`chat_limits`, keyed by a keyed
hash of the chat), so they hold across restarts and across every process sharing the database.
Each limit is a setting (LIMIT_* in bot/settings.py); each reply is in the catalog."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from bot.vntime import vietnam_date
from storage import limits as counters

if TYPE_CHECKING:
    from bot.context import Context
    from storage.crypto import Cipher

INVITE_FAILURES, INVITE_LOCK = "invite_fail", "invite_lock"
REGISTRATIONS, QUESTIONS = "registration", "question"
MESSAGES = "minute"


@dataclass(frozen=True)
class Limits:
    messages_per_minute: int = 30
    invite_failures: int = 5
    invite_lockout: timedelta = timedelta(minutes=60)
    registrations_per_day: int = 3
    questions_per_day: int = 5

    @classmethod
    def from_settings(cls, settings) -> Limits:
        return cls(
            messages_per_minute=settings.limit_messages_per_minute,
            invite_failures=settings.limit_invite_failures,
            invite_lockout=timedelta(minutes=settings.limit_invite_lockout_minutes),
            registrations_per_day=settings.limit_registrations_per_day,
            questions_per_day=settings.limit_questions_per_day,
        )


def chat_keys(ctx: Context) -> list[str]:
    """Keyed hashes of the chat (under each key of the ring, newest first): counters can be found
    again, also after a key rotation, but not tied to anyone without the key."""
    return ctx.cipher.limit_keys(ctx.channel, ctx.chat_id)


def _today(ctx: Context) -> str:
    return vietnam_date(ctx.now).isoformat()


# -- wrong invite codes --------------------------------------------------------------------------


def invite_locked_for(ctx: Context) -> timedelta | None:
    """How long this chat must still wait before trying an invite code again; None when it may."""
    until = counters.blocked_until(session=ctx.session, chat_keys=chat_keys(ctx), kind=INVITE_LOCK)
    return until - ctx.now if until is not None and until > ctx.now else None


def invite_failed(ctx: Context) -> timedelta | None:
    """Counts a wrong code; after `invite_failures` of them the chat is locked out (the lockout's length)."""
    if ctx.limits.invite_failures <= 0:
        return None
    keys = chat_keys(ctx)
    failures = counters.add(session=ctx.session, chat_keys=keys, kind=INVITE_FAILURES, period="", now=ctx.now)
    if failures < ctx.limits.invite_failures:
        return None
    counters.block(session=ctx.session, chat_keys=keys, kind=INVITE_LOCK, until=ctx.now + ctx.limits.invite_lockout, now=ctx.now)
    counters.reset(session=ctx.session, chat_keys=keys, kind=INVITE_FAILURES, now=ctx.now)
    return ctx.limits.invite_lockout


def invite_succeeded(ctx: Context) -> None:
    counters.reset(session=ctx.session, chat_keys=chat_keys(ctx), kind=INVITE_FAILURES, now=ctx.now)


# -- per day -------------------------------------------------------------------------------------


def used_today(ctx: Context, kind: str) -> int:
    return counters.count(session=ctx.session, chat_keys=chat_keys(ctx), kind=kind, period=_today(ctx))


def count_today(ctx: Context, kind: str) -> int:
    return counters.add(session=ctx.session, chat_keys=chat_keys(ctx), kind=kind, period=_today(ctx), now=ctx.now)


def registrations_left(ctx: Context) -> bool:
    limit = ctx.limits.registrations_per_day
    return limit <= 0 or used_today(ctx, REGISTRATIONS) < limit


def questions_left(ctx: Context) -> bool:
    limit = ctx.limits.questions_per_day
    return limit <= 0 or used_today(ctx, QUESTIONS) < limit


def minutes(delta: timedelta) -> int:
    return max(1, -(-int(delta.total_seconds()) // 60))


# -- messages per minute -------------------------------------------------------------------------


class FloodGate:
    """At most `per_minute` updates per conversation in a minute. Over it: the first update is told
    once ("too_fast"), the rest get no reply and are not handled, until the minute is over.

    The minute begins with the chat's first message after the last minute ended (a fixed window,
    so a burst straddling two windows can get up to twice the limit through). It is counted in the
    database, in the transaction that handles the update (one upsert), so every process sharing
    the database counts together, on SQLite and on PostgreSQL."""

    WINDOW = timedelta(seconds=60)

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute

    def check(self, session, cipher: Cipher, channel: str, chat_id: str, now) -> str | None:
        """None: handle it. "tell": over the limit, say so. "drop": over the limit, told already."""
        if self.per_minute <= 0:
            return None
        count = counters.add_in_window(session=session, chat_keys=cipher.limit_keys(channel, chat_id), kind=MESSAGES,
                                       now=now, window=self.WINDOW)
        if count <= self.per_minute:
            return None
        return "tell" if count == self.per_minute + 1 else "drop"
