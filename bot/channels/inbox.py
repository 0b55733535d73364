"""What every webhook/polling channel shares: record an update durably before acknowledging it,
process it once in order per chat, send, mark sent; on start, finish what a crash left.

A channel subclass says how to read its updates (`parse`), how replies become messages
(`messages`) and how one message is sent (`send_message`).

Delivery after faults (README "Reliability"):
- each chat has its own send queue: its updates are handled and their replies sent one after
  another (one queue per chat, worked through in arrival order by one task), so a chat's later
  reply never overtakes an earlier one. A temporary send failure (network, outage, 429) is retried in place, after the
  platform's Retry-After or a growing pause, holding only that chat's queue;
- every confirmed message is committed on its inbox row (`sent_count`; the last one with
  `sent_at`) as soon as its send returns, before the next send begins, in a transaction of its
  own (nothing batched), so after a crash the replies resume after the last confirmed message: a
  message recorded as sent is never sent again. Only a message in flight at the instant of a
  SIGKILL (the platform has it, its confirmation not yet committed) can be repeated: the
  platforms offer no idempotency key, and recording before sending would lose a message instead;
- an update that got "thử lại sau" (database unavailable) is handled again by the minute sweep
  only if the person has not written since; once they have, it is closed unanswered (they
  retyped it, and an answer to the old message would now be a wrong answer);
- several workers on one PostgreSQL database (`run --workers N`): the per-chat locks above are
  in one process only, so on PostgreSQL a worker also leases the chat's oldest unfinished update
  in the database before handling and sending it (storage/lanes.py). One worker at a time works
  on a chat, in arrival order, whichever worker received its updates; the holder goes on with
  the chat's next update itself; a dead worker's leases run out and the sweep takes them over.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import socket
import time
from collections import OrderedDict, deque
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from bot.channels.wire import header_bytes, refusals
from bot.dispatch import KeyedLocks, TemporaryFailure
from bot.i18n import texts
from bot.notifications import deliver
from bot.types import Incoming, Reply, replies_from_json
from storage import lanes, repo
from storage.db import connection_transaction, is_postgres, one_statement, run_db, transaction
from storage.models import utcnow

if TYPE_CHECKING:
    import aiohttp

log = logging.getLogger(__name__)
GIVE_UP_AFTER = timedelta(hours=24)  # replies still unsent after this are dropped, not retried forever
RETRY_FIRST, RETRY_MAX = 0.5, 15.0  # seconds: the pause before re-sending after a temporary failure, doubling
TYPING_AFTER = 0.8  # seconds: "typing…" only when an answer is slow (most take milliseconds)


class GroupNotices:
    """Which group chats were lately told "Vui lòng nhắn riêng cho trợ lý". A group gets the notice
    once per `every` seconds (a day), however much it writes; at most `per_minute` notices go out
    a minute across all groups, and at most `size` groups are remembered (the oldest forgotten).
    Kept in memory on purpose: nothing about a group is stored, so after a restart a group may be
    told once more."""

    def __init__(self, every: float = 24 * 3600, per_minute: int = 20, size: int = 10_000, clock=time.monotonic) -> None:
        self.every, self.per_minute, self.size, self.clock = every, per_minute, size, clock
        self._told: OrderedDict[str, float] = OrderedDict()
        self._recent: list[float] = []

    def due(self, chat_id: str) -> bool:
        now = self.clock()
        told = self._told.get(chat_id)
        if told is not None and now - told < self.every:
            return False
        self._recent = [t for t in self._recent if now - t < 60]
        if len(self._recent) >= self.per_minute:
            return False  # a flood across many groups: these are told on a later message
        self._recent.append(now)
        self._told[chat_id] = now
        self._told.move_to_end(chat_id)
        while len(self._told) > self.size:
            self._told.popitem(last=False)
        return True


class PermanentSendError(Exception):
    """The recipient cannot be reached (blocked the bot, outside the messaging window): give up."""


class TemporarySendError(Exception):
    """The platform could not take the message now (overloaded, down): the chat's queue retries."""


