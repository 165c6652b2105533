"""jobs: an index on finished_at, for the prune of finished jobs (hooks.sweep_jobs forgets those 30 days old)

Revision ID: 0008_jobs_finished_index
Revises: 0007_hooks
"""
from alembic import op


revision = "0008_jobs_finished_index"
down_revision = "0007_hooks"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_jobs_finished", "jobs", ["finished_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_jobs_finished", table_name="jobs")
