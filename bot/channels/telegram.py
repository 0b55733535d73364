"""Telegram, through python-telegram-bot: webhook or polling, inline keyboards, rate limited.

Updates go through the shared inbox (bot/channels/inbox.py): recorded before they are
acknowledged, processed once, in order per chat, and finished after a crash.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from aiohttp import web
from telegram import BotCommand, InputFile
from telegram.constants import ChatAction
from telegram.error import BadRequest as TelegramBadRequest, Forbidden, NetworkError, RetryAfter
from telegram.ext import AIORateLimiter, Application, ApplicationBuilder

from bot.channels.inbox import InboxChannel, PermanentSendError
from bot.channels.telegram_http import AiohttpRequest
from bot.channels.text import split_text
from bot.channels.wire import MAX_ID, BadRequest, a_text, an_id, an_object, load_object, refuse
from bot.i18n import texts
from bot.types import Incoming, Kind, Reply

log = logging.getLogger(__name__)
CHANNEL = "telegram"
WEBHOOK_PATH = "/telegram/webhook"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MAX_TEXT = 4000  # Telegram's limit is 4,096 characters
MAX_CALLBACK_BYTES = 64
ALLOWED_UPDATES = ["message", "callback_query"]
COMMANDS = (
    ("start", "telegram.command_start"), ("menu", "telegram.command_menu"), ("help", "telegram.command_help"),
    ("hoso", "telegram.command_hoso"), ("canbo", "telegram.command_canbo"), ("lichnhac", "telegram.command_lichnhac"),
)


def to_incoming(data: dict) -> Incoming | None:
    """The channel-agnostic form of a Telegram update (its JSON, as the Bot API sends it); None for
    updates the bot does not handle. Read straight from the JSON: building python-telegram-bot's
    objects for every incoming update cost more than answering it. A field of the wrong type is a
    BadRequest (a ValueError): the webhook answers 400."""
    update_id = an_id(data.get("update_id"), "update_id")
    query = an_object(data.get("callback_query"), "callback_query")
    if query:
        chat = an_object(an_object(query.get("message"), "callback message").get("chat"), "chat")
        user_id = an_id(an_object(query.get("from"), "from").get("id"), "user id")
        chat_id = an_id(chat["id"], "chat id") if "id" in chat else user_id
        payload = a_text(query.get("data"), "callback data") or ""
        return Incoming(CHANNEL, chat_id, update_id, user_id, Kind.BUTTON, payload=payload)
    message = an_object(data.get("message"), "message")
    if not message:
        return None
    chat_id = an_id(an_object(message.get("chat"), "chat").get("id"), "chat id")
    sender = an_object(message.get("from"), "from")
    user_id = an_id(sender["id"], "user id") if "id" in sender else chat_id
    text = a_text(message.get("text"), "text")
    if text is not None:
        words = text.split(maxsplit=1)
        if words and words[0].split("@")[0] == "/start":
            # "/start" opens the chat; "/start <payload>" is a deep link (officer invites).
            return Incoming(CHANNEL, chat_id, update_id, user_id, Kind.OPEN, payload=words[1] if len(words) > 1 else None)
        return Incoming(CHANNEL, chat_id, update_id, user_id, Kind.TEXT, text=text)
    if "sticker" in message:
        kind = Kind.STICKER
    elif message.get("photo"):
        kind = Kind.PHOTO
    elif any(key in message for key in ("voice", "audio", "video_note")):
        kind = Kind.VOICE
    elif "document" in message:
        kind = Kind.FILE
    else:
        kind = Kind.OTHER
    return Incoming(CHANNEL, chat_id, update_id, user_id, kind)


def group_chat(data: dict) -> str | None:
    """The chat id of an update from a group, supergroup or channel (None for a private chat):
    any chat whose type is not "private", or whose id is negative (Telegram's groups and channels)."""
    query = data.get("callback_query")
    holders = [query.get("message")] if isinstance(query, dict) else []
    holders += [data.get(key) for key in ("message", "edited_message", "channel_post", "edited_channel_post")]
    for holder in holders:
        chat = holder.get("chat") if isinstance(holder, dict) else None
        if not isinstance(chat, dict):
            continue
        chat_id = str(chat.get("id", ""))
        if chat.get("type", "private") != "private" or chat_id.startswith("-"):
            return chat_id
    return None


def keyboard(reply: Reply) -> dict | None:
    """An inline keyboard as the Bot API reads it (what InlineKeyboardMarkup.to_dict() gives): one
    button per row (long Vietnamese labels); callback data survive restarts (they are payloads)."""
    rows = []
    for button in reply.buttons:
        if len(button.payload.encode("utf-8")) > MAX_CALLBACK_BYTES:
            log.warning("button payload longer than Telegram allows; button left out")
            continue
        rows.append([{"text": button.label, "callback_data": button.payload}])
    return {"inline_keyboard": rows} if rows else None


class TelegramChannel(InboxChannel):
    name = CHANNEL
    temporary_errors = (*InboxChannel.temporary_errors, NetworkError, RetryAfter)

    def __init__(self, settings, app) -> None:
        super().__init__(app)
        self.settings = settings
        self.secret = settings.telegram_webhook_secret.get_secret_value() if settings.telegram_webhook_secret else ""
        builder = (
            ApplicationBuilder()
            .token(settings.telegram_bot_token.get_secret_value())
            .base_url(settings.telegram_api_base_url)
            .updater(None)
            .request(AiohttpRequest(pool_size=16))
            .get_updates_request(AiohttpRequest(pool_size=1, read_timeout=35))
        )
        rate = settings.telegram_max_messages_per_second
        self.application: Application  # its bot typed with the rate limiter's arguments, or without one
        if rate > 0:
            self.application = builder.rate_limiter(PerChatRateLimiter(overall_max_rate=rate, overall_time_period=1)).build()
        else:
            self.application = builder.build()
        self.bot = self.application.bot
        # Broadcasts keep just under Telegram's overall limit, evenly spaced.
        self.send_interval = 1 / (rate * 0.98) if rate > 0 else 0.0

    def add_routes(self, router: web.UrlDispatcher) -> None:
        router.add_post(WEBHOOK_PATH, self.webhook)

    async def start(self) -> None:
        """Registers the commands and the webhook (or starts polling), then finishes unanswered updates."""
        await self.application.initialize()
        lang = texts(self.settings.bot_locale)
        await self.bot.set_my_commands([BotCommand(name, lang.t(key)) for name, key in COMMANDS])
        if self.settings.telegram_mode == "webhook":
            url = self.settings.public_base_url.rstrip("/") + WEBHOOK_PATH
            await self.bot.set_webhook(url=url, secret_token=self.secret, allowed_updates=ALLOWED_UPDATES)
        else:
            await self.bot.delete_webhook()
            self.start_polling(self._poll())
        await self.resume()
        self.healthy = True

    async def stop(self) -> None:
        await self.stop_receiving()
        await self.application.shutdown()

    async def open_for_sending(self) -> None:
        await self.application.initialize()

    async def webhook(self, request: web.Request) -> web.Response:
        """Checks the secret in constant time, records the update, then acknowledges it."""
        refused = self.refusal(request.headers, SECRET_HEADER, self.secret)
        if refused:
            return web.Response(status=refused)
        try:
            data = load_object(await request.read())
            update_id = data.get("update_id")
            if isinstance(update_id, bool) or not isinstance(update_id, int) or not 0 <= update_id <= MAX_ID:
                raise BadRequest("update_id missing or not an integer")
            to_incoming(data)  # every field the bot reads has its type
        except BadRequest as exc:
            return refuse(CHANNEL, 400, exc.reason)
        query_id = (data.get("callback_query") or {}).get("id")
        if not isinstance(query_id, str) or not query_id or group_chat(data) is not None:
            await self.accept(str(update_id), data)  # a group's notice answers its button itself
            return web.Response(status=200)
        # A pressed button: its spinner is stopped by the answer to this request itself (the Bot
        # API runs a method given in a webhook's reply), not by one more call to the API — that
        # call cost about as much as handling the press. Telegram does not say whether such a
        # method succeeded; the spinner was always only a courtesy. A repeated delivery gets it too.
        await self.accept(str(update_id), data, courtesy_sent=True)
        return web.json_response({"method": "answerCallbackQuery", "callback_query_id": query_id})

    async def _poll(self) -> None:
        offset = None
        while True:
            try:
                updates = await self.bot.get_updates(offset=offset, timeout=25, allowed_updates=ALLOWED_UPDATES)
                for update in updates:
                    await self.accept(str(update.update_id), update.to_dict())
                    offset = update.update_id + 1
            except Exception as exc:  # noqa: BLE001 - polling must outlive any single failure
                log.warning("telegram polling failed: %s", type(exc).__name__)
                await asyncio.sleep(3)

    def parse(self, data: dict) -> Incoming | None:
        return to_incoming(data)

    def group_of(self, data: dict) -> str | None:
        return group_chat(data)

    async def send_group_notice(self, chat_id: str, data: dict, text: str) -> None:
        """The notice, straight to the group (send() refuses groups); a pressed button's spinner stops."""
        query_id = (data.get("callback_query") or {}).get("id")
        if isinstance(query_id, str):
            await self.bot.answer_callback_query(query_id)
        await self.bot.send_message(chat_id=chat_id, text=text)

    async def before_dispatch(self, msg: Incoming, data: dict) -> None:
        """Stops the spinner on a pressed button (polled, or finished after a restart: a button
        pressed through the webhook had it stopped by the webhook's answer)."""
        query_id = (data.get("callback_query") or {}).get("id")
        if query_id:
            await self.bot.answer_callback_query(query_id)

    async def typing(self, msg: Incoming) -> None:
        await self.bot.send_chat_action(msg.chat_id, ChatAction.TYPING)

    async def check_reachable(self, chat_id: str) -> None:
        if chat_id.startswith("-"):
            # A group or channel (negative ids): never a reply, a notice or a reminder, even for a
            # chat bound or registered before groups were refused.
            raise PermanentSendError("a group chat")

    async def messages(self, replies: list[Reply]) -> list[tuple]:
        out: list[tuple] = []
        for reply in replies:
            if reply.document is not None:
                out.append(("document", reply.document, None))
            chunks = split_text(reply.text, MAX_TEXT)
            for i, chunk in enumerate(chunks):
                out.append(("text", chunk, keyboard(reply) if i == len(chunks) - 1 else None))
        return out

    async def send_message(self, chat_id: str, message: tuple) -> None:
        kind, body, markup = message
        try:
            if kind == "document":
                await self.bot.send_document(chat_id=chat_id, document=InputFile(body.content, filename=body.filename))
            else:
                # The request python-telegram-bot's send_message makes (chat_id, text, reply_markup),
                # through its rate limiter, transport and errors, without building its objects
                # around it: the keyboard and the returned Message, which the bot never reads,
                # cost more than the request (0.25 ms of the 0.5 ms a reply took).
                data = {"chat_id": chat_id, "text": body}
                if markup is not None:
                    data["reply_markup"] = markup
                await self.bot._post("sendMessage", data)  # noqa: SLF001 - Bot.send_message's own call
        except Forbidden as exc:
            raise PermanentSendError("blocked the bot") from exc
        except TelegramBadRequest as exc:  # chat not found, message rejected: retrying cannot help
            raise PermanentSendError("rejected by Telegram") from exc

    def retry_after(self, exc: BaseException) -> float | None:
        if isinstance(exc, RetryAfter):
            wait = exc._retry_after  # noqa: SLF001 - the public property warns about its type changing
            return wait.total_seconds() if isinstance(wait, timedelta) else float(wait)
        return None


class PerChatRateLimiter(AIORateLimiter):
    """python-telegram-bot's limiter keeps the overall rate, but on a 429 it pauses EVERY request
    for the Retry-After: one flooding chat then delays everyone. This one raises the RetryAfter to
    the caller instead, and the chat's own send queue waits (bot/channels/inbox.py)."""

    async def process_request(self, callback, args, kwargs, endpoint, data, rate_limit_args):
        chat_id = data.get("chat_id")
        try:
            chat_id = int(chat_id)
        except (TypeError, ValueError):
            pass
        group = chat_id if (isinstance(chat_id, int) and chat_id < 0) or isinstance(chat_id, str) else False
        return await self._run_request(chat=chat_id is not None, group=group,
                                       allow_paid_broadcast=data.get("allow_paid_broadcast", False),
                                       callback=callback, args=args, kwargs=kwargs)
