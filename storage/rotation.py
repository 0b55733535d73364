"""Key rotation: every encrypted value re-encrypted with the newest key, phone indexes recomputed,
sealed chat ids re-sealed.

Run after putting a new key first in DATA_ENCRYPTION_KEYS (keep the old ones after it until this
has finished). Keyed hashes (update ids, the inbox's and notifications' conversation keys, limit
counters, unanswered-question keys) cannot be re-made without the values they hash: the old key
still matches them while it is in the ring, and they expire within 30 days (README, Privacy).
"""

from __future__ import annotations

from sqlalchemy import String, select, type_coerce, update
from sqlalchemy.engine import Engine

from storage.crypto import Cipher
from storage.db import transaction
from storage.models import (
    ChannelContact,
    Consent,
    Conversation,
    Download,
    InboxUpdate,
    MonthlyList,
    Notification,
    OAuthToken,
    Officer,
    OfficerQuestion,
    Registration,
    RegistrationEvent,
    UnansweredQuestion,
)
from storage.sealed import use_cipher

# (model, encrypted text columns); Download.content is encrypted bytes.
ENCRYPTED = (
    (Conversation, ("state",)),
    (InboxUpdate, ("payload", "replies")),
    (OAuthToken, ("access_token", "refresh_token")),
    (Registration, ("details", "outcome")),
    (MonthlyList, ("signer", "note")),
    (RegistrationEvent, ("note",)),
    (OfficerQuestion, ("question", "phone", "answer")),
    (Notification, ("replies",)),
    (UnansweredQuestion, ("text",)),
)
BATCH = 500
# Tables whose chat_id is sealed (storage/sealed.py).
SEALED = (Conversation, ChannelContact, Consent, Registration, Officer, OfficerQuestion, Notification)


def rotate_all(engine: Engine, cipher: Cipher) -> dict[str, int]:
    use_cipher(engine, cipher)
    counts: dict[str, int] = {}
    for model, columns in ENCRYPTED:
        table = model.__table__
        keys = list(table.primary_key.columns)
        count = 0
        with transaction(engine) as session:
            rows = session.execute(select(*keys, *(table.c[c] for c in columns))).all()
            for row in rows:
                values: dict[str, str | None] = {c: cipher.rotate(row[len(keys) + i]) for i, c in enumerate(columns) if row[len(keys) + i]}
                if model is Registration and values.get("details"):
                    phone = cipher.unseal(values["details"]).get("phone")
                    values["phone_index"] = cipher.blind_index(phone) if phone else None
                if values:
                    where = [k == row[i] for i, k in enumerate(keys)]
                    session.exec(update(table).where(*where).values(**values))
                    count += 1
        counts[table.name] = count
    with transaction(engine) as session:
        rows = session.execute(select(Download.__table__.c.id, Download.__table__.c.content)).all()
        for row_id, content in rows:
            session.exec(update(Download.__table__).where(Download.__table__.c.id == row_id).values(content=cipher.rotate_bytes(content)))
        counts["downloads"] = len(rows)
    for sealed in SEALED:
        counts[f"{sealed.__tablename__} chat ids"] = reseal(engine, cipher, sealed)
    return counts


def reseal(engine: Engine, cipher: Cipher, model) -> int:
    """The table's chat ids sealed again with the newest key (compared and written as stored text)."""
    table = model.__table__
    stored = type_coerce(table.c.chat_id, String())
    count = 0
    with transaction(engine) as session:
        for (sealed,) in session.execute(select(stored).where(stored != "").distinct()).all():
            fresh = cipher.rotate_id(sealed)
            if fresh != sealed:
                session.execute(update(table).where(stored == sealed).values({table.c.chat_id: type_coerce(fresh, String())}))
                count += 1
    return count
