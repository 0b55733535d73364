"""Zalo Bot Platform (the Telegram-like bot API of Zalo), with an aiohttp client.

Webhook at /zalo-bot/webhook with the secret in X-Bot-Api-Secret-Token, or polling with
getUpdates. Bodies come with or without a `result` wrapper. Zalo Bot has no buttons: replies show
them as numbered lines, and the core already understands a typed number or label.
Platform facts (unverified against a live account, so kept configurable): ../shared/domain/platforms.md.
"""

from __future__ import annotations

import asyncio
import logging

import aiohttp
from aiohttp import web

from bot.channels.inbox import InboxChannel, PermanentSendError, TemporarySendError
from bot.channels.text import split_text
from bot.channels.wire import BadRequest, a_text, an_id, an_object, load_object, refusals, refuse
from bot.types import Incoming, Kind, Reply

log = logging.getLogger(__name__)
CHANNEL = "zalo_bot"
WEBHOOK_PATH = "/zalo-bot/webhook"
SECRET_HEADER = "X-Bot-Api-Secret-Token"
MAX_TEXT = 1900  # Zalo allows 2,000 characters
KINDS = (("sticker", Kind.STICKER), ("image", Kind.PHOTO), ("photo", Kind.PHOTO), ("audio", Kind.VOICE), ("voice", Kind.VOICE),
         ("file", Kind.FILE))


class ZaloBotError(Exception):
    def __init__(self, code: object, description: str) -> None:
        super().__init__(f"Zalo Bot API error {code}")
        self.code = code
        self.description = description


def unwrap(body: object) -> dict:
    """The event, whether or not it came wrapped in {"ok": true, "result": …}."""
    if isinstance(body, dict) and isinstance(body.get("result"), dict):
        return body["result"]
    return body if isinstance(body, dict) else {}


def to_incoming(event: dict) -> Incoming | None:
    """None for events the bot does not handle; a BadRequest (a ValueError) for a field of the
    wrong type (the webhook answers 400)."""
    name = a_text(event.get("event_name"), "event_name") or ""
    message = an_object(event.get("message"), "message")
    sender = an_object(message.get("from"), "from")
    chat = an_object(message.get("chat"), "chat")
    chat_id = _id(chat.get("id"), "chat id") or _id(sender.get("id"), "sender id")
    message_id = _id(message.get("message_id"), "message_id") or _id(event.get("update_id"), "update_id")
    if not chat_id or not message_id or not name.startswith("message."):
        return None
    # Message ids may be unique only within a chat: the chat is part of the key.
    update_id = f"{chat_id}:{message_id}"[:64]
    user_id = _id(sender.get("id"), "sender id") or chat_id
    text = message.get("text")
    if "text" in name and isinstance(text, str):
        if text.strip().split(maxsplit=1)[:1] == ["/start"]:
            return Incoming(CHANNEL, chat_id, update_id, user_id, Kind.OPEN)
        return Incoming(CHANNEL, chat_id, update_id, user_id, Kind.TEXT, text=text)
    if "text" in name and text is not None:
        raise BadRequest("text of the wrong type")
    kind = next((k for word, k in KINDS if word in name), Kind.OTHER)
    return Incoming(CHANNEL, chat_id, update_id, user_id, kind)


def _id(value: object, what: str) -> str:
    """An id that may be absent or empty ("")."""
    return "" if value is None or value == "" else an_id(value, what)


PRIVATE_CHAT_TYPES = {"PRIVATE"}  # unverified against a live group (see platforms.md); others get the notice


def group_chat(event: dict) -> str | None:
    """The chat id of an event from a group (a chat_type other than PRIVATE); None otherwise."""
    message = event.get("message")
    chat = message.get("chat") if isinstance(message, dict) else None
    if not isinstance(chat, dict):
        return None
    kind = chat.get("chat_type")
    if kind is None or str(kind).upper() in PRIVATE_CHAT_TYPES:
        return None
    return str(chat.get("id", "")) or None


