"""Several workers on one PostgreSQL database: inbox lanes and leases.

lane: the conversation's keyed hash while the update is unfinished (cleared once it is), so the
oldest unfinished update of a chat can be found without storing who it is. leased_by and
lease_until: the worker handling and sending it, and until when; a dead worker's lease runs out.

Revision ID: 0013_inbox_lanes
Revises: 0012_web_sessions
Create Date: 2026-12-02
"""
import sqlalchemy as sa
from alembic import op

from storage.models import UTCDateTime

revision = "0013_inbox_lanes"
down_revision = "0012_web_sessions"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("inbox") as batch:
        batch.add_column(sa.Column("lane", sa.String(64), nullable=True))
        batch.add_column(sa.Column("leased_by", sa.String(64), nullable=True))
        batch.add_column(sa.Column("lease_until", UTCDateTime(), nullable=True))
        batch.create_index("ix_inbox_lane", ["lane"])


def downgrade() -> None:
    with op.batch_alter_table("inbox") as batch:
        batch.drop_index("ix_inbox_lane")
        batch.drop_column("lease_until")
        batch.drop_column("leased_by")
        batch.drop_column("lane")
