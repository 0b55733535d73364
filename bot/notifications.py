"""Delivering notifications (messages to other chats) through the channel that reaches them.

Handlers queue them in their own transaction (Context.notify); a channel sends what is due for
it after each update that queued some, and on its minute sweep. A send that fails is tried
again later; a permanent failure (blocked, out of the messaging window) is recorded, not retried.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from sqlalchemy.engine import Engine

from bot.types import Reply, replies_from_json
from storage import notifications
from storage.crypto import Cipher
from storage.db import transaction
from storage.models import utcnow

log = logging.getLogger(__name__)
Send = Callable[[str, list[Reply]], Awaitable[None]]


def claim(engine: Engine, cipher: Cipher, channel: str, chat_id: str | None = None, limit: int = 20,
          clock: Callable[[], datetime] = utcnow, lease: timedelta = notifications.LEASE) -> list[tuple[int, str, list[Reply]]]:
    """A small batch, leased: after a crash only these wait for the lease to run out."""
    with transaction(engine) as session:
        rows = notifications.claim(session=session, channel=channel, chat_id=chat_id, now=clock(), limit=limit, lease=lease)
        return [(r.id, r.chat_id, replies_from_json(cipher.decrypt(r.replies) or "[]")) for r in rows]


def _mark(engine: Engine, notification_id: int, outcome: str, reason: str = "") -> None:
    with transaction(engine) as session:
        if outcome == "sent":
            notifications.mark_sent(session=session, notification_id=notification_id, now=utcnow())
        else:
            notifications.mark_attempt(session=session, notification_id=notification_id, now=utcnow(),
                                       permanent=outcome == "permanent", reason=reason)


async def deliver(engine: Engine, cipher: Cipher, channel: str, send: Send, permanent_errors: tuple[type[Exception], ...] = (),
                  chat_id: str | None = None, interval: float = 0.0, clock: Callable[[], datetime] = utcnow,
                  lease: timedelta = notifications.LEASE) -> int:
    """Sends every due notification of the channel, oldest first, in leased batches; the number sent.
    Each is marked sent right after its send, so a crash repeats at most the one in flight."""
    sent = 0
    loop = asyncio.get_running_loop()
    next_at = loop.time()
    while True:
        batch = await asyncio.to_thread(claim, engine, cipher, channel, chat_id, 20, clock, lease)
        if not batch:
            return sent
        for notification_id, target, replies in batch:
            if interval:
                # Evenly spaced under the channel's limit (no bursts), so a broadcast of thousands
                # never meets a 429 and takes barely longer than the limit allows.
                await asyncio.sleep(max(0.0, next_at - loop.time()))
                next_at = max(next_at, loop.time()) + interval * len(replies)
            try:
                await send(target, replies)
            except permanent_errors as exc:
                log.info("%s notification %s undeliverable: %s", channel, notification_id, type(exc).__name__)
                await asyncio.to_thread(_mark, engine, notification_id, "permanent", str(exc))
                continue
            except Exception as exc:  # noqa: BLE001 - tried again after a back-off
                log.warning("%s notification %s not sent: %s", channel, notification_id, type(exc).__name__)
                await asyncio.to_thread(_mark, engine, notification_id, "retry", type(exc).__name__)
                continue
            await asyncio.to_thread(_mark, engine, notification_id, "sent")
            sent += 1
