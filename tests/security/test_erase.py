"""Item 4 of issue 13: after "Xóa dữ liệu" the person's name, phone and ID number are nowhere in
the database: not in plain text, not in any value the key can still decrypt, not in the SQLite
file's free pages or its write-ahead log. And (item 3) no chat id is readable in a dump, before
or after the erase: chat ids are sealed (storage/sealed.py)."""

from __future__ import annotations

import pytest

from storage.db import is_postgres
from tests.conftest import run
from tests.security.erase_session import (
    OFFICER_CHAT,
    PERSON,
    chat_ids_in,
    found_in,
    needles,
    scripted_session,
    sqlite_files,
    table_dump,
)

pytestmark = pytest.mark.db


def test_the_session_leaves_the_values_findable_before_the_erase(app):
    """The search works: without the erase, the three values are found (through the key)."""
    run(_session_without_erase(app))
    data = b"".join(p.read_bytes() for p in sqlite_files(app.engine)) if not is_postgres(app.engine) else table_dump(app.engine)
    hits = found_in(data, app.dispatcher.cipher)
    assert any("0987123456" in h for h in hits) and any("038090012345" in h for h in hits)
    assert any("Phạm Thị Hoà" in h for h in hits)
    # The chat is stored (conversation, consent, registration, question), sealed: its id cannot
    # be read without the key.
    assert app.dispatcher.cipher.seal_id(PERSON).encode() in data
    assert chat_ids_in(data) == []


async def _session_without_erase(app):
    from tests.security.erase_session import SESSION, MemoryChannel

    channel = MemoryChannel(app)
    for kind, value in SESSION:
        await channel.post(PERSON, kind, value)
    return channel


def test_after_an_erase_nothing_of_the_person_is_left_in_the_database(app):
    run(scripted_session(app))
    cipher = app.dispatcher.cipher
    if is_postgres(app.engine):
        data = table_dump(app.engine)
    else:
        # The whole file and its companions, read while the connections are still open.
        data = b"".join(p.read_bytes() for p in sqlite_files(app.engine))
        data += table_dump(app.engine)
    hits = found_in(data, cipher) + chat_ids_in(data)
    assert hits == [], hits[:10]
    assert len(needles()) >= 10
    # The officer's binding and the person's consent record stay, with their chats sealed.
    assert cipher.seal_id(OFFICER_CHAT).encode() in data and cipher.seal_id(PERSON).encode() in data


def test_after_an_erase_the_chat_has_no_registration_left(app):
    async def erase_then_look():
        channel = await scripted_session(app)
        return await channel.post(PERSON, "press", "me:show")

    replies = run(erase_then_look())
    assert "Bạn chưa có đăng ký nào" in replies[0].text
