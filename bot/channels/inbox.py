"""What every webhook/polling channel shares: record an update durably before acknowledging it,
process it once in order per chat, send, mark sent; on start, finish what a crash left.

A channel subclass says how to read its updates (`parse`) and how to send (`send`).
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import time
from collections import OrderedDict
from datetime import timedelta

from bot.channels.wire import header_bytes, refusals
from bot.dispatch import KeyedLocks, TemporaryFailure
from bot.i18n import texts
from bot.notifications import deliver
from bot.types import Incoming, Reply, replies_from_json
from storage import repo
from storage.db import connection_transaction, run_db, transaction
from storage.models import utcnow

log = logging.getLogger(__name__)
GIVE_UP_AFTER = timedelta(hours=24)  # replies still unsent after this are dropped, not retried forever
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


class InboxChannel:
    name = "channel"

    def __init__(self, app) -> None:
        self.app = app
        self.cipher = app.dispatcher.cipher
        self.locks = KeyedLocks()
        self.tasks: set[asyncio.Task] = set()
        self.in_flight: set[int] = set()  # inbox rows being handled now (resume skips them)
        self.healthy = False
        self.session = None  # an aiohttp.ClientSession, for channels that call their API with aiohttp
        self._polling: asyncio.Task | None = None
        self._delivering = asyncio.Lock()
        self.send_interval = 0.0  # seconds between messages a broadcast keeps (the channel's rate limit)
        # Rows answered in the same moment are marked sent in one transaction (group commit).
        self._to_mark: list[int] = []
        self._marked: asyncio.Future | None = None
        self.group_notices = GroupNotices()

    # -- what a channel provides ----------------------------------------------------------------

    def parse(self, data: dict) -> Incoming | None:
        raise NotImplementedError

    async def send(self, chat_id: str, replies: list[Reply]) -> None:
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

    async def accept(self, update_id: str, data: dict) -> None:
        """Records the update (encrypted); a new one is processed in the background. An update from
        a group is not recorded: the group gets the private-chats-only notice (see group_notice)."""
        group = self.group_of(data)
        if group is not None:
            self.group_notice(group, data)
            return
        inbox_id = await run_db(self.app.engine, self._record, update_id, data)
        if inbox_id is not None:  # None: the same update again, already recorded
            self._spawn(inbox_id, data, None)

    async def resume(self) -> None:
        """Finishes updates recorded before a crash: processes or re-sends them, oldest first."""
        rows = [r for r in await asyncio.to_thread(self._unfinished) if r[0] not in self.in_flight]
        now = utcnow()
        for row_id, payload, replies, received_at in rows:
            if now - received_at > GIVE_UP_AFTER:
                log.warning("%s update (inbox %s) could not be answered within %s; given up", self.name, row_id, GIVE_UP_AFTER)
                await asyncio.to_thread(self._mark_sent, row_id)
                continue
            self._spawn(row_id, json.loads(self.cipher.decrypt(payload) or "{}"), replies)
        if rows:
            log.info("resuming %d unfinished %s updates", len(rows), self.name)

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
        """Stops taking updates; work in flight finishes first."""
        self.healthy = False
        if self._polling is not None:
            self._polling.cancel()
            await asyncio.gather(self._polling, return_exceptions=True)
        await asyncio.gather(*list(self.tasks), return_exceptions=True)

    async def stop(self) -> None:
        """Stops taking updates, lets work in flight finish, closes the HTTP client."""
        await self.stop_receiving()
        if self.session is not None:
            await self.session.close()

    def _spawn(self, inbox_id: int, data: dict, replies: list[Reply] | None) -> None:
        if inbox_id in self.in_flight:
            return  # already being handled (an accept and a resume sweep can meet)
        self.in_flight.add(inbox_id)
        task = asyncio.create_task(self._finish(inbox_id, data, replies))
        self.tasks.add(task)
        task.add_done_callback(lambda t: (self.tasks.discard(t), self.in_flight.discard(inbox_id)))

    async def _finish(self, inbox_id: int, data: dict, stored: list[Reply] | None) -> None:
        try:
            msg = self.parse(data) if data else None
        except (TypeError, ValueError, KeyError, AttributeError):
            msg = None
        if msg is None:
            await self._mark_sent_soon(inbox_id)
            return
        async with self.locks.hold(msg.conversation_key):  # one chat's updates in arrival order
            try:
                if stored is None:
                    try:
                        await self.before_dispatch(msg, data)
                    except Exception as exc:  # noqa: BLE001 - "typing…" is a courtesy, never a blocker
                        log.info("%s courtesy call failed: %s", self.name, type(exc).__name__)
                    typing = asyncio.get_running_loop().call_later(TYPING_AFTER, self._start_typing, msg)
                    try:
                        stored = await self.app.dispatcher.dispatch(msg, inbox_id=inbox_id)
                    finally:
                        typing.cancel()
                await self.send(msg.chat_id, stored)
            except TemporaryFailure as exc:
                # Nothing was saved: say "thử lại sau" now; the sweep handles the update again later.
                try:
                    await self.send(msg.chat_id, exc.replies)
                except Exception:  # noqa: BLE001
                    pass
                return
            except PermanentSendError as exc:
                log.info("%s recipient unreachable (inbox %s): %s", self.name, inbox_id, exc)
            except Exception as exc:  # noqa: BLE001 - left unsent, finished at the next start
                log.warning("%s send failed (inbox %s): %s", self.name, inbox_id, type(exc).__name__)
                return
            await self._mark_sent_soon(inbox_id)

    async def _mark_sent_soon(self, inbox_id: int) -> None:
        """Marks the row sent together with the others answered in the same moment."""
        self._to_mark.append(inbox_id)
        if self._marked is None:
            self._marked = asyncio.get_running_loop().create_future()
            asyncio.get_running_loop().call_soon(lambda: asyncio.ensure_future(self._flush_marks()))
        await asyncio.shield(self._marked)

    async def _flush_marks(self) -> None:
        ids, done = self._to_mark, self._marked
        self._to_mark, self._marked = [], None
        try:
            await run_db(self.app.engine, self._mark_many, ids)
        except Exception as exc:  # noqa: BLE001 - left unmarked: re-sent at the next start
            done.set_exception(exc)
        else:
            done.set_result(None)

    # -- storage (worker thread) ------------------------------------------------------------------

    def _record(self, update_id: str, data: dict) -> int | None:
        sealed = self.cipher.encrypt(json.dumps(data, ensure_ascii=False))
        with connection_transaction(self.app.engine) as session:
            inbox_id = repo.record_inbox(session=session, channel=self.name, update_id=self.cipher.update_key(self.name, update_id),
                                         payload=sealed, now=utcnow())
            if inbox_id is not None:
                self.recorded(session, data)
            return inbox_id

    def _mark_sent(self, inbox_id: int) -> None:
        self._mark_many([inbox_id])

    def _mark_many(self, inbox_ids: list[int]) -> None:
        with connection_transaction(self.app.engine) as session:
            repo.mark_sent(session=session, inbox_ids=inbox_ids, now=utcnow())

    def _unfinished(self) -> list[tuple[int, str, list[Reply] | None, object]]:
        with transaction(self.app.engine) as session:
            rows = repo.unfinished_inbox(session=session, channel=self.name)
            return [
                (r.id, r.payload, replies_from_json(self.cipher.decrypt(r.replies) or "[]") if r.replies else None, r.received_at)
                for r in rows
            ]
