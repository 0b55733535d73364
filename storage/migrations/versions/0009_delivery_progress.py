"""Per-message delivery progress on inbox rows, and when an update last got "thử lại sau".

sent_count: how many of the row's outgoing messages (documents and text chunks of its stored
replies, in order) the channel confirmed; a restart resumes after them, so a message confirmed
sent is never sent again. failed_at: the database was unavailable for this update and the person
was told to try again later; it is replayed only if the person has not written since.

Revision ID: 0009_delivery_progress
Revises: 0006
Create Date: 2026-11-23
"""
import sqlalchemy as sa
from alembic import op

from storage.models import UTCDateTime

revision = "0009_delivery_progress"
down_revision = "0008_private_ids"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("inbox") as batch:
        batch.add_column(sa.Column("sent_count", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("failed_at", UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("inbox") as batch:
        batch.drop_column("failed_at")
        batch.drop_column("sent_count")
