"""A person in a chat with the real dispatcher and database: types, presses buttons by label."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from bot.types import Reply
from storage import officers
from storage.db import transaction
from storage.models import Notification, Registration, utcnow
from tests.conftest import make_message, press, run

WIFE_ANSWERS = [
    ("press", "Vợ hoặc chồng"), ("press", "Tôi đồng ý"), ("type", "tran van binh"), ("type", "1988"),
    ("type", "0912.345.678"), ("type", "nghe an"), ("type", "qui hop"), ("press", "Xã Quỳ Hợp"),
    ("press", "Bỏ qua"), ("press", "Người sau cai nghiện ma túy"), ("type", "2023"), ("press", "Sản xuất, kinh doanh"),
    ("type", "nuôi lợn"), ("type", "50tr"), ("press", "Bỏ qua"),
]


class Chat:
    def __init__(self, app, chat_id: str) -> None:
        self.app, self.chat_id = app, chat_id
        self.last: list[Reply] = []

    def say(self, text: str) -> list[Reply]:
        self.last = run(self.app.dispatcher.dispatch(make_message(text, chat_id=self.chat_id)))
        return self.last

    def tap(self, payload: str) -> list[Reply]:
        self.last = run(self.app.dispatcher.dispatch(press(payload, chat_id=self.chat_id)))
        return self.last

    def press(self, label: str) -> list[Reply]:
        """Presses the button with this label (or whose label starts with it) in the last replies."""
        for reply in reversed(self.last):
            for button in reply.buttons:
                if button.label == label or button.label.startswith(label):
                    return self.tap(button.payload)
        raise AssertionError(f"no button {label!r} in {[b.label for r in self.last for b in r.buttons]}")

    @property
    def text(self) -> str:
        return "\n".join(r.text for r in self.last)

    @property
    def labels(self) -> list[str]:
        return [b.label for b in self.last[-1].buttons] if self.last else []

    def answer(self, steps) -> None:
        for kind, value in steps:
            self.press(value) if kind == "press" else self.say(value)


def consented(app, chat_id: str) -> Chat:
    """A person registering for themselves who has just agreed to the consent text."""
    chat = Chat(app, chat_id)
    chat.tap("reg:start")
    chat.press("Tôi đăng ký cho chính tôi")
    chat.press("Tôi đồng ý")
    return chat


def for_relative(app, chat_id: str) -> Chat:
    """Someone who has just chosen to register a relative (the relationship is asked next)."""
    chat = Chat(app, chat_id)
    chat.tap("reg:start")
    chat.press("Tôi đăng ký giúp người thân")
    return chat


def fill_for_husband(app, chat_id: str = "wife", answers=None) -> Chat:
    """Everything up to the summary, not yet sent."""
    chat = for_relative(app, chat_id)
    chat.answer(answers or WIFE_ANSWERS)
    assert "Bạn kiểm tra lại thông tin" in chat.text, chat.text
    return chat


def register_for_husband(app, chat_id: str = "wife") -> Chat:
    chat = fill_for_husband(app, chat_id)
    chat.press("Đúng, gửi đăng ký")
    assert "Mã đăng ký của bạn" in chat.text, chat.text
    return chat


def registrations(app) -> list[Registration]:
    with transaction(app.engine) as session:
        return list(session.exec(select(Registration).order_by(Registration.id)))


def invite(app, commune: int = 17035, role: str = "officer", hours: int = 72) -> str:
    now = utcnow()
    with transaction(app.engine) as session:
        return officers.create_invite(session=session, commune_code=commune, role=role, now=now, expires_at=now + timedelta(hours=hours))


def officer_chat(app, chat_id: str = "officer", commune: int = 17035) -> Chat:
    chat = Chat(app, chat_id)
    chat.say(f"/canbo {invite(app, commune)}")
    assert "Đã kích hoạt tài khoản cán bộ" in chat.text, chat.text
    return chat


def inbox_of(app, chat_id: str, channel: str = "test") -> list[str]:
    """Texts of the notifications waiting for a chat."""
    with transaction(app.engine) as session:
        rows = session.exec(select(Notification).where(Notification.channel == channel, Notification.chat_id == chat_id,
                                                       Notification.sent_at.is_(None)).order_by(Notification.id))
        return [app.dispatcher.cipher.decrypt(r.replies) for r in rows]
