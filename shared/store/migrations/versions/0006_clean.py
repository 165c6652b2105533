"""clean (issue 4): this area's tables

Revision ID: 0006_clean
Revises: 0005_enrich

The chain is laid down ahead of the work so that areas built in parallel merge
without competing Alembic heads; the area fills in upgrade() and downgrade().

The clean stage needs no table of its own: versions (with the clean part, its quality verdict, story cluster
and change summary as JSON) live in ``article_versions``, the near-duplicate index in Redis. A deliberate no-op.
"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401


revision = "0006_clean"
down_revision = "0005_enrich"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
