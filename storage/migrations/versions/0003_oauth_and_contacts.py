"""OAuth token pairs (encrypted) and per-channel contact reachability.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""
import sqlalchemy as sa
from alembic import op

from storage.models import UTCDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "oauth_tokens",
        sa.Column("name", sa.String(32), primary_key=True),
        sa.Column("access_token", sa.Text(), nullable=False),
        sa.Column("refresh_token", sa.Text(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=True),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "channel_contacts",
        sa.Column("channel", sa.String(16), primary_key=True),
        sa.Column("chat_id", sa.String(64), primary_key=True),
        sa.Column("last_inbound_at", UTCDateTime(), nullable=True),
        sa.Column("unreachable_since", UTCDateTime(), nullable=True),
        sa.Column("reason", sa.String(64), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("channel_contacts")
    op.drop_table("oauth_tokens")
