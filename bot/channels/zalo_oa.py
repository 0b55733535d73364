"""Zalo Official Account, Open API v3, with an aiohttp client.

Webhook at /zalo-oa/webhook: the X-ZEvent-Signature must be "mac=" + sha256(app id + raw body +
timestamp + OA secret key) (plain SHA-256, compared in constant time), the timestamp fresh, and a
message is handled once per msg_id. Replies go through /v3.0/oa/message/cs with buttons of type
oa.query.show, whose payload is the button's label: pressed, it comes back as that text, which
the core resolves like a typed label. Errors arrive with HTTP 200 and `error` != 0:
-216/-220 refresh the token and retry once; -213/-230/-232 mark the person unreachable on Zalo;
-211/-32 back off. Platform facts (unverified against a live OA, so kept configurable):
../shared/domain/platforms.md.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import logging
import re
import time
from datetime import timedelta

import aiohttp
import httpx
from aiohttp import web

from bot.channels.inbox import InboxChannel, PermanentSendError
from bot.channels.text import split_text
from bot.channels.wire import BadRequest, a_text, an_id, an_object, header_bytes, load_object, refuse
from bot.types import Incoming, Kind, Reply
from storage import repo
from storage.db import transaction
from storage.models import utcnow

log = logging.getLogger(__name__)
CHANNEL = "zalo_oa"
WEBHOOK_PATH = "/zalo-oa/webhook"
SIGNATURE_HEADER = "X-ZEvent-Signature"
MAX_TEXT = 1900  # Zalo allows 2,000 characters
MAX_BUTTONS = 5
MESSAGING_WINDOW = timedelta(days=7)
STALE_AFTER_MS = 5 * 60 * 1000
TIMESTAMP = re.compile(rb'"timestamp"\s*:\s*"?([0-9]{1,16})"?')
TOKEN_ERRORS = {-216, -220}
UNREACHABLE_ERRORS = {-213: "not following the OA", -230: "outside the 7-day window", -232: "outside the messaging window"}
BACKOFF_ERRORS = {-211, -32}
REFRESH_COOL_DOWN = 300  # seconds without refresh attempts after one failed
KINDS = {
    "user_send_text": Kind.TEXT, "user_send_sticker": Kind.STICKER, "user_send_image": Kind.PHOTO,
    "user_send_gif": Kind.PHOTO, "user_send_audio": Kind.VOICE, "user_send_video": Kind.FILE,
    "user_send_file": Kind.FILE, "user_send_location": Kind.OTHER, "user_send_link": Kind.OTHER,
    "follow": Kind.OPEN,
}


class ZaloOAError(Exception):
    def __init__(self, code: int, message: str = "") -> None:
        super().__init__(f"Zalo OA error {code}")
        self.code = code
        self.message = message


def signature(app_id: str, body: bytes, timestamp: str, secret: str) -> str:
    return hashlib.sha256(app_id.encode() + body + timestamp.encode() + secret.encode()).hexdigest()


def to_incoming(event: dict) -> Incoming | None:
    """None for events the bot does not handle; a BadRequest (a ValueError) for a field of the
    wrong type (the webhook answers 400)."""
    kind = KINDS.get(a_text(event.get("event_name"), "event_name") or "")
    person = an_object(event.get("sender"), "sender") or an_object(event.get("follower"), "follower")
    sender = an_id(person["id"], "sender id") if person.get("id") not in (None, "") else ""
    if kind is None or not sender:
        return None
    message = an_object(event.get("message"), "message")
    msg_id = message.get("msg_id")
    update_id = an_id(msg_id, "msg_id") if msg_id not in (None, "") else f"{event.get('event_name')}-{sender}-{event.get('timestamp')}"
    text = (a_text(message.get("text"), "text") or "") if kind is Kind.TEXT else ""
    return Incoming(CHANNEL, sender, update_id, sender, kind, text=text)


def signed_timestamps(raw: bytes) -> list[str]:
    """The timestamps the signature may have been made with, read from the raw body without
    parsing it (the signature is checked before any JSON is parsed). The parsed event must then
    carry the same timestamp."""
    return [m.group(1).decode() for m in itertools.islice(TIMESTAMP.finditer(raw), 3)]


def message_body(text: str, buttons) -> dict:
    """A text message; with buttons, an oa.query.show attachment (the label comes back as text)."""
    body: dict = {"text": text}
    if buttons:
        body["attachment"] = {
            "type": "template",
            "payload": {"buttons": [{"title": b.label[:100], "type": "oa.query.show", "payload": b.label} for b in buttons]},
        }
    return body


class ZaloOAChannel(InboxChannel):
    name = CHANNEL
    temporary_errors = (*InboxChannel.temporary_errors, aiohttp.ClientError, httpx.TransportError)
    backoff_seconds: tuple[float, ...] = (1.0, 2.0, 4.0)

    def __init__(self, settings, app) -> None:
        super().__init__(app)
        self.settings = settings
        self.app_id = settings.zalo_oa_app_id
        self.secret_key = settings.zalo_oa_secret_key.get_secret_value()
        self.api = settings.zalo_oa_api_base_url.rstrip("/")
        self.oauth = settings.zalo_oa_oauth_base_url.rstrip("/")
        self._access: str | None = None
        # The stored pair is named after the token the settings seeded it from: re-authorising the
        # OA (new tokens in the settings) starts a new pair instead of being ignored.
        seed = self._setting("zalo_oa_refresh_token") or self._setting("zalo_oa_access_token") or ""
        self.token_name = "zalo_oa:" + hashlib.sha256(seed.encode()).hexdigest()[:16]
        self._refreshing = asyncio.Lock()
        self._refresh_blocked_until = 0.0

    def add_routes(self, router: web.UrlDispatcher) -> None:
        router.add_post(WEBHOOK_PATH, self.webhook)

    async def start(self) -> None:
        self.session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=20))
        self._access = await asyncio.to_thread(self._stored_access)
        await self.resume()
        self.healthy = True

    # -- receiving ---------------------------------------------------------------------------------

    async def webhook(self, request: web.Request) -> web.Response:
        """Verifies the signature and freshness, records the event, and answers at once (Zalo waits ~2 s)."""
        if not self.ready():
            return web.Response(status=503)  # the platform retries; older updates resume first
        raw = await request.read()
        given = header_bytes(request.headers.get(SIGNATURE_HEADER, "")).removeprefix(b"mac=").strip()
        timestamp = next((t for t in signed_timestamps(raw)
                          if hmac.compare_digest(given, signature(self.app_id, raw, t, self.secret_key).encode())), None)
        if timestamp is None:
            return refuse(CHANNEL, 403, "missing or wrong signature")
        try:
            event = load_object(raw)
            if str(event.get("timestamp")) != timestamp or str(event.get("app_id", "")) != self.app_id:
                raise BadRequest("timestamp or app_id not the signed ones")
            msg = to_incoming(event)
        except BadRequest as exc:
            return refuse(CHANNEL, 400, exc.reason)
        if abs(time.time() * 1000 - int(timestamp)) > STALE_AFTER_MS:
            return refuse(CHANNEL, 403, "stale timestamp")
        if msg is not None:
            await self.accept(msg.update_id, event)
        return web.json_response({"error": 0})

    def parse(self, data: dict) -> Incoming | None:
        return to_incoming(data)

    def recorded(self, session, data: dict) -> None:
        """The person wrote (a new event): reachable again; the 7-day window restarts."""
        msg = to_incoming(data)
        if msg is not None:
            repo.contact_wrote(session=session, channel=CHANNEL, chat_id=msg.chat_id, now=utcnow())

    # -- sending -----------------------------------------------------------------------------------

    def _outside_window(self, chat_id: str) -> bool:
        """Zalo OA lets the OA message a person only within 7 days of their last message."""
        with transaction(self.app.engine) as session:
            contact = repo.get_contact(session=session, channel=CHANNEL, chat_id=chat_id)
            last = contact.last_inbound_at if contact else None
        return last is not None and utcnow() - last > MESSAGING_WINDOW

    async def check_reachable(self, chat_id: str) -> None:
        if await asyncio.to_thread(self._outside_window, chat_id):
            # A reminder or notice to someone silent for a week: recorded as undeliverable, not tried.
            raise PermanentSendError("outside the 7-day window")

    async def send_message(self, chat_id: str, message: dict) -> None:
        await self.send_one(chat_id, message)

    async def messages(self, replies: list[Reply]) -> list[dict]:
        out: list[dict] = []
        for reply in replies:
            text = await self.with_download_link(reply)
            extra = reply.buttons[MAX_BUTTONS:]
            # More choices than Zalo shows as buttons: the rest as numbered lines (before splitting).
            text += "".join(f"\n{i}. {b.label}" for i, b in enumerate(extra, start=MAX_BUTTONS + 1))
            chunks = split_text(text, MAX_TEXT)
            for i, chunk in enumerate(chunks):
                buttons = reply.buttons[:MAX_BUTTONS] if i == len(chunks) - 1 else ()
                out.append(message_body(chunk, buttons))
        return out

    async def send_one(self, user_id: str, message: dict) -> None:
        """One message, with a token refresh on expiry (retried once) and back-off on quota limits."""
        refreshed = False
        delays = list(self.backoff_seconds)
        while True:
            token = self._access or await self._refresh(None)
            try:
                await self._post_message(token, user_id, message)
                return
            except ZaloOAError as exc:
                if exc.code in TOKEN_ERRORS and not refreshed:
                    refreshed = True
                    await self._refresh(token)
                    continue
                if exc.code in UNREACHABLE_ERRORS:
                    await asyncio.to_thread(self._contact_unreachable, user_id, UNREACHABLE_ERRORS[exc.code])
                    raise PermanentSendError(UNREACHABLE_ERRORS[exc.code]) from exc
                if exc.code in BACKOFF_ERRORS and delays:
                    await asyncio.sleep(delays.pop(0))
                    continue
                raise

    async def _post_message(self, token: str, user_id: str, message: dict) -> None:
        url = f"{self.api}/v3.0/oa/message/cs"
        payload = {"recipient": {"user_id": user_id}, "message": message}
        assert self.session is not None  # opened by start()
        async with self.session.post(url, json=payload, headers={"access_token": token}) as response:
            body = await response.json(content_type=None)
        code = int(body.get("error", 0)) if isinstance(body, dict) else -1
        if code != 0:
            raise ZaloOAError(code, str(body.get("message", "")) if isinstance(body, dict) else "")

    # -- OAuth v4: the refresh token is single-use -------------------------------------------------

    async def _refresh(self, stale: str | None) -> str:
        """A new access token. One refresher at a time: in this process an asyncio lock, across
        processes a PostgreSQL advisory lock around read-refresh-store. After a failed refresh
        (revoked token), sends fail fast for a while instead of hammering OAuth."""
        async with self._refreshing:
            if self._access is not None and self._access != stale:
                return self._access  # someone refreshed while we waited
            if time.monotonic() < self._refresh_blocked_until:
                raise ZaloOAError(-216, "token refresh failed recently")
            try:
                self._access = await asyncio.to_thread(self._refresh_locked, stale)
            except Exception:
                self._refresh_blocked_until = time.monotonic() + REFRESH_COOL_DOWN
                self.healthy = False
                log.error("zalo oa token refresh failed; sends paused for %ss (re-authorise the OA?)", REFRESH_COOL_DOWN)
                raise
            self.healthy = True
            return self._access

    def _refresh_locked(self, stale: str | None) -> str:
        with transaction(self.app.engine, lock_key=f"oauth:{self.token_name}") as session:
            row = repo.load_token(session=session, name=self.token_name)
            if row is not None:
                current = self.cipher.decrypt(row.access_token)
                if current and current != stale:
                    return current  # another process refreshed first
                refresh_token = self.cipher.decrypt(row.refresh_token)
            else:
                refresh_token = self._setting("zalo_oa_refresh_token")
            if not refresh_token:
                raise ZaloOAError(-216, "no refresh token")
            # A blocking client here: the request runs inside the lock-holding transaction.
            response = httpx.post(
                f"{self.oauth}/v4/oa/access_token",
                headers={"secret_key": self.secret_key},
                data={"refresh_token": refresh_token, "app_id": self.app_id, "grant_type": "refresh_token"},
                timeout=15,
            )
            body = response.json()
            if "access_token" not in body:
                raise ZaloOAError(int(body.get("error", -216)), "refresh failed")
            now = utcnow()
            expires_at = now + timedelta(seconds=int(body.get("expires_in", 0) or 0))
            # Stored (encrypted) before use; committed when this block ends.
            repo.save_token(
                session=session, name=self.token_name, access=self.cipher.encrypt(body["access_token"]),
                refresh=self.cipher.encrypt(body["refresh_token"]), expires_at=expires_at, now=now,
            )
            log.info("zalo oa access token refreshed")
            return body["access_token"]

    def _stored_access(self) -> str | None:
        with transaction(self.app.engine) as session:
            row = repo.load_token(session=session, name=self.token_name)
            if row is not None:
                return self.cipher.decrypt(row.access_token)
        return self._setting("zalo_oa_access_token")

    def _setting(self, name: str) -> str | None:
        value = getattr(self.settings, name)
        return value.get_secret_value() if value is not None else None

    # -- contacts ----------------------------------------------------------------------------------

    def _contact_unreachable(self, user_id: str, reason: str) -> None:
        with transaction(self.app.engine) as session:
            repo.contact_unreachable(session=session, channel=CHANNEL, chat_id=user_id, reason=reason, now=utcnow())
