"""Fixtures of the API tests: the app in this process (FastAPI's TestClient) on the session's Redis and database,
targets configured with credentials (to prove they never leave), tokens of both roles."""

from __future__ import annotations

import base64
import uuid
from typing import Any, Iterator

import pytest
import yaml

from tests.console.conftest import bearer, console_env, tokens  # noqa: F401  (shared session fixtures)

WEBHOOK_SECRET = "whsec_" + base64.b64encode(b"api-test-webhook-secret-0123456789").decode()
WORDPRESS_PASSWORD = "zq7P Lm2x Rt9v Kw4b Yh3n"
HEADER_TOKEN = "hdr-cred-3f9a1c77e2b04d5f"
PUSH_TOKEN = "push-token-8e1b2d6c4a"
SECRETS = (WEBHOOK_SECRET, WEBHOOK_SECRET[len("whsec_"):], WORDPRESS_PASSWORD, HEADER_TOKEN, PUSH_TOKEN,
           base64.b64encode(f"newswire:{WORDPRESS_PASSWORD}".encode()).decode())


@pytest.fixture(scope="module")
def api_env(console_env, tmp_path_factory) -> Iterator[dict[str, Any]]:  # noqa: ANN001, F811
    from newswire.embedded import override_environment
    from services.publish.targets import configured_targets
    from shared import redact

    folder = tmp_path_factory.mktemp("api")
    targets_file = folder / "targets.yaml"
    targets_file.write_text(yaml.safe_dump({"targets": [
        {"name": "api-hook", "url": "http://127.0.0.1:9/hook", "secrets": [WEBHOOK_SECRET],
         "headers": {"Authorization": f"Bearer {HEADER_TOKEN}", "X-Tenant": "newsroom"}},
        {"name": "api-wp", "kind": "wordpress", "site": "http://127.0.0.1:9/wp", "username": "newswire",
         "password": WORDPRESS_PASSWORD},
    ]}))
    values = {"NEWSWIRE_TARGETS_FILE": str(targets_file), "NEWSWIRE_INGEST_PUSH_TOKEN": PUSH_TOKEN,
              "NEWSWIRE_DATA_DIR": str(folder), "NEWSWIRE_WEBHOOK_URL": None, "NEWSWIRE_WEBHOOK_SECRET": None}
    with override_environment(values):
        configured_targets.cache_clear()
        redact.reset()
        try:
            yield {**console_env, **values}
        finally:
            configured_targets.cache_clear()
            redact.reset()


@pytest.fixture(scope="module")
def client(api_env):  # noqa: ANN001, ANN201
    from fastapi.testclient import TestClient

    from services.api.app import app

    with TestClient(app, follow_redirects=False) as test_client:
        yield test_client


__all__ = ["bearer", "SECRETS"]


@pytest.fixture(scope="module")
def fresh_database(api_env, tmp_path_factory) -> Iterator[str]:  # noqa: ANN001
    """A database of its own (SQLite, or a new PostgreSQL database when the session runs on PostgreSQL), migrated,
    in use by this process while the fixture lasts: for tests that act on everything they find (the fuzz)."""
    import os

    from newswire.embedded import override_environment
    from shared.store import upgrade_schema

    given = os.environ.get("TEST_DATABASE_URL")
    name = f"newswire_fuzz_{uuid.uuid4().hex[:10]}"
    if given:
        import psycopg

        admin = given.replace("postgresql+psycopg://", "postgresql://")
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        url = f"{admin.rpartition('/')[0]}/{name}"
    else:
        url = f"sqlite:///{tmp_path_factory.mktemp('fuzz') / 'newswire.db'}"
    upgrade_schema(url)
    try:
        with override_environment({"DATABASE_URL": url}):
            yield url
    finally:
        if given:
            with psycopg.connect(admin, autocommit=True) as connection:
                connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
