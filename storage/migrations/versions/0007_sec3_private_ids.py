"""Erasing every copy: the inbox remembers which conversation an update belonged to, and a
notification which conversation wrote it (both as keyed hashes), so "Xóa dữ liệu" finds them.

Answered inbox rows from before this revision cannot be tied to their conversation (the payload
would have to be parsed per channel): they were only kept for a 30-day window after their reply
was sent, and are dropped here; unanswered ones stay and get their key when they are handled.

Revision ID: 0007_sec3_private_ids
Revises: 0006
Create Date: 2026-12-01
"""
import sqlalchemy as sa
from alembic import op

revision = "0007_sec3_private_ids"
down_revision = "0006"
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


def downgrade() -> None:
    with op.batch_alter_table("notifications") as batch:
        batch.drop_index("ix_notifications_origin_key")
        batch.drop_column("origin_key")
    with op.batch_alter_table("inbox") as batch:
        batch.drop_index("ix_inbox_chat_key")
        batch.drop_column("chat_key")
