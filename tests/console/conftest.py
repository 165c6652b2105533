"""Fixtures of the console tests: the store and Redis of the session in this process, tokens, helpers."""

from __future__ import annotations

import contextlib
import uuid
from typing import Iterator

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


def submit(pipeline, url: str) -> dict:  # noqa: ANN001
    """POST /ingest with the pipeline's operator token."""
    response = pipeline.client.post(pipeline.api_url + "/ingest", json={"url": url}, timeout=10)
    assert response.status_code == 202, response.text
    return response.json()


def published(pipeline, article_id: str, timeout: float = 60) -> dict:  # noqa: ANN001
    def check() -> dict | None:
        response = pipeline.client.get(f"{pipeline.api_url}/articles/{article_id}", timeout=10)
        if response.status_code != 200:
            return None
        article = response.json()
        return article if any(v["status"] == "published" for v in article["versions"]) else None

    return wait_until(check, timeout=timeout, message=f"article {article_id} published")


def unique_page(site, raw: bytes, prefix: str = "console") -> str:  # noqa: ANN001
    """The sample page at a new URL (so a new article)."""
    return site.add(f"/{prefix}/{uuid.uuid4().hex}.html", raw)


@contextlib.contextmanager
def paused_consumer(queue: str) -> Iterator[list[str]]:
    """Stop the workers of ``queue`` taking messages (Celery's cancel_consumer), and start them again after."""
    from shared.celery_app import make_app

    celery = make_app()  # bound to this test's broker, whenever shared.celery_app was first imported
    replies = celery.control.cancel_consumer(queue, reply=True, timeout=5)
    hosts = [host for reply in replies for host in reply if host.startswith(f"{queue}@")]
    assert hosts, f"no worker of {queue} answered: {replies}"
    try:
        yield hosts
    finally:
        celery.control.add_consumer(queue, destination=hosts, reply=True, timeout=5)


def article_html(title: str, paragraphs: list[str]) -> bytes:
    """A plain news page with enough text for extraction."""
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    return (f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{title}</title></head><body>"
            f"<nav><a href='/'>Home</a> <a href='/world'>World</a></nav><article><h1>{title}</h1>"
            f"<p class='byline'>By Ada Reporter</p>{body}</article><footer>Copyright Example News</footer>"
            f"</body></html>").encode()


def story_paragraphs(topic: str, version: int = 1) -> list[str]:
    return [
        f"The city council of {topic} approved the new transport plan on Tuesday after a long debate that lasted "
        f"well into the evening, officials said in a statement published after the vote.",
        f"Under the plan, {topic} will add three new bus lines and extend the tram network by twelve kilometres "
        f"over the next five years, at a cost the council put at about 400 million euros.",
        f"Residents who spoke at the meeting were divided: some welcomed faster connections to the suburbs, while "
        f"others worried about construction noise and rising rents near the new stations (revision {version}).",
    ]
