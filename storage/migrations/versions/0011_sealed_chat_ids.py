"""Chat ids sealed at rest.

Every stored platform chat id (conversations, channel contacts, consents, registrations,
officers, questions to officers, notifications) becomes its deterministic AES-SIV ciphertext under
the newest key (storage/sealed.py), so a dump of the database names no chat; lookups still work by
equality. The columns widen to 255 characters (a sealed id is longer than the id).

Sealing needs the key: storage.db.migrate hands the cipher in. Erased stubs (an empty chat id)
stay empty.

Revision ID: 0011_sealed_chat_ids
Revises: 0010_list_and_outcomes
Create Date: 2026-12-05
"""
import sqlalchemy as sa
from alembic import context, op

revision = "0011_sealed_chat_ids"
down_revision = "0010_list_and_outcomes"
branch_labels = None
depends_on = None

# table -> the columns that identify a row (besides chat_id)
TABLES = {
    "conversations": ("channel",),
    "channel_contacts": ("channel",),
    "consents": ("id",),
    "registrations": ("id",),
    "officers": ("id",),
    "officer_questions": ("id",),
    "notifications": ("id",),
}


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":  # SQLite does not enforce a VARCHAR's length
        for name in TABLES:
            op.alter_column(name, "chat_id", type_=sa.String(255), existing_type=sa.String(64), existing_nullable=False)
    _seal(bind, context.config.attributes.get("cipher"), lambda cipher, value: cipher.seal_id(value))


def _seal(bind, cipher, convert) -> None:
    for name, keys in TABLES.items():
        table = sa.table(name, sa.column("chat_id", sa.String), *(sa.column(k) for k in keys))
        rows = bind.execute(sa.select(table.c.chat_id, *(table.c[k] for k in keys)).where(table.c.chat_id != "")).all()
        if rows and cipher is None:
            raise RuntimeError("migration 0011_sealed_chat_ids needs the encryption key: run it through the bot (storage.db.migrate)")
        for chat_id, *ids in rows:
            where = [table.c.chat_id == chat_id, *(table.c[k] == v for k, v in zip(keys, ids, strict=True))]
            bind.execute(table.update().where(*where).values(chat_id=convert(cipher, chat_id)))


def downgrade() -> None:
    # Sealed ids open with the key: they are put back in plain text.
    _seal(op.get_bind(), context.config.attributes.get("cipher"), lambda cipher, value: cipher.open_id(value))
