"""Dispatch: deduplicate, serialise per conversation, run the handler and save its state in one transaction."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime

from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from bot.context import Context, Result
from bot.limits import FloodGate
from bot.router import ForgedButton, Router
from bot.state import ConversationState
from bot.types import Incoming, Reply, replies_from_json, replies_to_json
from storage import repo
from storage.crypto import Cipher
from storage.db import RETRY_DELAYS, connection_transaction, is_postgres, retried, retryable, wipe_free_pages
from storage.models import utcnow

log = logging.getLogger(__name__)
ContextFactory = Callable[[Session | Connection, ConversationState, datetime, Incoming], Context]


class TemporaryFailure(Exception):
    """The database was unavailable: nothing was saved. `replies` is the calm message to send now;
    the update stays unprocessed in the inbox and is handled again when the database is back."""

    def __init__(self, replies: list[Reply]) -> None:
        super().__init__("temporary failure")
        self.replies = replies


class ForgedButtonLog:
    """At most one warning a minute per channel for unreadable button data; the rest are counted."""

    def __init__(self, every: float = 60.0) -> None:
        self.every = every
        self._last: dict[str, float] = {}
        self._left_out: dict[str, int] = defaultdict(int)

    def warn(self, channel: str, prefix: str, error: str) -> None:
        now = time.monotonic()
        if now - self._last.get(channel, -self.every) < self.every:
            self._left_out[channel] += 1
            return
        self._last[channel] = now
        more = self._left_out.pop(channel, 0)
        suffix = f" ({more} more in the last {int(self.every)}s)" if more else ""
        log.warning("unreadable %r button data on %s (%s): answered as a stale button%s", prefix, channel, error, suffix)


forged_buttons = ForgedButtonLog()


class KeyedLocks:
    """One asyncio lock per conversation, forgotten when nobody holds or waits for it."""

    def __init__(self) -> None:
        self._locks: dict[str, asyncio.Lock] = {}
        self._users: dict[str, int] = defaultdict(int)

    @asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._users[key] += 1
        try:
            async with lock:
                yield
        finally:
            self._users[key] -= 1
            if self._users[key] == 0:
                del self._users[key], self._locks[key]


class Dispatcher:
    """Turns one `Incoming` into replies. Safe to call concurrently from any number of adapters."""

    def __init__(
        self,
        *,
        engine: Engine,
        router: Router,
        make_context: ContextFactory,
        error_reply: Callable[[], Reply],
        cipher: Cipher,
        clock: Callable[[], datetime] = utcnow,
        flood: FloodGate | None = None,
        too_fast_reply: Callable[[], Reply] | None = None,
    ) -> None:
        self.engine = engine
        self.router = router
        self.make_context = make_context
        self.error_reply = error_reply
        self.cipher = cipher
        self.clock = clock
        # Messages per minute per conversation (LIMIT_MESSAGES_PER_MINUTE); None: no limit.
        self.flood = flood
        self.too_fast_reply = too_fast_reply
        self.locks = KeyedLocks()
        # Called (in the event loop) with the channels that have new notifications to send.
        self.on_notify: Callable[[set[str]], object] | None = None
        # Where the synchronous handler runs. PostgreSQL: a worker thread, so a statement waiting
        # on the network or on another worker's lock never blocks the event loop. SQLite (one
        # process, a local file, handlers of a millisecond or two): the loop's own thread — the
        # hop to a worker thread and the GIL contention it caused cost more than the work
        # (webhook throughput went from about 320 to about 450 updates/s).
        self.in_thread = is_postgres(engine)
        self.retry_delays = RETRY_DELAYS  # pauses before re-running a transaction whose connection dropped

    async def dispatch(self, msg: Incoming, *, inbox_id: int | None = None) -> list[Reply]:
        """Replies to send; empty for a repeated delivery. Never raises: failures get a calm message.
        With `inbox_id`, the replies are stored on that inbox row in the same transaction."""
        async with self.locks.hold(msg.conversation_key):
            for delay in (*self.retry_delays, None):
                try:
                    with retried():  # a dropped connection runs the whole transaction again (below)
                        if self.in_thread:
                            replies, notified = await asyncio.to_thread(self.process_or_stale, msg, inbox_id)
                        else:
                            replies, notified = self.process_or_stale(msg, inbox_id)
                    if notified and self.on_notify is not None:
                        self.on_notify(notified)
                    return replies
                # Logs name the channel and the inbox row, never the update id: on Zalo it holds the user id.
                except SQLAlchemyError as exc:
                    if retryable(exc) and delay is not None:
                        # A dropped connection: the whole transaction runs again on a fresh one.
                        # Nothing of the failed attempt was kept, or (the commit's answer was
                        # lost) the update is already claimed and its stored replies are returned.
                        log.info("database unavailable on a %s update (inbox %s): %s; run again in %.2f s",
                                 msg.channel, inbox_id, type(exc).__name__, delay)
                        await asyncio.sleep(delay)
                        continue
                    if retryable(exc):
                        log.error("database unavailable while handling a %s update (inbox %s): %s",
                                  msg.channel, inbox_id, type(exc).__name__)
                        if inbox_id is not None:
                            raise TemporaryFailure([self.error_reply()]) from None
                    else:
                        log.error("database error on a %s update (inbox %s): %s", msg.channel, inbox_id, type(exc).__name__)
                except Exception:
                    log.exception("handler failed on a %s update (inbox %s)", msg.channel, inbox_id)
                return [self.error_reply()]
        return [self.error_reply()]

    def process_or_stale(self, msg: Incoming, inbox_id: int | None = None) -> tuple[list[Reply], set[str]]:
        """`process`; button data a handler could not read is rolled back and answered again as a
        stale button (one warning line, rate-limited, without the data)."""
        try:
            return self.process(msg, inbox_id)
        except ForgedButton as exc:
            forged_buttons.warn(msg.channel, exc.prefix, exc.error)
            return self.process(msg, inbox_id, forged=True)

    def process(self, msg: Incoming, inbox_id: int | None = None, *, forged: bool = False) -> tuple[list[Reply], set[str]]:
        """The synchronous unit of work: claim, load, handle, save — committed together or not at all.
        Returns the replies and the channels that got notifications to send."""
        now = self.clock()
        with connection_transaction(self.engine, lock_key=msg.conversation_key) as session:
            # Never the id itself (Zalo's holds the user id): its keyed hash, the newest key's first.
            claimed, *older = self.cipher.update_keys(msg.channel, msg.update_id)
            if not repo.claim_update(session=session, channel=msg.channel, update_id=claimed, now=now, older=older):
                stored = repo.stored_replies(session=session, inbox_id=inbox_id) if inbox_id is not None else None
                if stored:  # handled before (an attempt whose commit's answer was lost): its replies
                    return replies_from_json(self.cipher.decrypt(stored) or "[]"), set()
                log.info("repeated %s update ignored (inbox %s)", msg.channel, inbox_id)
                return [], set()
            verdict = self.flood.check(session, self.cipher, msg.channel, msg.chat_id, now) if self.flood is not None else None
            if verdict is not None:
                # Over the per-minute limit: not handled, the state untouched; told once a minute.
                replies = [self.too_fast_reply()] if verdict == "tell" and self.too_fast_reply else []
                if inbox_id is not None:
                    repo.store_replies(session=session, inbox_id=inbox_id, replies=self.cipher.encrypt(replies_to_json(replies)), now=now)
                return replies, set()
            # The state holds answers about rehab or prison: it is encrypted at rest.
            raw = repo.load_state(session=session, channel=msg.channel, chat_id=msg.chat_id)
            state = ConversationState.from_json(self.cipher.decrypt(raw) if raw else None)
            ctx = self.make_context(session, state, now, msg)
            ctx.inbox_id = inbox_id
            ctx.forged = forged
            try:
                result = self.router.handle(ctx, msg, state)
            finally:
                ctx.release()
            remember_choices(state, result)
            state.last_seen = now
            sealed = self.cipher.encrypt(state.to_json())
            repo.save_state(session=session, channel=msg.channel, chat_id=msg.chat_id, state=sealed, now=now)
            if inbox_id is not None:
                outbox = self.cipher.encrypt(replies_to_json(result.replies))
                repo.store_replies(session=session, inbox_id=inbox_id, replies=outbox, now=now,
                                   chat_key=None if ctx.erased else self.cipher.chat_key(msg.channel, msg.chat_id))
        if ctx.erased:
            wipe_free_pages(self.engine)  # the erased values must not survive in free pages or the log
        return result.replies, {channel for channel, _ in ctx.notified}


def remember_choices(state: ConversationState, result: Result) -> None:
    """The buttons of the last reply are what a typed number or label refers to next time."""
    if not result.replies:
        return
    state.buttons = list(result.replies[-1].buttons)
