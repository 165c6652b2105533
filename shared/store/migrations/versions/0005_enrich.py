"""enrich (issue 10): story signatures and LSH bands (related stories)

Revision ID: 0005_enrich
Revises: 0004_publish

The chain is laid down ahead of the work so that areas built in parallel merge
without competing Alembic heads; the area fills in upgrade() and downgrade().
"""
from alembic import op
import sqlalchemy as sa


revision = "0005_enrich"
down_revision = "0004_publish"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "story_signatures",
        sa.Column("article_id", sa.String(length=36), nullable=False),
        sa.Column("story_id", sa.String(length=36), nullable=False),
        sa.Column("signature", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("article_id"),
    )
    op.create_index("ix_story_signatures_story_id", "story_signatures", ["story_id"], unique=False)
    op.create_index("ix_story_signatures_created_at", "story_signatures", ["created_at"], unique=False)
    op.create_table(
        "story_bands",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("band", sa.String(length=40), nullable=False),
        sa.Column("article_id", sa.String(length=36), nullable=False),
        sa.ForeignKeyConstraint(["article_id"], ["story_signatures.article_id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_story_bands_band", "story_bands", ["band"], unique=False)
    op.create_index("ix_story_bands_article_id", "story_bands", ["article_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_story_bands_article_id", table_name="story_bands")
    op.drop_index("ix_story_bands_band", table_name="story_bands")
    op.drop_table("story_bands")
    op.drop_index("ix_story_signatures_created_at", table_name="story_signatures")
    op.drop_index("ix_story_signatures_story_id", table_name="story_signatures")
    op.drop_table("story_signatures")
