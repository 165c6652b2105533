"""enrich (issue 10): this area's tables

Revision ID: 0005_enrich
Revises: 0004_publish

The chain is laid down ahead of the work so that areas built in parallel merge
without competing Alembic heads; the area fills in upgrade() and downgrade().
"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401


revision = "0005_enrich"
down_revision = "0004_publish"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