class InboxChannel:
    name = "channel"
    # Failures worth re-sending after a pause (the channel adds its own client's).
    temporary_errors: tuple[type[BaseException], ...] = (TemporarySendError, OSError, asyncio.TimeoutError)

    def __init__(self, app) -> None:
        self.app = app
        self.cipher = app.dispatcher.cipher
        self.locks = KeyedLocks()
        self.tasks: set[asyncio.Task] = set()
        self.in_flight: set[int] = set()  # inbox rows being handled now (resume skips them)
        self.healthy = False
        self.session: aiohttp.ClientSession | None = None  # for channels that call their API with aiohttp
        self._polling: asyncio.Task | None = None
        self._delivering = asyncio.Lock()
        self.send_interval = 0.0  # seconds between messages a broadcast keeps (the channel's rate limit)
        self.group_notices = GroupNotices()
        self._stopping = asyncio.Event()
        # Updates answered "thử lại sau", per chat, and the newest update seen of those chats:
        # a failed update older than the chat's newest is closed, not replayed.
        self._failed: dict[str, set[int]] = {}
        self._newest: dict[str, int] = {}
        self._queues: dict[str, deque] = {}  # conversation key → its rows waiting to be handled, in order
        # Rows whose webhook answer itself carried the courtesy call (Telegram: the button's answer).
        self._courtesy_sent: set[int] = set()
        # Several workers on one PostgreSQL database (storage/lanes.py): an update is leased to
        # this worker, by name, before it is handled; SQLite serves one process and needs none.
        self.shared = is_postgres(app.engine)
        self.worker = getattr(app, "worker", "") or f"{socket.gethostname()}:{app.settings.http_port}"
        self.lease = timedelta(seconds=app.settings.inbox_lease_seconds)
        self.clock = utcnow  # lease times (a test moves it on)
        self._lanes: dict[int, str | None] = {}  # leased updates being worked on: their lane
        self._successors: dict[int, tuple | None] = {}  # the lane's next update, leased as one finished
        # Updates recorded here while this worker held their chat (it takes them next), with their
        # payload, so taking one does not read and decrypt it again.
        self._waiting: dict[str, dict[int, dict]] = {}
        self._renewer: asyncio.Task | None = None
        self._released = False  # leases a previous process of this name left were freed

    # -- what a channel provides ----------------------------------------------------------------

    def parse(self, data: dict) -> Incoming | None:
        raise NotImplementedError

    async def messages(self, replies: list[Reply]) -> list:
        """The replies as the channel's messages, in order (documents, text chunks); the same
        replies always make the same number of messages (delivery progress counts them)."""
        raise NotImplementedError

    def group_of(self, data: dict) -> str | None:
        """The chat id when the update comes from a group, supergroup or channel; None for a
        private chat. The bot serves private chats only."""
        return None

    async def send_group_notice(self, chat_id: str, data: dict, text: str) -> None:
        """Sends the one "write to me privately" message into a group."""
        await self.send(chat_id, [Reply(text)])

    def group_notice(self, chat_id: str, data: dict) -> None:
        """A group's update: nothing recorded, dispatched or bound; the group is told, once a day,
        to write privately (in the background, so the webhook answers at once)."""
        if not self.group_notices.due(chat_id):
            return
        text = texts(self.app.settings.bot_locale).t("group.private_only")

        async def notice() -> None:
            try:
                await self.send_group_notice(chat_id, data, text)
            except Exception as exc:  # noqa: BLE001 - a courtesy; the group writes again or not
                log.info("%s group notice failed: %s", self.name, type(exc).__name__)

        task = asyncio.create_task(notice())
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
    async def send_message(self, chat_id: str, message) -> None:
        """Sends one of `messages`; PermanentSendError when the recipient cannot be reached."""
        raise NotImplementedError

    def retry_after(self, exc: BaseException) -> float | None:
        """How long the platform asked to wait (a 429's Retry-After), if it said."""
        return None

    async def check_reachable(self, chat_id: str) -> None:
        """PermanentSendError when the platform would refuse any message to the chat."""

    async def send(self, chat_id: str, replies: list[Reply]) -> None:
        """Sends replies once, no retry (notifications, the calm "thử lại sau")."""
        await self.check_reachable(chat_id)
        for message in await self.messages(replies):
            await self.send_message(chat_id, message)

    async def before_dispatch(self, msg: Incoming, data: dict) -> None:
        """A hook for acknowledging button presses."""

    async def typing(self, msg: Incoming) -> None:
        """Shows "typing…" (channels that can)."""

    def _start_typing(self, msg: Incoming) -> None:
        """Called when an answer has taken TYPING_AFTER seconds (a timer, not a task per update)."""
        task = asyncio.ensure_future(self._typing(msg))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _typing(self, msg: Incoming) -> None:
        try:
            await self.typing(msg)
        except Exception as exc:  # noqa: BLE001 - a courtesy, never a blocker
            log.info("%s typing failed: %s", self.name, type(exc).__name__)

    def recorded(self, session, data: dict) -> None:
        """A hook run in the transaction that records a NEW update (not for repeats)."""

    def ready(self) -> bool:
        """Webhooks answer 503 until the channel has started (and resumed older updates)."""
        return self.healthy

    def refusal(self, headers, header: str, secret: str) -> int | None:
        """503 before the channel is ready; 403 unless the header carries the secret (compared in
        constant time; an empty secret never matches); None when the call may proceed."""
        if not self.ready():
            return 503
        given = header_bytes(headers.get(header, ""))  # 0xFF in a header must not become a 500
        if not secret or not hmac.compare_digest(given, secret.encode()):
            refusals.warn(self.name, 403, "wrong or missing secret")
            return 403
        return None

    async def with_download_link(self, reply: Reply) -> str:
        """For channels that cannot send files: the text plus a one-time, expiring download link."""
        if reply.document is None:
            return reply.text
        url = await asyncio.to_thread(self.app.downloads.create, reply.document)
        hours = int(self.app.downloads.ttl.total_seconds() // 3600)
        lang = texts(self.app.settings.bot_locale)
        return f"{reply.text}\n{lang.t('download.link', filename=reply.document.filename, hours=hours, url=url)}"

    # -- the shared machinery ---------------------------------------------------------------------

    async def deliver_notifications(self) -> int:
        """Sends messages queued for this channel's chats (decisions, relayed questions and answers)."""
        async with self._delivering:  # one delivery run at a time, so nothing goes out twice
            return await deliver(self.app.engine, self.cipher, self.name, self.send, (PermanentSendError,),
                                 interval=self.send_interval,
                                 lease=timedelta(seconds=self.app.settings.notification_lease_seconds))

    async def open_for_sending(self) -> None:
        """Prepares the API client without receiving updates (`reminders run-once`)."""

    def notify_soon(self) -> None:
        """Delivers queued notifications in the background, right after the update that queued them."""
        task = asyncio.create_task(self.deliver_notifications())
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def accept(self, update_id: str, data: dict, *, courtesy_sent: bool = False) -> None:
        """Records the update (encrypted); a new one is processed in the background. An update from
        a group is not recorded: the group gets the private-chats-only notice (see group_notice).
        `courtesy_sent`: the webhook's answer itself carries the courtesy call (`before_dispatch`),
        so it is not made again."""
        group = self.group_of(data)
        if group is not None:
            self.group_notice(group, data)
            return
        if self.shared:
            lane = self._lane(data)
            if lane is not None and self._holding(lane):
                # This worker is on the chat: the update is recorded, and taken when the one in
                # hand is finished (in that transaction, or just after: see _finish_leased).
                inbox_id = await run_db(self.app.engine, self._record, update_id, data, lane)
                if inbox_id is None:
                    return
                self._courtesy(inbox_id, courtesy_sent)
                if self._holding(lane):
                    self._waiting.setdefault(lane, {})[inbox_id] = data
                    return
                work = await run_db(self.app.engine, self._claim_lane, lane, {inbox_id: data})
            else:
                work = await run_db(self.app.engine, self._record_and_claim, update_id, data, lane)
            if work is not None:  # None: a repeat, or another worker is on the chat (it takes this one next)
                self._courtesy(work[0], courtesy_sent)
                self._spawn_work(work)
            return
        inbox_id = await run_db(self.app.engine, self._record, update_id, data)
        if inbox_id is not None:  # None: the same update again, already recorded
            self._courtesy(inbox_id, courtesy_sent)
            self._spawn(inbox_id, data, None)

    def _courtesy(self, inbox_id: int, sent: bool) -> None:
        if sent:
            if len(self._courtesy_sent) >= 10_000:  # rows another worker took: bounded all the same
                self._courtesy_sent.clear()
            self._courtesy_sent.add(inbox_id)

    async def resume(self) -> None:
        """Finishes updates recorded before a crash: processes or re-sends them, oldest first
        (the channel's minute sweep; at start-up, everything unfinished)."""
        if self.shared:
            await self._resume_leased()
            return
        rows = [r for r in await asyncio.to_thread(self._unfinished) if r[0] not in self.in_flight]
        now = utcnow()
        pending = []
        for row_id, payload, replies, received_at, sent_count, failed_at in rows:
            if now - received_at > GIVE_UP_AFTER:
                log.warning("%s update (inbox %s) could not be answered within %s; given up", self.name, row_id, GIVE_UP_AFTER)
                await asyncio.to_thread(self._mark_sent, row_id)
                continue
            data = json.loads(self.cipher.decrypt(payload) or "{}")
            key = self._key(data)
            if key is not None:  # the newest of each chat, before any is handled
                self._newest[key] = max(self._newest.get(key, 0), row_id)
                if failed_at is not None:
                    self._failed.setdefault(key, set()).add(row_id)
            pending.append((row_id, data, replies, sent_count))
        for row_id, data, replies, sent_count in pending:
            self._spawn(row_id, data, replies, sent_count, swept=True)
        if rows:
            log.info("resuming %d unfinished %s updates", len(rows), self.name)

    async def _resume_leased(self) -> None:
        """Several workers: takes the chats whose unfinished updates nobody alive holds (at
        start-up also those a previous process of this name left), oldest first."""
        if self._renewer is None:
            self._renewer = asyncio.create_task(self._renew_leases())
        try:
            works = await asyncio.to_thread(self._claim_open)
        except Exception as exc:  # noqa: BLE001 - the next sweep tries again
            log.warning("%s sweep failed: %s", self.name, type(exc).__name__)
            return
        for work in works:
            self._spawn_work(work)
        if works:
            log.info("resuming %d unfinished %s updates", len(works), self.name)

    async def _renew_leases(self) -> None:
        """Keeps this worker's leases alive while it works (a third of the lease, each time)."""
        every = max(self.lease.total_seconds() / 3, 0.05)
        while True:
            await asyncio.sleep(every)
            held = [inbox_id for inbox_id in list(self.in_flight) if inbox_id in self._lanes]
            if not held:
                continue
            try:
                await asyncio.to_thread(self._renew, held)
            except Exception as exc:  # noqa: BLE001 - tried again in a moment; a lease runs for three times this
                log.warning("%s leases not renewed: %s", self.name, type(exc).__name__)

    def _holding(self, lane: str) -> bool:
        """Whether this worker is working on an update of the chat right now."""
        return lane in self._lanes.values()

    def _lane(self, data: dict) -> str | None:
        """The conversation's keyed hash (never its id), which orders its updates across workers."""
        try:
            msg = self.parse(data) if data else None
        except (TypeError, ValueError, KeyError, AttributeError):
            return None
        return self.cipher.chat_key(msg.channel, msg.chat_id) if msg is not None else None

    def _key(self, data: dict) -> str | None:
        try:
            msg = self.parse(data) if data else None
        except (TypeError, ValueError, KeyError, AttributeError):
            return None
        return msg.conversation_key if msg is not None else None

    def start_polling(self, loop) -> None:
        """Runs a channel's polling loop (development mode, or no public address); if it ever
        stops on its own, the channel reports itself unhealthy on /healthz."""
        self._polling = asyncio.create_task(loop)

        def ended(task: asyncio.Task) -> None:
            if not task.cancelled():
                self.healthy = False
                log.error("%s polling stopped: %s", self.name, type(task.exception()).__name__ if task.exception() else "ended")

        self._polling.add_done_callback(ended)

    async def stop_receiving(self) -> None:
        """Stops taking updates; work in flight finishes first (a send waiting to be retried
        stops waiting: it is finished at the next start)."""
        self.healthy = False
        self._stopping.set()
        if self._polling is not None:
            self._polling.cancel()
            await asyncio.gather(self._polling, return_exceptions=True)
        await asyncio.gather(*list(self.tasks), return_exceptions=True)
        if self._renewer is not None:
            self._renewer.cancel()
            await asyncio.gather(self._renewer, return_exceptions=True)

    async def stop(self) -> None:
        """Stops taking updates, lets work in flight finish, closes the HTTP client."""
        await self.stop_receiving()
        if self.session is not None:
            await self.session.close()

    async def idle(self) -> None:
        """Returns once nothing is being handled or sent (tests wait on this, not on time)."""
        while self.tasks:
            await asyncio.gather(*list(self.tasks), return_exceptions=True)

    def _spawn(self, inbox_id: int, data: dict, replies: list[Reply] | None, sent_count: int = 0, swept: bool = False) -> None:
        if inbox_id in self.in_flight:
            return  # already being handled (an accept and a resume sweep can meet)
        self.in_flight.add(inbox_id)
        if inbox_id in self._lanes:  # several workers: one leased update per chat at a time already
            self._track(self._finish_leased(inbox_id, data, replies, sent_count, swept), inbox_id)
            return
        # One process: the row joins its chat's queue, worked through by the chat's one task. A
        # flood of one chat's updates then waits as small queue entries, and the memory it took
        # comes back (a task per waiting update cost about 2 KB more and left the memory
        # fragmented: 23 MiB kept after 5,000 updates from one chat).
        key = self._key(data)
        if key is None:
            self._track(self._finish(inbox_id, data, replies, sent_count, swept), inbox_id)  # closed unread
            return
        if key in self._failed:  # as _finish does, at once: the chat's newest update is known early
            self._newest[key] = max(self._newest.get(key, 0), inbox_id)
        waiting = self._queues.get(key)
        if waiting is not None:
            waiting.append((inbox_id, data, replies, sent_count, swept))
            return
        self._queues[key] = deque([(inbox_id, data, replies, sent_count, swept)])
        self._track(self._work_through(key), None)

    def _track(self, work, inbox_id: int | None) -> None:
        task = asyncio.create_task(work)
        self.tasks.add(task)

        def finished(done: asyncio.Task) -> None:
            self.tasks.discard(done)
            self.in_flight.discard(inbox_id)

        task.add_done_callback(finished)

    async def _work_through(self, key: str) -> None:
        """The chat's queue, one row after another, until it is empty."""
        waiting = self._queues[key]
        try:
            while waiting:
                row = waiting.popleft()
                try:
                    await self._finish(*row)
                except Exception as exc:  # noqa: BLE001 - one row's failure never holds up the chat's later ones
                    log.error("%s inbox %s not finished (left for the next sweep): %s", self.name, row[0], type(exc).__name__)
                finally:
                    self.in_flight.discard(row[0])
        finally:
            del self._queues[key]
            for row in waiting:  # cancelled (stopping): left to the next start or sweep
                self.in_flight.discard(row[0])
            if key not in self._failed:
                self._newest.pop(key, None)  # only read for a chat with a "thử lại sau" pending

    def _spawn_work(self, work: tuple) -> None:
        """Works on an update leased to this worker: (id, payload, stored replies, messages
        confirmed, lane, whether it got "thử lại sau" before). Its state was read under the lease,
        so it is not read again (only a "thử lại sau" goes through the sweep's checks)."""
        inbox_id, data, replies, sent_count, lane, failed = work
        if lane is not None:
            waiting = self._waiting.get(lane)
            if waiting is not None:
                waiting.pop(inbox_id, None)
                if not waiting:
                    del self._waiting[lane]
        self._lanes[inbox_id] = lane
        self._spawn(inbox_id, data, replies, sent_count, swept=failed)

    async def _finish_leased(self, inbox_id: int, data: dict, stored: list[Reply] | None, sent_count: int,
                             swept: bool) -> None:
        """`_finish`, then the lease: released, and the chat's next update taken (usually in the
        transaction that recorded the last message, see `_record_done`)."""
        lane = self._lanes.get(inbox_id)
        try:
            await self._finish(inbox_id, data, stored, sent_count, swept)
        finally:
            self._lanes.pop(inbox_id, None)
            looked = inbox_id in self._successors  # the last message's transaction looked for the next
            successor = self._successors.pop(inbox_id, None)
        if successor is None and lane is not None and lane in self._waiting and not self._stopping.is_set():
            looked = False  # updates recorded here after that transaction looked: the chat's next is taken now
        if not looked:
            waiting = self._waiting.get(lane, {}) if lane is not None else {}
            try:
                successor = await run_db(self.app.engine, self._release, inbox_id, lane, waiting)
            except Exception as exc:  # noqa: BLE001 - the lease runs out; the sweep takes the chat
                log.warning("%s inbox %s lease not released: %s", self.name, inbox_id, type(exc).__name__)
                return
        if successor is not None:
            self._spawn_work(successor)
        elif lane is not None and not self._holding(lane):
            self._waiting.pop(lane, None)  # another worker is on the chat, or nothing waits

    async def _finish(self, inbox_id: int, data: dict, stored: list[Reply] | None, sent_count: int = 0,
                      swept: bool = False) -> None:
        try:
            msg = self.parse(data) if data else None
        except (TypeError, ValueError, KeyError, AttributeError):
            msg = None
        if msg is None:
            await self._close(inbox_id)
            return
        key = msg.conversation_key
        if key in self._failed:
            self._newest[key] = max(self._newest.get(key, 0), inbox_id)
        async with self.locks.hold(key):  # the chat's queue: its updates in arrival order, one at a time
            try:
                if swept:
                    # Read again under the chat's lock: a live task may have finished this row (or
                    # sent part of it) since the sweep listed it.
                    done, sent_count = await run_db(self.app.engine, self._progress, inbox_id)
                    if done:
                        return
                if stored is None:
                    if swept and inbox_id in self._failed.get(key, ()) and self._newest.get(key, 0) > inbox_id:
                        log.info("%s update (inbox %s) got 'try later' and the person wrote since: closed, not replayed",
                                 self.name, inbox_id)
                        self._forget_failed(key, [inbox_id])
                        await self._close(inbox_id)
                        return
                    await self._close_failed_before(key, inbox_id)
                    courtesy_sent = inbox_id in self._courtesy_sent
                    self._courtesy_sent.discard(inbox_id)
                    try:
                        if not courtesy_sent:
                            await self.before_dispatch(msg, data)
                    except Exception as exc:  # noqa: BLE001 - "typing…" is a courtesy, never a blocker
                        log.info("%s courtesy call failed: %s", self.name, type(exc).__name__)
                    typing = asyncio.get_running_loop().call_later(TYPING_AFTER, self._start_typing, msg)
                    try:
                        stored = await self.app.dispatcher.dispatch(msg, inbox_id=inbox_id)
                    finally:
                        typing.cancel()
                    self._forget_failed(key, [inbox_id])
                await self._deliver(inbox_id, msg.chat_id, stored, sent_count)
                return  # the row was closed with its last message
            except TemporaryFailure as exc:
                # Nothing was saved: say "thử lại sau" now; the sweep handles the update again
                # later, unless the person writes again first.
                told = inbox_id in self._failed.get(key, ())  # a replay that failed again: told once is enough
                self._failed.setdefault(key, set()).add(inbox_id)
                self._newest[key] = max(self._newest.get(key, 0), inbox_id)
                if not told:
                    try:
                        await self.send(msg.chat_id, exc.replies)
                    except Exception:  # noqa: BLE001
                        pass
                try:
                    await run_db(self.app.engine, self._mark_failed, inbox_id)
                except Exception:  # noqa: BLE001 - the database is down: remembered in memory only
                    pass
                return
            except PermanentSendError as exc:
                log.info("%s recipient unreachable (inbox %s): %s", self.name, inbox_id, exc)
            except Exception as exc:  # noqa: BLE001 - left unsent, finished at the next start
                log.warning("%s send failed (inbox %s): %s", self.name, inbox_id, type(exc).__name__)
                return
            await self._close(inbox_id)

    async def _deliver(self, inbox_id: int, chat_id: str, replies: list[Reply], start: int) -> None:
        """Sends the replies' messages from `start` on. Each confirmed one is committed at once,
        before the next send begins (the last closes the row); a temporary failure is retried
        after a pause (this chat's queue waits, no other chat does)."""
        await self.check_reachable(chat_id)
        messages = await self.messages(replies)
        index, pause = start, RETRY_FIRST
        while index < len(messages):
            try:
                await self.send_message(chat_id, messages[index])
            except PermanentSendError:
                raise
            except self.temporary_errors as exc:
                if self._stopping.is_set():
                    raise
                wait = self.retry_after(exc)
                wait = pause if wait is None else wait
                pause = min(pause * 2, RETRY_MAX)
                log.info("%s send failed (inbox %s): %s; this chat's queue tries again in %.1f s",
                         self.name, inbox_id, type(exc).__name__, wait)
                try:
                    await asyncio.wait_for(self._stopping.wait(), wait)
                except TimeoutError:
                    pass
                continue
            index += 1
            pause = RETRY_FIRST
            if index < len(messages):
                await run_db(self.app.engine, self._record_progress, inbox_id, index)
        await run_db(self.app.engine, self._record_done, inbox_id, len(messages))  # the last, with sent_at

    def _forget_failed(self, key: str, inbox_ids: list[int]) -> None:
        failed = self._failed.get(key)
        if failed is None:
            return
        failed.difference_update(inbox_ids)
        if not failed:
            del self._failed[key]
            self._newest.pop(key, None)

    async def _close_failed_before(self, key: str, inbox_id: int) -> None:
        """The person wrote again: their updates that got "thử lại sau" are closed, not replayed."""
        older = [i for i in self._failed.get(key, ()) if i < inbox_id]
        if older:
            await run_db(self.app.engine, self._mark_many, older)
            log.info("%s: %d update(s) that got 'try later' closed, the person wrote again", self.name, len(older))
            self._forget_failed(key, older)

    async def _close(self, inbox_id: int) -> None:
        """Marks the row finished (nothing to send, given up, or closed unanswered), at once."""
        try:
            await run_db(self.app.engine, self._mark_many, [inbox_id])
        except Exception as exc:  # noqa: BLE001 - left open: looked at again by the next sweep
            log.warning("%s inbox %s not closed: %s", self.name, inbox_id, type(exc).__name__)

    # -- storage (worker thread) ------------------------------------------------------------------

    def _record(self, update_id: str, data: dict, lane: str | None = None) -> int | None:
        if self.shared and lane is None:
            lane = self._lane(data)
        with connection_transaction(self.app.engine) as session:
            return self._insert(session, update_id, data, lane)

    def _insert(self, session, update_id: str, data: dict, lane: str | None, lock: bool = False) -> int | None:
        """Records the update; with `lock`, the same statement takes its lane's lock (storage/lanes.py)."""
        sealed = self.cipher.encrypt(json.dumps(data, ensure_ascii=False))
        hashed, *older = self.cipher.update_keys(self.name, update_id)  # older: recorded before a key rotation
        if lock and lane is not None:
            inbox_id = lanes.record(session, channel=self.name, update_id=hashed, payload=sealed, now=utcnow(), lane=lane,
                                    older=older)
        else:
            inbox_id = repo.record_inbox(session=session, channel=self.name, update_id=hashed, payload=sealed, now=utcnow(),
                                         older=older, lane=lane)
        if inbox_id is not None:
            self.recorded(session, data)
        return inbox_id

    def _record_and_claim(self, update_id: str, data: dict, lane: str | None) -> tuple | None:
        """Several workers: records the update and, in the same transaction, leases its chat's
        next update to this worker — this one, unless an older one waits; None when another
        worker is on the chat (it takes this one next) or for a repeat."""
        now = self.clock()
        with connection_transaction(self.app.engine) as connection:
            inbox_id = self._insert(connection, update_id, data, lane, lock=True)
            if inbox_id is None:
                return None
            if lane is None:
                row = lanes.claim_row(connection, inbox_id=inbox_id, worker=self.worker, now=now, until=now + self.lease)
            else:
                row = lanes.take(connection, lane=lane, worker=self.worker, now=now, until=now + self.lease)
            return self._work(row, {inbox_id: data})

    def _claim_lane(self, lane: str, known: dict[int, dict]) -> tuple | None:
        """Leases the chat's next update to this worker, if nobody is on the chat."""
        now = self.clock()
        with connection_transaction(self.app.engine) as connection:
            lanes.lock(connection, lane)
            return self._work(lanes.take(connection, lane=lane, worker=self.worker, now=now, until=now + self.lease), known)

    def _work(self, row, known: dict[int, dict]) -> tuple | None:
        """A leased update (storage/lanes.py's row) as `_spawn_work` takes it; its payload from
        `known` when this worker has it in hand, else decrypted."""
        if row is None:
            return None
        data = known.get(row.id)
        if data is None:
            data = json.loads(self.cipher.decrypt(row.payload) or "{}")
        replies = replies_from_json(self.cipher.decrypt(row.replies) or "[]") if row.replies else None
        return row.id, data, replies, row.sent_count or 0, row.lane, row.failed_at is not None

    def _release(self, inbox_id: int, lane: str | None, known: dict[int, dict]) -> tuple | None:
        """Frees this worker's lease on the update; the chat's next update, leased, if one waits."""
        now = self.clock()
        with connection_transaction(self.app.engine) as connection:
            return self._work(lanes.next_after(connection, inbox_id=inbox_id, lane=lane, worker=self.worker, now=now,
                                               until=now + self.lease, chain=not self._stopping.is_set()), known)

    def _renew(self, inbox_ids: list[int]) -> None:
        with connection_transaction(self.app.engine) as connection:
            lanes.renew(connection, inbox_ids=inbox_ids, worker=self.worker, until=self.clock() + self.lease)

    def _claim_open(self) -> list[tuple]:
        """The sweep with several workers: each chat nobody alive holds, its next update leased."""
        now = self.clock()
        until = now + self.lease
        with connection_transaction(self.app.engine) as connection:
            if not self._released:
                freed = lanes.release_worker(connection, channel=self.name, worker=self.worker)
                if freed:
                    log.info("%s: %d update(s) a previous process of this worker left leased, taken back", self.name, freed)
            given_up = lanes.give_up(connection, channel=self.name, received_before=now - GIVE_UP_AFTER, now=now)
            open_lanes, loose = lanes.open_work(connection, channel=self.name, now=now)
        self._released = True
        for row_id in given_up:
            log.warning("%s update (inbox %s) could not be answered within %s; given up", self.name, row_id, GIVE_UP_AFTER)
        works = []
        for lane in open_lanes:
            with connection_transaction(self.app.engine) as connection:
                lanes.lock(connection, lane)
                work = self._work(lanes.claim(connection, lane=lane, worker=self.worker, now=now, until=until),
                                  self._waiting.get(lane, {}))
            if work is not None:
                works.append(work)
        for row_id in loose:
            with connection_transaction(self.app.engine) as connection:
                work = self._work(lanes.claim_row(connection, inbox_id=row_id, worker=self.worker, now=now, until=until), {})
            if work is not None:
                works.append(work)
        return works

    # Marking a row is one UPDATE, atomic alone: on PostgreSQL without BEGIN and COMMIT round trips.

    def _record_progress(self, inbox_id: int, count: int) -> None:
        with one_statement(self.app.engine) as session:
            repo.record_progress(session=session, inbox_id=inbox_id, count=count)

    def _record_done(self, inbox_id: int, count: int) -> None:
        lane = self._lanes.get(inbox_id)
        successor = None
        with connection_transaction(self.app.engine) as session:
            if lane is None or self._stopping.is_set():
                repo.record_done(session=session, inbox_id=inbox_id, count=count, now=utcnow())  # its lease ends with it
            else:  # several workers: the chat's next update, taken in the same transaction
                now = self.clock()
                lanes.finish(session, inbox_id=inbox_id, count=count, now=utcnow(), lane=lane)
                row = lanes.take(session, lane=lane, worker=self.worker, now=now, until=now + self.lease)
                successor = self._work(row, self._waiting.get(lane, {}))
        if inbox_id in self._lanes:  # committed
            self._successors[inbox_id] = successor

    def _mark_failed(self, inbox_id: int) -> None:
        with one_statement(self.app.engine) as session:
            repo.mark_failed(session=session, inbox_id=inbox_id, now=utcnow())

    def _progress(self, inbox_id: int) -> tuple[bool, int]:
        with connection_transaction(self.app.engine) as session:
            return repo.inbox_progress(session=session, inbox_id=inbox_id)

    def _mark_sent(self, inbox_id: int) -> None:
        self._mark_many([inbox_id])

    def _mark_many(self, inbox_ids: list[int]) -> None:
        with one_statement(self.app.engine) as session:
            repo.mark_sent(session=session, inbox_ids=inbox_ids, now=utcnow())

    def _unfinished(self) -> list[tuple[int, str, list[Reply] | None, datetime, int, datetime | None]]:
        with transaction(self.app.engine) as session:
            rows = repo.unfinished_inbox(session=session, channel=self.name)
            return [
                (r.id, r.payload, replies_from_json(self.cipher.decrypt(r.replies) or "[]") if r.replies else None,
                 r.received_at, r.sent_count or 0, r.failed_at)
                for r in rows
            ]
