"""Channel-agnostic message types: adapters turn vendor updates into `Incoming` and render `Reply`."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from enum import StrEnum


class Kind(StrEnum):
    """What the person sent. Anything that is not text or a button press gets a kind reply."""

    OPEN = "open"  # the person opened the chat (console start); nothing typed yet
    TEXT = "text"
    BUTTON = "button"
    STICKER = "sticker"
    PHOTO = "photo"
    VOICE = "voice"
    FILE = "file"
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class Button:
    """A choice offered to the person; `payload` comes back when it is pressed (or typed)."""

    label: str
    payload: str


@dataclass(frozen=True, slots=True)
class Incoming:
    """One update from a person, whatever the channel."""

    channel: str
    chat_id: str
    update_id: str
    user_id: str = ""
    kind: Kind = Kind.TEXT
    text: str = ""
    payload: str | None = None

    @property
    def conversation_key(self) -> str:
        # The channel is part of the key: Telegram and Zalo ids can collide.
        return f"{self.channel}:{self.chat_id}"


@dataclass(frozen=True, slots=True)
class Document:
    """A file to send (the monthly list): Telegram sends it; Zalo gets a one-time download link."""

    filename: str
    content: bytes
    mime: str = "application/octet-stream"


@dataclass(frozen=True, slots=True)
class Reply:
    """One message to send back: text, optional buttons and an optional document (rendered per channel)."""

    text: str
    buttons: tuple[Button, ...] = field(default_factory=tuple)
    document: Document | None = None


def replies_to_json(replies: list[Reply]) -> str:
    """Replies as JSON, kept (encrypted) with an inbox update until they are sent."""
    out = []
    for r in replies:
        item: dict = {"text": r.text, "buttons": [[b.label, b.payload] for b in r.buttons]}
        if r.document is not None:
            d = r.document
            item["document"] = {"filename": d.filename, "mime": d.mime, "content": base64.b64encode(d.content).decode()}
        out.append(item)
    return json.dumps(out, ensure_ascii=False)


def replies_from_json(raw: str) -> list[Reply]:
    replies = []
    for r in json.loads(raw):
        doc = r.get("document")
        document = Document(doc["filename"], base64.b64decode(doc["content"]), doc["mime"]) if doc else None
        replies.append(Reply(r["text"], tuple(Button(label, payload) for label, payload in r["buttons"]), document))
    return replies
