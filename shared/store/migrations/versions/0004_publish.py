"""publish engine (issue 5): delivery events and claims, attempt excerpts, target state, routing decisions,
retractions and corrections

Revision ID: 0004_publish
Revises: 0003_ingest
"""
from alembic import op
import sqlalchemy as sa


revision = "0004_publish"
down_revision = "0003_ingest"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("event", sa.String(length=16), nullable=False, server_default="publish"))
        batch_op.add_column(sa.Column("claimed_by", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("attempt_base", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("remote_id", sa.Text(), nullable=True))
        batch_op.drop_constraint("uq_delivery", type_="unique")
        batch_op.create_unique_constraint("uq_delivery", ["version_id", "target", "event"])
        batch_op.create_index("ix_deliveries_due", ["target", "status", "next_attempt_at"], unique=False)
    with op.batch_alter_table("delivery_attempts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("response_excerpt", sa.Text(), nullable=True))
    op.create_table(
        "publish_targets",
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("paused", sa.Boolean(), nullable=False),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("failing_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_success_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_table(
        "routing_decisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("target", sa.String(length=128), nullable=False),
        sa.Column("decision", sa.String(length=16), nullable=False),
        sa.Column("rule", sa.Text(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["version_id"], ["article_versions.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("version_id", "target", name="uq_routing_decision"),
    )
    op.create_index("ix_routing_decisions_version_id", "routing_decisions", ["version_id"], unique=False)
    op.create_table(
        "publish_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("article_id", sa.String(length=36), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("actor", sa.String(length=160), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_publish_events_article_id", "publish_events", ["article_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_publish_events_article_id", table_name="publish_events")
    op.drop_table("publish_events")
    op.drop_index("ix_routing_decisions_version_id", table_name="routing_decisions")
    op.drop_table("routing_decisions")
    op.drop_table("publish_targets")
    with op.batch_alter_table("delivery_attempts", schema=None) as batch_op:
        batch_op.drop_column("response_excerpt")
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_deliveries_due")
        batch_op.drop_constraint("uq_delivery", type_="unique")
        batch_op.create_unique_constraint("uq_delivery", ["version_id", "target"])
        batch_op.drop_column("remote_id")
        batch_op.drop_column("attempt_base")
        batch_op.drop_column("claimed_by")
        batch_op.drop_column("event")
