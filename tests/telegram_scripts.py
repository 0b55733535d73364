"""Synthetic Telegram traffic shared by the fault tests and the webhook benchmark: a whole
registration as updates, update bodies in the Bot API's JSON, and waiting for a server to be up."""

from __future__ import annotations

import asyncio
import socket
import time

# A whole registration: presses carry payloads, typed answers are texts ({n} makes phones distinct).
REGISTRATION = [
    ("press", "reg:start"), ("press", "reg:who:self"), ("press", "reg:consent:yes"), ("text", "Nguyễn Văn Thử"),
    ("text", "1990"), ("text", "0900 000 {n:03d}"), ("text", "nghe an"), ("press", "reg:prov:40"), ("text", "quy hop"),
    ("press", "reg:comm:17035"), ("press", "reg:skip"), ("press", "reg:prog:qd08_2026"), ("text", "2023"),
    ("press", "reg:purp:business"), ("press", "reg:skip"), ("text", "50tr"), ("press", "reg:skip"), ("press", "reg:confirm"),
]


def update(update_id: int, chat: int, kind: str, value: str) -> dict:
    """A message or a button press (callback query) as Telegram posts it to a webhook."""
    user = {"id": chat, "is_bot": False, "first_name": "B"}
    if kind == "press":
        return {"update_id": update_id, "callback_query": {
            "id": f"q{update_id}", "chat_instance": "1", "data": value, "from": user,
            "message": {"message_id": 1, "date": 1700000000, "text": "x", "chat": {"id": chat, "type": "private"}}}}
    return {"update_id": update_id, "message": {"message_id": update_id, "date": 1700000000, "text": value,
                                                  "chat": {"id": chat, "type": "private"}, "from": user}}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def wait_healthy(port: int, process=None, timeout: float = 60) -> None:
    """Until GET /healthz answers 200 (the bot's webhooks answer 503 before that)."""
    import aiohttp

    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            if process is not None and process.poll() is not None:
                raise RuntimeError(f"the process stopped: {process.stderr.read()[-2000:] if process.stderr else ''}")
            try:
                async with session.get(f"http://127.0.0.1:{port}/healthz") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError("not healthy in time")
