"""A scripted person on a real channel (the shared inbox machinery, in process): registers with a
name, phone and ID number, asks the officers a question, gets an answer, then deletes their data.
And a search of a whole database for what they said: plain, folded, or inside any value the key
still opens."""

from __future__ import annotations

import asyncio
import json
import re
import unicodedata
from pathlib import Path

from sqlalchemy import MetaData, select

from bot.channels.inbox import InboxChannel
from bot.types import Incoming, Kind, Reply
from tests.conftest import make_message, press
from tests.registration_helpers import invite

NAME, PHONE, ID_NUMBER = "Phạm Thị Hoà", "0987 123 456", "038090012345"
# Platform chat ids as Telegram gives them (long enough that no stray bytes of a file spell them).
PERSON, OFFICER_CHAT = "6120077345", "6120098765"
CHAT_IDS = (PERSON, OFFICER_CHAT)

SESSION = [
    ("press", "reg:start"), ("press", "reg:who:self"), ("press", "reg:consent:yes"), ("text", NAME),
    ("text", "1990"), ("text", PHONE), ("text", "nghe an"), ("press", "reg:prov:40"), ("text", "quy hop"),
    ("press", "reg:comm:17035"), ("press", "reg:skip"), ("press", "reg:prog:qd08_2026"), ("text", "2023"),
    ("press", "reg:purp:business"), ("press", "reg:skip"), ("text", "50tr"), ("text", ID_NUMBER), ("press", "reg:confirm"),
    # A question to the commune's officers, with the name in it and the phone left for a call back.
    ("press", "ask:start"),  # the commune is the registration's
    ("text", f"Tôi là {NAME}, số CCCD {ID_NUMBER}, hồ sơ cần giấy tờ gì?"), ("press", "ask:share:yes"), ("text", PHONE),
]


class MemoryChannel(InboxChannel):
    """A channel whose updates are dicts like {"chat", "text" | "press", "from"} and whose sends are kept."""

    name = "memory"

    def __init__(self, app) -> None:
        super().__init__(app)
        self.sent: list[tuple[str, list[Reply]]] = []
        self.healthy = True
        self.count = 0

    def parse(self, data: dict) -> Incoming | None:
        if "press" in data:
            return Incoming(channel=self.name, chat_id=data["chat"], update_id=data["id"], kind=Kind.BUTTON, payload=data["press"])
        return Incoming(channel=self.name, chat_id=data["chat"], update_id=data["id"], text=data["text"])

    async def messages(self, replies: list[Reply]) -> list:
        return list(replies)  # one message per reply

    async def send_message(self, chat_id: str, message: Reply) -> None:
        self.sent.append((chat_id, [message]))

    async def post(self, chat: str, kind: str, value: str) -> list[Reply]:
        self.count += 1
        # The platform's profile name travels with every update, as Telegram's "from" does.
        data = {"id": f"u{self.count}", "chat": chat, kind: value, "from": {"first_name": NAME}}
        before = len(self.sent)
        await self.accept(data["id"], data)
        await asyncio.gather(*list(self.tasks))
        return [r for _, replies in self.sent[before:] for r in replies]

    @property
    def last_text(self) -> str:
        return "\n".join(r.text for r in self.sent[-1][1]) if self.sent else ""


def press_label(replies: list[Reply], label: str) -> str:
    for reply in reversed(replies):
        for button in reply.buttons:
            if button.label.startswith(label):
                return button.payload
    raise AssertionError(f"no button {label!r}")


class Officer:
    """An officer on another chat, through the dispatcher (inside the session's event loop)."""

    def __init__(self, app, chat_id: str = OFFICER_CHAT) -> None:
        self.app, self.chat_id, self.last = app, chat_id, []

    async def say(self, text: str) -> None:
        self.last = await self.app.dispatcher.dispatch(make_message(text, chat_id=self.chat_id))

    async def tap(self, payload: str) -> None:
        self.last = await self.app.dispatcher.dispatch(press(payload, chat_id=self.chat_id))

    async def press(self, label: str) -> None:
        await self.tap(press_label(self.last, label))

    @property
    def text(self) -> str:
        return "\n".join(r.text for r in self.last)


