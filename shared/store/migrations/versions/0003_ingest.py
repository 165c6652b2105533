"""ingest (issue 11): source health, conditional GET, WebSub and per-source options; the source_entries table

Revision ID: 0003_ingest
Revises: 0002_console
"""
from alembic import op
import sqlalchemy as sa


revision = "0003_ingest"
down_revision = "0002_console"
branch_labels = None
depends_on = None

ZERO = sa.text("0")
SOURCE_COLUMNS = [
    sa.Column("name", sa.Text(), nullable=True),
    sa.Column("options", sa.JSON(), nullable=True),
    sa.Column("etag", sa.Text(), nullable=True),
    sa.Column("last_modified", sa.Text(), nullable=True),
    sa.Column("last_status", sa.Integer(), nullable=True),
    sa.Column("last_success_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("last_new_item_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("items_new", sa.Integer(), nullable=False, server_default=ZERO),
    sa.Column("items_updated", sa.Integer(), nullable=False, server_default=ZERO),
    sa.Column("items_unchanged", sa.Integer(), nullable=False, server_default=ZERO),
    sa.Column("items_total", sa.Integer(), nullable=False, server_default=ZERO),
    sa.Column("bytes_last", sa.BigInteger(), nullable=False, server_default=ZERO),
    sa.Column("bytes_total", sa.BigInteger(), nullable=False, server_default=ZERO),
    sa.Column("fetch_count", sa.Integer(), nullable=False, server_default=ZERO),
    sa.Column("error_count", sa.Integer(), nullable=False, server_default=ZERO),
    sa.Column("cadence_seconds", sa.Float(), nullable=True),
    sa.Column("suspended_reason", sa.Text(), nullable=True),
    sa.Column("suspended_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("charset", sa.String(length=32), nullable=True),
    sa.Column("charset_reason", sa.Text(), nullable=True),
    sa.Column("websub_hub", sa.Text(), nullable=True),
    sa.Column("websub_topic", sa.Text(), nullable=True),
    sa.Column("websub_secret", sa.String(length=128), nullable=True),
    sa.Column("websub_state", sa.String(length=16), nullable=True),
    sa.Column("websub_lease_until", sa.DateTime(timezone=True), nullable=True),
    sa.Column("quiet", sa.Boolean(), nullable=False, server_default=sa.false()),
]


def upgrade() -> None:
    with op.batch_alter_table("sources", schema=None) as batch_op:
        for column in SOURCE_COLUMNS:
            batch_op.add_column(column.copy())
        batch_op.create_index("ix_sources_status_next", ["status", "next_fetch_at"], unique=False)
    op.create_table(
        "source_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("article_id", sa.String(length=36), nullable=False),
        sa.Column("title", sa.Text(), nullable=True),
        sa.Column("published", sa.String(length=40), nullable=True),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lastmod", sa.String(length=64), nullable=True),
        sa.Column("content_hash", sa.String(length=64), nullable=True),
        sa.Column("fetch_id", sa.String(length=64), nullable=True),
        sa.Column("versions", sa.Integer(), nullable=False),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["source_id"], ["sources.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("source_id", "key", name="uq_source_entry"),
    )
    with op.batch_alter_table("source_entries", schema=None) as batch_op:
        batch_op.create_index("ix_source_entries_source_seen", ["source_id", "first_seen_at"], unique=False)
        batch_op.create_index("ix_source_entries_article_id", ["article_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("source_entries", schema=None) as batch_op:
        batch_op.drop_index("ix_source_entries_article_id")
        batch_op.drop_index("ix_source_entries_source_seen")
    op.drop_table("source_entries")
    with op.batch_alter_table("sources", schema=None) as batch_op:
        batch_op.drop_index("ix_sources_status_next")
        for column in reversed(SOURCE_COLUMNS):
            batch_op.drop_column(column.name)
