"""After the police list: roles' extra communes, the month's list, steps and loan outcomes.

officer_invites.more_communes: a bank transaction office serves several communes; one invite binds
the chat to each of them (comma-separated codes besides commune_code).
monthly_lists: one commune's list for one month, closed by the police, confirmed or returned by
the commune People's Committee, received by the bank (signer's name, title and return note
encrypted).
registrations.list_id: the list a registration was proposed on; registrations.outcome: the
bank's outcome (encrypted JSON: amount and date granted, or the reason).
registration_events.previous: the status before a decision (an officer's undo restores it).

Revision ID: 0010_list_and_outcomes
Revises: 0009_delivery_progress
Create Date: 2026-11-24
"""
import sqlalchemy as sa
from alembic import op

from storage.models import UTCDateTime

revision = "0010_list_and_outcomes"
down_revision = "0009_delivery_progress"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "monthly_lists",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("commune_code", sa.Integer(), nullable=False, index=True),
        sa.Column("period", sa.String(7), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("closed_at", UTCDateTime(), nullable=False),
        sa.Column("closed_by", sa.String(32), nullable=False),
        sa.Column("decided_at", UTCDateTime(), nullable=True),
        sa.Column("decided_by", sa.String(32), nullable=True),
        sa.Column("signer", sa.Text(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("received_at", UTCDateTime(), nullable=True),
        sa.Column("received_by", sa.String(32), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False, server_default="0"),
        sa.UniqueConstraint("commune_code", "period", name="uq_monthly_list"),
    )
    with op.batch_alter_table("officer_invites") as batch:
        batch.add_column(sa.Column("more_communes", sa.String(255), nullable=True))
    with op.batch_alter_table("registrations") as batch:
        batch.add_column(sa.Column("list_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("outcome", sa.Text(), nullable=True))
        batch.create_index("ix_registrations_list_id", ["list_id"])
    with op.batch_alter_table("registration_events") as batch:
        batch.add_column(sa.Column("previous", sa.String(16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("registration_events") as batch:
        batch.drop_column("previous")
    with op.batch_alter_table("registrations") as batch:
        batch.drop_index("ix_registrations_list_id")
        batch.drop_column("outcome")
        batch.drop_column("list_id")
    with op.batch_alter_table("officer_invites") as batch:
        batch.drop_column("more_communes")
    op.drop_table("monthly_lists")
