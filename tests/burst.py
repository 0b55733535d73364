"""The registration burst of the SIGKILL tests (tests/test_faults.py, tests/test_workers.py):
people sending their scripts over the webhook, each update after the previous one's 200, and the
accounting of what each chat received at the stand-in against a clean registration."""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

import aiohttp

from standins.traffic import update

Script = list[tuple[str, str]]


def masked(text: str) -> str:
    """What differs between people (phones, reference codes) masked, so replies can be compared."""
    return re.sub(r"\d", "#", re.sub(r"\b[A-Z0-9]{3}-[A-Z0-9]{3}\b", "CODE", text))


def disorder(got: list[str], expected: list[str]) -> int:
    """How far a chat's messages are from the clean run's order. A repeat is the message the chat's
    queue had in flight at a kill, sent again first thing after the restart: right after its
    original, so it is taken out there (counting "each text's first copies" instead took a repeat
    of a prompt the script shows twice for the second one, and called that out of order)."""
    once = [t for i, t in enumerate(got) if i == 0 or t != got[i - 1]]
    return sum(a != b for a, b in zip(once, expected, strict=False)) + abs(len(once) - len(expected))


async def send_scripts(session: aiohttp.ClientSession, url: str, headers: dict, chats: dict[int, Script],
                       acknowledged: dict[int, int], who: list[int], *, retry: bool,
                       on_acknowledged: Callable[[], None] | None = None) -> None:
    """Each chat of `who` sends its script from where `acknowledged` says it stopped, one update
    after the previous one's 200 (Telegram's way within a chat). An update refused or cut off is
    delivered again a moment later with `retry` (a worker died under it, another answers), or
    left to the next round without (the only process died: Telegram delivers it after the restart)."""

    async def person(chat: int) -> None:
        script = chats[chat]
        while acknowledged.get(chat, 0) < len(script):
            step = acknowledged.get(chat, 0)
            kind, value = script[step]
            try:
                async with session.post(url, json=update(chat * 100 + step, chat, kind, value), headers=headers) as response:
                    ok = response.status == 200
            except aiohttp.ClientError:
                ok = False
            if not ok:
                if not retry:
                    return
                await asyncio.sleep(0.05)  # the pace of Telegram's retries, not a wait for work
                continue
            acknowledged[chat] = step + 1
            if on_acknowledged is not None:
                on_acknowledged()

    await asyncio.gather(*(person(chat) for chat in who))


@dataclass
class Tally:
    duplicates: int = 0
    worst: int = 0  # the most repeats in one chat
    losses: int = 0
    out_of_order: int = 0


def tally(received: Callable[[int], list[str]], people: list[int], expected: list[str], *, show: bool = False) -> Tally:
    """Each chat's messages (without a closing question, whose answer has a rate "#,##%") against
    the clean registration's: repeats, messages missing, and the order without the repeats."""
    out = Tally()
    for chat in people:
        got = received(chat)
        got = got[:-1] if got and "#,##%" in got[-1] else got
        extra, missing = Counter(got) - Counter(expected), Counter(expected) - Counter(got)
        out.duplicates += sum(extra.values())
        out.worst = max(out.worst, sum(extra.values()))
        out.losses += sum(missing.values())
        wrong = disorder(got, expected)
        out.out_of_order += wrong
        if wrong and show:  # what went wrong, in the test's output (synthetic people, digits masked)
            print(f"\nchat {chat}:", [t[:30] for t in got], "\nexpected:", [t[:30] for t in expected])
    return out
