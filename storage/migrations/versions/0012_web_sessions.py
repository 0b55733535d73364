"""The officers' web pages: one-time login links and browser sessions (token hashes only).

Revision ID: 0012_web_sessions
Revises: 0011_sealed_chat_ids
Create Date: 2026-12-01
"""
import sqlalchemy as sa
from alembic import op

from storage.models import UTCDateTime

revision = "0012_web_sessions"
down_revision = "0011_sealed_chat_ids"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "web_logins",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("officer_id", sa.Integer(), nullable=False, index=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("used_at", UTCDateTime(), nullable=True),
    )
    op.create_table(
        "web_sessions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("officer_id", sa.Integer(), nullable=False, index=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("last_seen_at", UTCDateTime(), nullable=False),
        sa.Column("ended_at", UTCDateTime(), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("web_sessions")
    op.drop_table("web_logins")
