"""publish engine (issue 5): this area's tables

Revision ID: 0004_publish
Revises: 0003_ingest

The chain is laid down ahead of the work so that areas built in parallel merge
without competing Alembic heads; the area fills in upgrade() and downgrade().
"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401


revision = "0004_publish"
down_revision = "0003_ingest"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
