"""Registrations get a version, raised by every change, so concurrent decisions cannot both apply;
per-chat limit counters (keyed by a keyed hash of the chat) that survive restarts.

Revision ID: 0007_sec1_races_and_limits
Revises: 0006
Create Date: 2026-11-23
"""
import sqlalchemy as sa
from alembic import op

from storage.models import UTCDateTime

revision = "0007_sec1_races_and_limits"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("registrations") as batch:
        batch.add_column(sa.Column("version", sa.Integer(), nullable=False, server_default="0"))
    op.create_table(
        "chat_limits",
        sa.Column("chat_key", sa.String(64), primary_key=True),
        sa.Column("kind", sa.String(16), primary_key=True),
        sa.Column("period", sa.String(10), primary_key=True),
        sa.Column("count", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("until", UTCDateTime(), nullable=True),
        sa.Column("updated_at", UTCDateTime(), nullable=False, index=True),
    )


def downgrade() -> None:
    op.drop_table("chat_limits")
    with op.batch_alter_table("registrations") as batch:
        batch.drop_column("version")
