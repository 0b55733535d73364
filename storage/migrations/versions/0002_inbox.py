"""Inbox of channel updates: recorded before acknowledging, so nothing is lost in a crash.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""
import sqlalchemy as sa
from alembic import op

from storage.models import UTCDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "inbox",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("update_id", sa.String(64), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("replies", sa.Text(), nullable=True),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.Column("processed_at", UTCDateTime(), nullable=True),
        sa.Column("sent_at", UTCDateTime(), nullable=True),
        sa.UniqueConstraint("channel", "update_id", name="uq_inbox_update"),
    )
    op.create_index("ix_inbox_sent_at", "inbox", ["sent_at"])


def downgrade() -> None:
    op.drop_index("ix_inbox_sent_at", table_name="inbox")
    op.drop_table("inbox")
