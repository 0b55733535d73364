"""Existing data is migrated by 0008_private_ids: update ids become keyed hashes, the
unanswered record is encrypted, hashed and dated to the day; a database with data cannot be
migrated without the key."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from alembic import command
from cryptography.fernet import Fernet
from sqlalchemy import text

from storage.crypto import Cipher
from storage.db import alembic_config, migrate

pytestmark = pytest.mark.db
WHEN = datetime(2026, 11, 20, 15, 42, 7, tzinfo=UTC)  # 22:42 in Vietnam


def _at_0006(engine) -> None:
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0006")
        connection.execute(text("INSERT INTO processed_updates (channel, update_id, processed_at) "
                                "VALUES ('zalo_oa', 'u98765:m1', :t)"), {"t": WHEN})
        connection.execute(text("INSERT INTO inbox (channel, update_id, payload, received_at) "
                                "VALUES ('zalo_oa', 'u98765:m2', 'x', :t)"), {"t": WHEN})
        connection.execute(text("INSERT INTO unanswered_questions (key, text, status, count, first_seen, last_seen) "
                                "VALUES ('thoi tiet ngay mai', 'thời tiết ngày mai', 'fallback', 3, :t, :t)"), {"t": WHEN})


def test_existing_ids_and_questions_are_hashed_encrypted_and_dated_to_the_day(engine):
    _at_0006(engine)
    cipher = Cipher([Fernet.generate_key()])
    migrate(engine, cipher)
    with engine.connect() as connection:
        processed = connection.execute(text("SELECT update_id FROM processed_updates")).scalar()
        inbox = connection.execute(text("SELECT update_id FROM inbox")).scalar()
        key, stored, first = connection.execute(text("SELECT key, text, first_seen FROM unanswered_questions")).one()
    assert processed == cipher.update_key("zalo_oa", "u98765:m1") and inbox == cipher.update_key("zalo_oa", "u98765:m2")
    assert key == cipher.question_key("thoi tiet ngay mai") and re.fullmatch(r"[0-9a-f]{64}", key)
    assert cipher.decrypt(stored) == "thời tiết ngày mai"
    first = first if isinstance(first, datetime) else datetime.fromisoformat(str(first))
    first = first if first.tzinfo else first.replace(tzinfo=UTC)
    assert first == datetime(2026, 11, 19, 17, 0, tzinfo=UTC)  # 20 Nov 00:00 in Vietnam


def test_a_database_with_data_is_not_migrated_without_the_key(engine):
    _at_0006(engine)
    with pytest.raises(RuntimeError, match="needs the encryption key"):
        migrate(engine)


# -- 0011_sealed_chat_ids: chat ids stored before it are sealed -------------------------------------

CHATS = {"conversations": "6120000001", "channel_contacts": "6120000002", "consents": "6120000003",
         "registrations": "6120000004", "officers": "6120000005", "officer_questions": "6120000006",
         "notifications": "6120000007"}


def _at_0009_with_chat_ids(engine) -> None:
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0009_delivery_progress")
        rows = {
            "conversations": "INSERT INTO conversations (channel, chat_id, state, created_at, updated_at) "
                             "VALUES ('telegram', :c, 'x', :t, :t)",
            "channel_contacts": "INSERT INTO channel_contacts (channel, chat_id, last_inbound_at) VALUES ('zalo_oa', :c, :t)",
            "consents": "INSERT INTO consents (channel, chat_id, text_version, text_hash, given_at) VALUES ('telegram', :c, 'v1', 'h', :t)",
            "registrations": "INSERT INTO registrations (reference, channel, chat_id, province_code, commune_code, status, created_at, "
                             "updated_at, version) VALUES ('ABC-123', 'telegram', :c, 40, 17035, 'pending', :t, :t, 0)",
            "officers": "INSERT INTO officers (channel, chat_id, commune_code, role, created_at) "
                        "VALUES ('telegram', :c, 17035, 'officer', :t)",
            "officer_questions": "INSERT INTO officer_questions (channel, chat_id, commune_code, status, created_at) "
                                 "VALUES ('telegram', :c, 17035, 'open', :t)",
            "notifications": "INSERT INTO notifications (channel, chat_id, replies, created_at, attempts) "
                             "VALUES ('telegram', :c, 'x', :t, 0)",
        }
        for table, statement in rows.items():
            connection.execute(text(statement), {"c": CHATS[table], "t": WHEN})
        # An erased stub has no chat: it stays empty.
        connection.execute(text("INSERT INTO registrations (reference, channel, chat_id, province_code, commune_code, status, "
                                "created_at, updated_at, version) VALUES ('ERA-SED', 'telegram', '', 40, 17035, 'deleted', :t, :t, 0)"),
                           {"t": WHEN})


def test_existing_chat_ids_are_sealed_and_still_found(engine):
    from storage import officers, registrations, repo
    from storage.db import transaction

    _at_0009_with_chat_ids(engine)
    cipher = Cipher([Fernet.generate_key()])
    migrate(engine, cipher)
    with engine.connect() as connection:
        stored = {table: connection.execute(text(f"SELECT chat_id FROM {table}")).scalars().all() for table in CHATS}
    for table, chat in CHATS.items():
        assert chat not in stored[table] and cipher.seal_id(chat) in stored[table], table
    assert "" in stored["registrations"]  # the erased stub
    with transaction(engine) as session:
        assert repo.load_state(session=session, channel="telegram", chat_id=CHATS["conversations"]) == "x"
        assert repo.get_contact(session=session, channel="zalo_oa", chat_id=CHATS["channel_contacts"]) is not None
        [officer] = officers.of_chat(session=session, channel="telegram", chat_id=CHATS["officers"])
        assert officer.chat_id == CHATS["officers"]  # read back in plain, for sending
        mine = registrations.of_chat(session=session, channel="telegram", chat_id=CHATS["registrations"])
        assert [r.reference for r in mine] == ["ABC-123"]
        assert len(registrations.questions_of_chat(session=session, channel="telegram", chat_id=CHATS["officer_questions"])) == 1


def test_chat_ids_are_not_sealed_without_the_key(engine):
    _at_0009_with_chat_ids(engine)
    with pytest.raises(RuntimeError, match="needs the encryption key"):
        migrate(engine)
