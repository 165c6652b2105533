"""Fixtures of the console tests: the store and Redis of the session in this process, tokens, helpers."""

from __future__ import annotations

import uuid
from typing import Iterator

import httpx
import pytest

from conftest import wait_until


@pytest.fixture(scope="session")
def console_env(redis_url, database_url) -> Iterator[dict[str, str]]:  # noqa: ANN001
    """This process talks to the session's Redis and database (the same ones the pipeline fixture uses)."""
    from newswire.embedded import override_environment
    from shared.store import upgrade_schema

    upgrade_schema(database_url)
    values = {"REDIS_URL": redis_url, "DATABASE_URL": database_url}
    with override_environment(values):
        yield values


@pytest.fixture(scope="session")
def tokens(console_env) -> dict[str, str]:  # noqa: ANN001
    from services.api.console.access import create_token

    return {
        "operator": create_token("operator", "test operator")[0],
        "read-only": create_token("read-only", "test viewer")[0],
    }


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def submit(api_url: str, url: str) -> dict:
    response = httpx.post(api_url + "/ingest", json={"url": url}, timeout=10)
    assert response.status_code == 202, response.text
    return response.json()


def published(api_url: str, article_id: str, timeout: float = 60) -> dict:
    def check() -> dict | None:
        response = httpx.get(f"{api_url}/articles/{article_id}", timeout=10)
        if response.status_code != 200:
            return None
        article = response.json()
        return article if any(v["status"] == "published" for v in article["versions"]) else None

    return wait_until(check, timeout=timeout, message=f"article {article_id} published")


def unique_page(site, raw: bytes, prefix: str = "console") -> str:  # noqa: ANN001
    """The sample page at a new URL (so a new article)."""
    return site.add(f"/{prefix}/{uuid.uuid4().hex}.html", raw)
