"""Registrations, consent, officers, invites, audit log, officer questions, notifications.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22
"""
import sqlalchemy as sa
from alembic import op

from storage.models import UTCDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def _when(name: str, nullable: bool = True) -> sa.Column:
    return sa.Column(name, UTCDateTime(), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "consents",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("chat_id", sa.String(64), nullable=False, index=True),
        sa.Column("text_version", sa.String(16), nullable=False),
        sa.Column("text_hash", sa.String(64), nullable=False),
        _when("given_at", False),
        _when("withdrawn_at"),
    )
    op.create_table(
        "registrations",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("reference", sa.String(12), nullable=False, unique=True),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("chat_id", sa.String(64), nullable=False, index=True),
        sa.Column("province_code", sa.Integer(), nullable=False),
        sa.Column("commune_code", sa.Integer(), nullable=False, index=True),
        sa.Column("status", sa.String(16), nullable=False, index=True),
        sa.Column("details", sa.Text(), nullable=True),
        sa.Column("phone_index", sa.String(64), nullable=True, index=True),
        sa.Column("consent_id", sa.Integer(), nullable=True),
        _when("created_at", False),
        _when("updated_at", False),
        _when("decided_at"),
        _when("erased_at"),
    )
    op.create_table(
        "registration_events",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("registration_id", sa.Integer(), nullable=False, index=True),
        _when("at", False),
        sa.Column("actor", sa.String(32), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
    )
    op.create_table(
        "officers",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("chat_id", sa.String(64), nullable=False, index=True),
        sa.Column("commune_code", sa.Integer(), nullable=False, index=True),
        sa.Column("role", sa.String(16), nullable=False),
        _when("created_at", False),
        _when("revoked_at"),
    )
    op.create_table(
        "officer_invites",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("code_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("commune_code", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        _when("created_at", False),
        _when("expires_at", False),
        _when("used_at"),
        sa.Column("officer_id", sa.Integer(), nullable=True),
    )
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("at", UTCDateTime(), nullable=False, index=True),
        sa.Column("actor", sa.String(32), nullable=False),
        sa.Column("action", sa.String(24), nullable=False),
        sa.Column("registration_id", sa.Integer(), nullable=True, index=True),
        sa.Column("commune_code", sa.Integer(), nullable=True),
        sa.Column("detail", sa.String(64), nullable=True),
    )
    op.create_table(
        "officer_questions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("chat_id", sa.String(64), nullable=False, index=True),
        sa.Column("commune_code", sa.Integer(), nullable=False, index=True),
        sa.Column("question", sa.Text(), nullable=True),
        sa.Column("phone", sa.Text(), nullable=True),
        sa.Column("status", sa.String(16), nullable=False, index=True),
        _when("created_at", False),
        _when("answered_at"),
        sa.Column("answer", sa.Text(), nullable=True),
        sa.Column("officer_id", sa.Integer(), nullable=True),
    )
    op.create_table(
        "notifications",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("channel", sa.String(16), nullable=False, index=True),
        sa.Column("chat_id", sa.String(64), nullable=False),
        sa.Column("replies", sa.Text(), nullable=False),
        _when("created_at", False),
        sa.Column("sent_at", UTCDateTime(), nullable=True, index=True),
        _when("failed_at"),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
    )


def downgrade() -> None:
    for table in ("notifications", "officer_questions", "audit_log", "officer_invites", "officers",
                  "registration_events", "registrations", "consents"):
        op.drop_table(table)
