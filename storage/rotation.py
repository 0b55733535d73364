"""Key rotation: every encrypted value re-encrypted with the newest key, phone indexes recomputed.

Run after putting a new key first in DATA_ENCRYPTION_KEYS (keep the old ones after it until this
has finished); then the old keys can be removed.
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.engine import Engine

from storage.crypto import Cipher
from storage.db import transaction
from storage.models import (
    Conversation, Download, InboxUpdate, MonthlyList, Notification, OAuthToken, OfficerQuestion, Registration, RegistrationEvent,
    UnansweredQuestion,
)

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


def rotate_all(engine: Engine, cipher: Cipher) -> dict[str, int]:
    counts: dict[str, int] = {}
    for model, columns in ENCRYPTED:
        table = model.__table__
        keys = list(table.primary_key.columns)
        count = 0
        with transaction(engine) as session:
            rows = session.exec(select(*keys, *(table.c[c] for c in columns))).all()
            for row in rows:
                values = {c: cipher.rotate(row[len(keys) + i]) for i, c in enumerate(columns) if row[len(keys) + i]}
                if model is Registration and values.get("details"):
                    phone = cipher.unseal(values["details"]).get("phone")
                    values["phone_index"] = cipher.blind_index(phone) if phone else None
                if values:
                    where = [k == row[i] for i, k in enumerate(keys)]
                    session.exec(update(table).where(*where).values(**values))
                    count += 1
        counts[table.name] = count
    with transaction(engine) as session:
        rows = session.exec(select(Download.__table__.c.id, Download.__table__.c.content)).all()
        for row_id, content in rows:
            session.exec(update(Download.__table__).where(Download.__table__.c.id == row_id).values(content=cipher.rotate_bytes(content)))
        counts["downloads"] = len(rows)
    return counts
