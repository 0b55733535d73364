"""A stand-in Telegram Bot API on 127.0.0.1, speaking its wire format, recording every call.

python-telegram-bot posts form fields whose values are JSON-encoded (strings as they are); the
API answers {"ok": true, "result": ...} or {"ok": false, "error_code", "description", "parameters"}.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from dataclasses import dataclass, field

from aiohttp import web


@dataclass
class Call:
    method: str
    params: dict
    at: float = field(default_factory=time.monotonic)  # when the request arrived
    done_at: float | None = None  # when it was answered (delivered to the chat)


class FakeTelegramAPI:
    def __init__(self, token: str = "123456:TEST-token") -> None:
        self.token = token
        self.calls: list[Call] = []
        self.rate_limit_next: dict[str, int] = {}  # method -> retry_after seconds, once
        self.block_chats: set[str] = set()
        self.missing_chats: set[str] = set()  # sendMessage to these gets 400 "chat not found"
        self.queued_updates: list[dict] = []  # handed out by getUpdates (polling mode)
        self.delays: dict[str, float] = {}  # method -> seconds to stall before answering
        self.delay_once: dict[str, float] = {}  # method -> seconds to stall the next call only
        self._runner: web.AppRunner | None = None
        self.port = 0
        self._message_id = 0
        # Telegram's overall limit: more than this many messages in any second get a 429.
        self.max_per_second: float | None = None
        self.too_many = 0  # 429s given for the limit
        self._accepted: list[float] = []
        self.flooding_chats: dict[str, int] = {}  # chat id -> retry_after: every message to it gets a 429
        self.outage = False  # "Telegram is down": every send gets a 502 and is not delivered
        self.refused: list[Call] = []  # sends answered 429 or 502 (not delivered)
        # Signals, not polling: every recorded call wakes those waiting (in the loop or in a thread).
        self._waiters: set[asyncio.Future] = set()
        self._arrived = threading.Condition()
        # A stall: once `stall_after` messages are delivered, the next send is held, not delivered,
        # and `stalled` is set; `release_stalled()` answers it 502 (not delivered). A test kills
        # the sender while it waits there: every message before it was confirmed, this one not sent.
        self.stall_after: int | None = None
        self.stalled = threading.Event()
        self._release: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/bot"

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/bot{token}/{method}", self._handle)

    def release_stalled(self) -> None:
        """Stops stalling; the held send (if any) is answered 502 and not delivered."""
        self.stall_after = None
        if self._loop is not None and self._release is not None:
            self._loop.call_soon_threadsafe(self._release.set)

    async def start(self):
        self._loop = asyncio.get_running_loop()
        self._release = asyncio.Event()
        app = web.Application()
        self.routes(app)
        self._runner = web.AppRunner(app, access_log=None)  # the stand-in's own access log would show the token in URLs
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def sent(self, method: str = "sendMessage") -> list[dict]:
        return [c.params for c in self.calls if c.method == method]

    def delivered(self, chat_id: object, method: str = "sendMessage") -> list[Call]:
        """One chat's messages in the order they were answered (as the person sees them)."""
        calls = [c for c in self.calls if c.method == method and str(c.params.get("chat_id")) == str(chat_id) and c.done_at]
        return sorted(calls, key=lambda c: c.done_at)

    async def wait_for(self, method: str, count: int = 1, timeout: float = 10.0) -> list[dict]:
        """Waits (bounded) until `count` calls of `method` arrived."""
        if not await self.wait_until(lambda: len(self.sent(method)) >= count, timeout):
            raise AssertionError(f"only {len(self.sent(method))} {method} calls after {timeout}s: {self.calls}")
        return self.sent(method)

    async def wait_until(self, predicate, timeout: float = 10.0) -> bool:
        """Waits until `predicate()` holds, woken by each call the stand-in records (same loop)."""
        deadline = time.monotonic() + timeout
        while not predicate():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            waiter = asyncio.get_running_loop().create_future()
            self._waiters.add(waiter)
            try:
                await asyncio.wait_for(waiter, remaining)
            except TimeoutError:
                pass
            finally:
                self._waiters.discard(waiter)
        return True

    def wait_until_sync(self, predicate, timeout: float = 10.0) -> bool:
        """The same from another thread (the stand-in running on its own loop)."""
        with self._arrived:
            return self._arrived.wait_for(predicate, timeout)

    def _record(self, call: Call) -> None:
        self.calls.append(call)
        self._wake()

    def _wake(self) -> None:
        for waiter in list(self._waiters):
            if not waiter.done():
                waiter.set_result(None)
        with self._arrived:
            self._arrived.notify_all()

    async def _handle(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.json_response({"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401)
        method = request.match_info["method"]
        params = await self._params(request)
        sending = method in ("sendMessage", "sendDocument")
        if sending and self.stall_after is not None and len(self.sent(method)) >= self.stall_after:
            self.stalled.set()
            self._wake()
            await self._release.wait()
            return web.json_response({"ok": False, "error_code": 502, "description": "Bad Gateway"}, status=502)
        if sending and self.outage:
            self.refused.append(Call(method, params))
            self._wake()
            return web.json_response({"ok": False, "error_code": 502, "description": "Bad Gateway"}, status=502)
        flood = self.flooding_chats.get(str(params.get("chat_id"))) if sending else None
        if flood is not None:
            self.refused.append(Call(method, params))
            self._wake()
            return web.json_response(
                {"ok": False, "error_code": 429, "description": f"Too Many Requests: retry after {flood}",
                 "parameters": {"retry_after": flood}}, status=429)
        if method in self.delays or method in self.delay_once:
            call = Call(method, params)
            self.calls.append(call)  # seen, but answered late
            self._wake()
            await asyncio.sleep(self.delays.get(method, 0) + self.delay_once.pop(method, 0))
            call.done_at = time.monotonic()
            self._wake()
        else:
            call = Call(method, params)
            call.done_at = call.at
            self._record(call)
        if self.max_per_second and method in ("sendMessage", "sendDocument"):
            now = time.monotonic()
            self._accepted = [t for t in self._accepted if now - t < 1.0]
            if len(self._accepted) >= self.max_per_second:
                self.refused.append(self.calls.pop())  # refused: not delivered
                self.too_many += 1
                return web.json_response(
                    {"ok": False, "error_code": 429, "description": "Too Many Requests: retry after 1",
                     "parameters": {"retry_after": 1}},
                    status=429,
                )
            self._accepted.append(now)
        retry = self.rate_limit_next.pop(method, None)
        if retry is not None:
            return web.json_response(
                {"ok": False, "error_code": 429, "description": f"Too Many Requests: retry after {retry}",
                 "parameters": {"retry_after": retry}},
                status=429,
            )
        if method == "sendMessage" and str(params.get("chat_id")) in self.block_chats:
            return web.json_response({"ok": False, "error_code": 403, "description": "Forbidden: bot was blocked by the user"}, status=403)
        if method == "sendMessage" and str(params.get("chat_id")) in self.missing_chats:
            return web.json_response({"ok": False, "error_code": 400, "description": "Bad Request: chat not found"}, status=400)
        return web.json_response({"ok": True, "result": self._result(method, params)})

    @staticmethod
    async def _params(request: web.Request) -> dict:
        if request.content_type == "application/json":
            return await request.json()
        form = await request.post()
        params = {}
        for key, value in form.items():
            try:
                params[key] = json.loads(value)
            except (TypeError, ValueError):
                params[key] = value
        return params

    def _result(self, method: str, params: dict):
        if method == "getMe":
            return {"id": 123456, "is_bot": True, "first_name": "Trợ lý", "username": "vaylaivon_test_bot"}
        if method in ("sendMessage", "sendDocument"):
            self._message_id += 1
            return {"message_id": self._message_id, "date": int(time.time()),
                    "chat": {"id": int(params["chat_id"]), "type": "private"}, "text": str(params.get("text", ""))}
        if method == "getUpdates":
            offset = int(params.get("offset") or 0)
            ready = [u for u in self.queued_updates if u["update_id"] >= offset]
            self.queued_updates = ready
            return ready
        return True


class ThreadedFakeTelegramAPI(FakeTelegramAPI):
    """The same stand-in on its own event loop in a thread: for a bot running as another process."""

    def __enter__(self):
        import threading

        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self.start(), self.loop).result(10)
        return self

    def __exit__(self, *exc) -> None:
        asyncio.run_coroutine_threadsafe(self.stop(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
