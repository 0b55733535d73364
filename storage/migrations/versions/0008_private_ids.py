"""Private identifiers, and erasing every copy.

- The inbox remembers which conversation an update belonged to, and a notification which
  conversation wrote it (both as keyed hashes), so "Xóa dữ liệu" finds them.
- Update ids (on Zalo they hold the user id) become keyed hashes, in the deduplication records
  and in the inbox.
- The unanswered-question record: its text is encrypted, its key becomes a keyed hash of the
  normalised text, and its times are cut to the (Vietnamese) day.

Turning stored values into keyed hashes needs the key: storage.db.migrate hands the cipher in.

Answered inbox rows from before this revision cannot be tied to their conversation (the payload
would have to be parsed per channel): they were only kept for a 30-day window after their reply
was sent, and are dropped here; unanswered ones stay and get their key when they are handled.

Revision ID: 0008_private_ids
Revises: 0006
Create Date: 2026-12-01
"""
from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from alembic import context, op

from storage.models import UTCDateTime

revision = "0008_private_ids"
down_revision = "0007_sec1_races_and_limits"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("inbox") as batch:
        batch.add_column(sa.Column("chat_key", sa.String(64), nullable=True))
        batch.create_index("ix_inbox_chat_key", ["chat_key"])
    with op.batch_alter_table("notifications") as batch:
        batch.add_column(sa.Column("origin_key", sa.String(64), nullable=True))
        batch.create_index("ix_notifications_origin_key", ["origin_key"])
    op.execute(sa.text("DELETE FROM inbox WHERE sent_at IS NOT NULL"))
    _hash_and_encrypt(op.get_bind(), context.config.attributes.get("cipher"))


def _day(value: datetime) -> datetime:
    vietnam = ZoneInfo("Asia/Ho_Chi_Minh")
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return datetime.combine(value.astimezone(vietnam).date(), time(), vietnam).astimezone(UTC)


def _hash_and_encrypt(bind, cipher) -> None:
    processed = sa.table("processed_updates", sa.column("channel", sa.String), sa.column("update_id", sa.String))
    inbox = sa.table("inbox", sa.column("id", sa.Integer), sa.column("channel", sa.String), sa.column("update_id", sa.String))
    unanswered = sa.table("unanswered_questions", sa.column("id", sa.Integer), sa.column("key", sa.String),
                          sa.column("text", sa.Text), sa.column("first_seen", UTCDateTime()), sa.column("last_seen", UTCDateTime()))
    rows = {
        "processed": bind.execute(sa.select(processed.c.channel, processed.c.update_id)).all(),
        "inbox": bind.execute(sa.select(inbox.c.id, inbox.c.channel, inbox.c.update_id)).all(),
        "unanswered": bind.execute(sa.select(unanswered)).all(),
    }
    if not any(rows.values()):
        return
    if cipher is None:
        raise RuntimeError("migration 0008_private_ids needs the encryption key: run it through the bot (storage.db.migrate)")
    for channel, update_id in rows["processed"]:
        bind.execute(processed.update().where(processed.c.channel == channel, processed.c.update_id == update_id)
                     .values(update_id=cipher.update_key(channel, update_id)))
    for row_id, channel, update_id in rows["inbox"]:
        bind.execute(inbox.update().where(inbox.c.id == row_id).values(update_id=cipher.update_key(channel, update_id)))
    for row in rows["unanswered"]:
        bind.execute(unanswered.update().where(unanswered.c.id == row.id).values(
            key=cipher.question_key(row.key), text=cipher.encrypt(row.text),
            first_seen=_day(row.first_seen), last_seen=_day(row.last_seen)))


def downgrade() -> None:
    # Keyed hashes cannot be turned back into ids or texts: only the columns are removed.
    with op.batch_alter_table("notifications") as batch:
        batch.drop_index("ix_notifications_origin_key")
        batch.drop_column("origin_key")
    with op.batch_alter_table("inbox") as batch:
        batch.drop_index("ix_inbox_chat_key")
        batch.drop_column("chat_key")
