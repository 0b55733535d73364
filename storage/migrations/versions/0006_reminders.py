"""Reminder ledger and tasks; notifications get a lease/back-off time and a failure reason.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22
"""
import sqlalchemy as sa
from alembic import op

from storage.models import UTCDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "reminder_deliveries",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("deadline_id", sa.String(40), nullable=False),
        sa.Column("period", sa.String(10), nullable=False),
        sa.Column("officer_id", sa.Integer(), nullable=False, index=True),
        sa.Column("lead", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("notification_id", sa.Integer(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("deadline_id", "period", "officer_id", "lead", name="uq_reminder_delivery"),
    )
    op.create_table(
        "reminder_tasks",
        sa.Column("deadline_id", sa.String(40), primary_key=True),
        sa.Column("period", sa.String(10), primary_key=True),
        sa.Column("officer_id", sa.Integer(), primary_key=True),
        sa.Column("done_at", UTCDateTime(), nullable=True),
        sa.Column("snoozed_until", UTCDateTime(), nullable=True),
    )
    with op.batch_alter_table("notifications") as batch:
        batch.add_column(sa.Column("not_before", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("reason", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("notifications") as batch:
        batch.drop_column("reason")
        batch.drop_column("not_before")
    op.drop_table("reminder_tasks")
    op.drop_table("reminder_deliveries")