async def scripted_session(app) -> MemoryChannel:
    """The whole life of one person's data, up to and including "Xóa dữ liệu"."""
    officer = Officer(app)
    await officer.say(f"/canbo {invite(app)}")
    assert "Đã kích hoạt tài khoản cán bộ" in officer.text
    channel = MemoryChannel(app)
    replies: list[Reply] = []
    for kind, value in SESSION:
        replies = await channel.post(PERSON, kind, value)
    assert "Đã chuyển câu hỏi" in channel.last_text, channel.last_text
    # The officer reads it and answers by name; the answer waits for the person as a notification.
    await officer.tap("off:qs:17035")
    await officer.press("Số ")
    assert NAME in officer.text and ID_NUMBER in officer.text, officer.text
    await officer.press("Trả lời")
    await officer.say(f"Chào chị {NAME}, chị mang CCCD {ID_NUMBER} đến xã.")
    await channel.deliver_notifications()
    assert any(NAME in r.text for chat, rs in channel.sent if chat == PERSON for r in rs)
    await channel.post(PERSON, "text", f"cảm ơn, tôi là {NAME} sđt {PHONE}")
    replies = await channel.post(PERSON, "press", "me:delete")
    assert "Xóa dữ liệu" in replies[0].text
    replies = await channel.post(PERSON, "press", "me:delete:yes")
    assert "Đã xóa dữ liệu của bạn" in replies[0].text
    return channel


def fold(text: str) -> str:
    text = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    return "".join(c for c in text if unicodedata.category(c) != "Mn").lower()


def needles() -> list[str]:
    """Every form the three values could be kept in."""
    forms = {NAME, NAME.lower(), NAME.upper(), fold(NAME), unicodedata.normalize("NFD", NAME),
             json.dumps(NAME)[1:-1], json.dumps(NAME.lower())[1:-1],
             PHONE, PHONE.replace(" ", ""), PHONE.replace(" ", "."), ID_NUMBER, ID_NUMBER[:4] + " " + ID_NUMBER[4:]}
    # The name's last two words alone are still the person ("thị hoà"), not one common word.
    forms |= {" ".join(NAME.split()[-2:]), fold(" ".join(NAME.split()[-2:]))}
    return sorted(forms)


def chat_ids_in(data: bytes) -> list[str]:
    """The session's chat ids found in plain text in these bytes (a dump, without the key)."""
    return [f"chat id {chat!r}" for chat in CHAT_IDS if chat.encode("ascii") in data]


FERNET = re.compile(rb"gAAAAA[A-Za-z0-9_\-]{40,}={0,2}")


def found_in(data: bytes, cipher, depth: int = 0) -> list[str]:
    """The forms found in these bytes, plain or in any Fernet token in them that the key opens
    (tokens inside opened values are opened too)."""
    text = data.decode("utf-8", "replace")
    hits = [f"plain {n!r}" for n in needles() if n in text or n.encode("utf-8") in data]
    if depth > 3:
        return hits
    for token in set(FERNET.findall(data)):
        try:
            opened = cipher.decrypt_bytes(token)
        except Exception:  # noqa: BLE001 - not a token this key opens (a fragment, another key)
            continue
        hits += [f"in a decrypted value: {hit}" for hit in found_in(opened, cipher, depth + 1)]
    return hits


def sqlite_files(engine) -> list[Path]:
    path = Path(engine.url.database)
    return sorted(p for p in path.parent.iterdir() if p.name.startswith(path.name))


def table_dump(engine) -> bytes:
    """Every row of every table, as text (for PostgreSQL, where the file is not ours to read)."""
    metadata = MetaData()
    metadata.reflect(engine)
    parts: list[str] = []
    with engine.connect() as connection:
        for table in metadata.sorted_tables:
            for row in connection.execute(select(table)):
                parts.append(repr([v.decode("latin-1") if isinstance(v, bytes) else v for v in row]))
    return "\n".join(parts).encode("utf-8")
