"""Key rotation (issue 13, items 2 and 3): with a new key put first in DATA_ENCRYPTION_KEYS and
the old one kept after it, every lookup still finds what was stored under the old key — sealed
chat ids (officers, registrations, conversations, notifications, contacts) and keyed hashes
(update ids, the inbox, limit counters, unanswered questions, download links). `keys rotate`
then re-seals the chat ids, and the bot works with the new key alone."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from cryptography.fernet import Fernet
from pydantic import SecretStr
from sqlalchemy import String, select, type_coerce

from bot.app import build_app
from bot.types import Document
from storage import repo
from storage.crypto import Cipher
from storage.db import transaction
from storage.models import InboxUpdate
from storage.rotation import SEALED, rotate_all
from tests.conftest import make_message, run
from tests.registration_helpers import WIFE_ANSWERS, Chat, inbox_of, invite, officer_chat, register_for_husband

pytestmark = pytest.mark.db
OLD, NEW = Fernet.generate_key(), Fernet.generate_key()
WIFE, OFFICER, HALFWAY = "6120022222", "6120011111", "6120033333"


def keyed(settings, brain, engine, *keys: bytes, **more):
    ring = ",".join(k.decode() for k in keys)
    return build_app(settings.model_copy(update={"data_encryption_keys": SecretStr(ring), "limit_messages_per_minute": 0, **more}),
                     brain=brain, engine=engine)


def stored_chat_ids(engine) -> list[str]:
    """Every sealed chat id as stored (not opened)."""
    with engine.connect() as connection:
        return [value for model in SEALED
                for value in connection.execute(select(type_coerce(model.__table__.c.chat_id, String()))).scalars() if value]


def test_after_a_rotation_every_chat_is_found_and_after_keys_rotate_the_old_key_can_go(settings, brain, engine):
    before = keyed(settings, brain, engine, OLD)
    wife = register_for_husband(before, WIFE)
    officer = officer_chat(before, OFFICER)
    halfway = Chat(before, HALFWAY)
    halfway.tap("reg:start")
    halfway.press("Tôi đăng ký giúp người thân")
    assert all(Cipher([OLD]).open_id(v) for v in stored_chat_ids(engine))

    rotated = keyed(settings, brain, engine, NEW, OLD)
    for chat in (wife, officer, halfway):
        chat.app = rotated
    officer.press("Danh sách chờ xác minh")  # the officer's binding is found
    officer.press(officer.labels[0])
    officer.press("Xác minh")
    assert "Đã xác minh" in officer.text
    assert "đã xác minh" in inbox_of(rotated, WIFE)[0]  # the registration's chat, opened and notified
    wife.tap("me:show")  # the person's registrations are found
    assert "đã xác minh, có trong danh sách" in wife.text
    halfway.answer(WIFE_ANSWERS)  # the conversation state under the old key is found and carried on
    assert "Bạn kiểm tra lại thông tin" in halfway.text

    counts = rotate_all(engine, Cipher([NEW, OLD]))
    assert counts["officers chat ids"] == 1 and counts["registrations chat ids"] == 1 and counts["conversations chat ids"] == 3
    assert rotate_all(engine, Cipher([NEW, OLD]))["conversations chat ids"] == 0  # nothing left under the old key
    with pytest.raises(ValueError):
        Cipher([OLD]).open_id(stored_chat_ids(engine)[0])

    after = keyed(settings, brain, engine, NEW)  # the old key removed
    for chat in (wife, officer, halfway):
        chat.app = after
    wife.tap("me:show")
    assert "đã xác minh, có trong danh sách" in wife.text
    halfway.press("Đúng, gửi đăng ký")
    assert "Mã đăng ký của bạn" in halfway.text
    officer.say("/canbo")
    assert "Xã Quỳ Hợp" in officer.text and "không có quyền" not in officer.text
    assert all(Cipher([NEW]).open_id(v) for v in stored_chat_ids(engine))


def test_a_repeated_delivery_from_before_the_rotation_is_still_answered_once(settings, brain, engine):
    before = keyed(settings, brain, engine, OLD)
    message = make_message("lãi suất bao nhiêu", chat_id="6120044444")
    assert run(before.dispatcher.dispatch(message))
    rotated = keyed(settings, brain, engine, NEW, OLD)
    assert run(rotated.dispatcher.dispatch(message)) == []  # its hash under the old key is recognised


def test_an_inbox_update_recorded_before_the_rotation_is_not_recorded_again(settings, brain, engine):
    from tests.security.erase_session import MemoryChannel

    async def deliver(app) -> int:
        channel = MemoryChannel(app)
        await channel.accept("u-77", {"id": "u-77", "chat": "6120055555", "text": "xin chào"})
        await channel.idle()
        return len(channel.sent)

    assert run(deliver(keyed(settings, brain, engine, OLD))) >= 1
    assert run(deliver(keyed(settings, brain, engine, NEW, OLD))) == 0  # redelivered after the rotation: a repeat
    with transaction(engine) as session:
        assert len(list(session.exec(select(InboxUpdate.id)))) == 1


def test_an_invite_lockout_from_before_the_rotation_still_holds(settings, brain, engine):
    before = keyed(settings, brain, engine, OLD, limit_invite_failures=2)
    guesser = Chat(before, "6120066666")
    guesser.say("/canbo WRONG1")
    guesser.say("/canbo WRONG2")
    assert "nhập sai nhiều lần" in guesser.text
    guesser.app = keyed(settings, brain, engine, NEW, OLD, limit_invite_failures=2)
    guesser.say(f"/canbo {invite(guesser.app)}")
    assert "nhập sai nhiều lần" in guesser.text


def test_the_daily_count_from_before_the_rotation_is_counted_on(settings, brain, engine):
    before = keyed(settings, brain, engine, OLD, limit_registrations_per_day=1)
    register_for_husband(before, "6120077777")
    rotated = keyed(settings, brain, engine, NEW, OLD, limit_registrations_per_day=1)
    again = Chat(rotated, "6120077777")
    again.tap("reg:start")
    assert "Hôm nay bạn đã gửi 1 đăng ký" in again.text


def test_an_unanswered_question_from_before_the_rotation_is_counted_on(settings, brain, engine):
    question = "thời tiết hà nội ngày mai thế nào"
    Chat(keyed(settings, brain, engine, OLD), "6120088888").say(question)
    rotated = keyed(settings, brain, engine, NEW, OLD)
    Chat(rotated, "6120099999").say(question)
    with transaction(engine) as session:
        rows = repo.list_unanswered(session=session, cipher=rotated.dispatcher.cipher)
    assert [row.count for row in rows] == [2]


def test_a_download_link_made_before_the_rotation_still_opens(settings, brain, engine):
    before = keyed(settings, brain, engine, OLD)
    url = before.downloads.create(Document("danh-sach.xlsx", b"PK-content"))
    file_id = urlsplit(url).path.rsplit("/", 1)[-1]
    query = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    rotated = keyed(settings, brain, engine, NEW, OLD)
    assert rotated.downloads.take(file_id, query["exp"], "0" * 64)[0] == 403  # a forged signature is still refused
    status, _, content = rotated.downloads.take(file_id, query["exp"], query["sig"])
    assert (status, content) == (200, b"PK-content")
