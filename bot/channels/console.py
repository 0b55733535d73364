"""The local console: the same conversation as Telegram and Zalo, buttons shown as numbered lines."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable
from typing import TextIO

from bot.dispatch import Dispatcher
from bot.i18n import Texts
from bot.notifications import deliver
from bot.types import Button, Incoming, Kind, Reply

CHANNEL = "console"
PRESS = "#"


def render(replies: Iterable[Reply], texts: Texts) -> str:
    """Replies as the console shows them: the text, then one numbered line per button."""
    lines: list[str] = []
    for reply in replies:
        lines.append(f"{texts.t('console.bot')}: {reply.text}")
        if reply.document is not None:
            lines.append(f"  {texts.t('console.document', filename=reply.document.filename, size=len(reply.document.content))}")
        lines.extend(f"  [{i}] {button.label}" for i, button in enumerate(reply.buttons, start=1))
    return "\n".join(lines)


class ConsoleChannel:
    """One person at the terminal. Button presses go as payloads, exactly like a Telegram callback."""

    def __init__(self, dispatcher: Dispatcher, texts: Texts, out: TextIO, chat_id: str = "local") -> None:
        self.dispatcher = dispatcher
        self.texts = texts
        self.out = out
        self.chat_id = chat_id
        self.buttons: list[Button] = []
        self._run = time.time_ns()
        self._count = 0

    def _incoming(self, **fields) -> Incoming:
        self._count += 1
        return Incoming(channel=CHANNEL, chat_id=self.chat_id, user_id=self.chat_id, update_id=f"{self._run}-{self._count}", **fields)

    async def _send(self, msg: Incoming) -> None:
        replies = await self.dispatcher.dispatch(msg)
        await self._show(replies)
        # Messages for this person from others (an officer's decision or answer) show up here too.
        await deliver(self.dispatcher.engine, self.dispatcher.cipher, CHANNEL, self._print_notification, chat_id=self.chat_id)

    async def _show(self, replies: list[Reply]) -> None:
        shown = [r for r in replies if r.buttons]
        if shown:
            self.buttons = list(shown[-1].buttons)
        if replies:
            print(render(replies, self.texts), file=self.out, flush=True)

    async def _print_notification(self, chat_id: str, replies: list[Reply]) -> None:
        print(self.texts.t("console.notification"), file=self.out, flush=True)
        await self._show(replies)

    async def open(self) -> None:
        """Starts (or resumes) the conversation."""
        await self._send(self._incoming(kind=Kind.OPEN))

    async def say(self, line: str) -> None:
        """One line typed by the person; '#N' presses button N of the last message."""
        you = self.texts.t("console.you")
        stripped = line.strip()
        if stripped.startswith(PRESS) and stripped[1:].isdecimal():
            index = int(stripped[1:]) - 1
            if 0 <= index < len(self.buttons):
                button = self.buttons[index]
                print(f"{you}: [{index + 1}] {button.label}", file=self.out, flush=True)
                await self._send(self._incoming(kind=Kind.BUTTON, payload=button.payload))
                return
        print(f"{you}: {line}", file=self.out, flush=True)
        await self._send(self._incoming(kind=Kind.TEXT, text=line))

    async def script(self, lines: Iterable[str]) -> None:
        await self.open()
        for line in lines:
            await self.say(line.rstrip("\n"))

    async def interactive(self, read: Callable[[str], str] = input) -> None:
        print(self.texts.t("console.intro"), file=self.out, flush=True)
        await self.open()
        prompt = f"{self.texts.t('console.you')}> "
        while True:
            try:
                line = await asyncio.to_thread(read, prompt)
            except (EOFError, KeyboardInterrupt):
                print(file=self.out)
                return
            await self._send(self._incoming(kind=Kind.TEXT, text=line))
