"""articles: the story cluster and the near-duplicate link (issue 4), so a known story lists its other sources

Revision ID: 0009_near_duplicates
Revises: 0008_jobs_finished_index
"""
from alembic import op
import sqlalchemy as sa


revision = "0009_near_duplicates"
down_revision = "0008_jobs_finished_index"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("articles") as batch:
        batch.add_column(sa.Column("cluster_id", sa.String(length=36), nullable=True))
        batch.add_column(sa.Column("near_duplicate_of", sa.String(length=36), nullable=True))
    op.create_index("ix_articles_cluster_id", "articles", ["cluster_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_articles_cluster_id", table_name="articles")
    with op.batch_alter_table("articles") as batch:
        batch.drop_column("near_duplicate_of")
        batch.drop_column("cluster_id")