def render(reply: Reply) -> str:
    """Text, then the buttons as numbered lines ("1. Hỏi đáp chính sách")."""
    lines = [reply.text, *(f"{i}. {b.label}" for i, b in enumerate(reply.buttons, start=1))]
    return "\n".join(lines)


class ZaloBotChannel(InboxChannel):
    name = CHANNEL
    temporary_errors = (*InboxChannel.temporary_errors, aiohttp.ClientError)

    def __init__(self, settings, app) -> None:
        super().__init__(app)
        self.settings = settings
        self.token = settings.zalo_bot_token.get_secret_value()
        self.secret = settings.zalo_bot_webhook_secret.get_secret_value() if settings.zalo_bot_webhook_secret else ""
        self.base = settings.zalo_bot_api_base_url.rstrip("/")

    @property
    def webhook_mode(self) -> bool:
        return bool(self.secret and self.settings.public_base_url)

    def add_routes(self, router: web.UrlDispatcher) -> None:
        router.add_post(WEBHOOK_PATH, self.webhook)

    async def call(self, method: str, payload: dict | None = None) -> object:
        assert self.session is not None  # opened by start()
        async with self.session.post(f"{self.base}/bot{self.token}/{method}", json=payload or {}) as response:
            body = await response.json(content_type=None)
        if not isinstance(body, dict) or not body.get("ok"):
            body = body if isinstance(body, dict) else {}
            raise ZaloBotError(body.get("error_code", response.status), str(body.get("description", "")))
        return body.get("result")

    async def start(self) -> None:
        self.session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=40))
        if self.webhook_mode:
            url = self.settings.public_base_url.rstrip("/") + WEBHOOK_PATH
            await self.call("setWebhook", {"url": url, "secret_token": self.secret})
        else:
            await self.call("deleteWebhook")
            self.start_polling(self._poll())
        await self.resume()
        self.healthy = True

    async def webhook(self, request: web.Request) -> web.Response:
        refused = self.refusal(request.headers, SECRET_HEADER, self.secret)
        if refused:
            return web.Response(status=refused)
        try:
            event = unwrap(load_object(await request.read()))
            msg = to_incoming(event)
        except BadRequest as exc:
            return refuse(CHANNEL, 400, exc.reason)
        if msg is not None:
            await self.accept(msg.update_id, event)
        return web.json_response({"ok": True})

    async def _poll(self) -> None:
        while True:
            try:
                try:
                    result = await self.call("getUpdates", {"timeout": 30})
                except ZaloBotError as exc:
                    if str(exc.code) != "408":  # 408: the long poll ended with no update
                        raise
                    continue
                events = result if isinstance(result, list) else [result] if isinstance(result, dict) else []
                for event in events:
                    try:
                        msg = to_incoming(unwrap(event))
                    except BadRequest as exc:
                        refusals.warn(CHANNEL, 400, exc.reason)
                        continue
                    if msg is not None:
                        await self.accept(msg.update_id, unwrap(event))
            except Exception as exc:  # noqa: BLE001 - polling must outlive any single failure
                log.warning("zalo bot polling failed: %s", type(exc).__name__)
                await asyncio.sleep(3)

    def parse(self, data: dict) -> Incoming | None:
        return to_incoming(data)

    def group_of(self, data: dict) -> str | None:
        return group_chat(data)

    async def typing(self, msg: Incoming) -> None:
        await self.call("sendChatAction", {"chat_id": msg.chat_id, "action": "typing"})

    async def messages(self, replies: list[Reply]) -> list[str]:
        out: list[str] = []
        for reply in replies:
            reply = Reply(await self.with_download_link(reply), reply.buttons)
            out.extend(split_text(render(reply), MAX_TEXT))
        return out

    async def send_message(self, chat_id: str, message: str) -> None:
        try:
            await self.call("sendMessage", {"chat_id": chat_id, "text": message})
        except ZaloBotError as exc:
            if exc.code in (403, "403"):
                raise PermanentSendError("blocked the bot") from exc
            if str(exc.code) == "429" or str(exc.code).startswith("5"):
                raise TemporarySendError(f"Zalo Bot error {exc.code}") from exc
            raise
