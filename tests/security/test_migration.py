"""Existing data is migrated by 0008_private_ids: update ids become keyed hashes, the
unanswered record is encrypted, hashed and dated to the day; a database with data cannot be
migrated without the key."""

from __future__ import annotations

import re
from datetime import datetime, timezone

import pytest
from alembic import command
from cryptography.fernet import Fernet
from sqlalchemy import text

from storage.crypto import Cipher
from storage.db import alembic_config, migrate

pytestmark = pytest.mark.db
WHEN = datetime(2026, 11, 20, 15, 42, 7, tzinfo=timezone.utc)  # 22:42 in Vietnam


def _at_0006(engine) -> None:
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0006")
        connection.execute(text("INSERT INTO processed_updates (channel, update_id, processed_at) VALUES ('zalo_oa', 'u98765:m1', :t)"), {"t": WHEN})
        connection.execute(text("INSERT INTO inbox (channel, update_id, payload, received_at) VALUES ('zalo_oa', 'u98765:m2', 'x', :t)"), {"t": WHEN})
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
    first = first if first.tzinfo else first.replace(tzinfo=timezone.utc)
    assert first == datetime(2026, 11, 19, 17, 0, tzinfo=timezone.utc)  # 20 Nov 00:00 in Vietnam


def test_a_database_with_data_is_not_migrated_without_the_key(engine):
    _at_0006(engine)
    with pytest.raises(RuntimeError, match="needs the encryption key"):
        migrate(engine)
