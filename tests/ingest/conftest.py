"""Fixtures of the ingest tests: the session's Redis and store in this process, a feed server, fresh settings."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Iterator

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from feedserver import FeedServer  # noqa: E402


@pytest.fixture(scope="session")
def ingest_env(redis_url, database_url) -> Iterator[dict[str, str]]:  # noqa: ANN001
    """This process uses the session's Redis and database, with the fixture servers' address allowed."""
    from newswire.embedded import override_environment
    from shared.store import upgrade_schema

    upgrade_schema(database_url)
    values = {"REDIS_URL": redis_url, "DATABASE_URL": database_url, "NEWSWIRE_ALLOW_PRIVATE_NETWORKS": "127.0.0.1/32",
              "NEWSWIRE_HTTP_READ_TIMEOUT": "3", "NEWSWIRE_HTTP_TOTAL_TIMEOUT": "6",
              "NEWSWIRE_INGEST_HOST_RATE": "0", "NEWSWIRE_INGEST_HOST_CONCURRENCY": "16"}
    with override_environment(values):
        yield values


@pytest.fixture(scope="session")
def feeds() -> Iterator[FeedServer]:
    server = FeedServer()
    yield server
    server.close()
