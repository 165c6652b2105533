"""The migrations build exactly the schema the models describe: a column, index or constraint added to one and
not the other shows here, before it shows as a failed deploy."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from shared.store.db import upgrade_schema
from shared.store.models import Base


def test_migrated_schema_matches_the_models(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'schema.db'}"
    upgrade_schema(url)
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": False})
            diff = compare_metadata(context, Base.metadata)
    finally:
        engine.dispose()
    assert diff == [], f"models and migrations disagree: {diff}"


def test_the_finished_jobs_prune_has_its_index(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'schema.db'}"
    upgrade_schema(url)
    engine = sa.create_engine(url)
    try:
        indexes = {index["name"]: index["column_names"] for index in sa.inspect(engine).get_indexes("jobs")}
    finally:
        engine.dispose()
    assert indexes.get("ix_jobs_finished") == ["finished_at"]
