from __future__ import annotations

from typing import Iterator

import pytest


@pytest.fixture(scope="session", autouse=True)
def enrich_models() -> None:
    """Load the models once, as a worker does at start, so no enricher pays the load inside its budget."""
    from services.enrich.registry import load_models

    load_models()


@pytest.fixture(scope="session")
def enrich_database(tmp_path_factory) -> str:  # noqa: ANN001
    """A store of its own (SQLite, migrated) for the story clusters."""
    from shared.store.db import upgrade_schema

    url = f"sqlite:///{tmp_path_factory.mktemp('enrich-db') / 'newswire.db'}"
    upgrade_schema(url)
    return url


@pytest.fixture(autouse=True)
def enrich_store(enrich_database: str) -> Iterator[None]:
    from newswire.embedded import override_environment

    with override_environment({"DATABASE_URL": enrich_database}):
        yield
