"""Near-duplicates through real workers: another source's copy of a known story is recorded and linked to the
story, not published as a new one (unless NEWSWIRE_CLEAN_PUBLISH_NEAR_DUPLICATES is on); the same URL with changed
text is a new version with a summary of what changed."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Iterator
from urllib.parse import urlsplit

import pytest

from conftest import PIPELINE_ENV, WEBHOOK_SECRET, wait_until

pytestmark = pytest.mark.pipeline

PARAGRAPHS = [
    "The harbour board approved on Tuesday a plan to rebuild the old ferry terminal, after a debate that ran late "
    "into the evening and ended with a vote of seven to two.",
    "Under the plan the terminal will close for eighteen months from next spring, and the ferries will use a "
    "temporary pier at the north end of the quay while the work goes on.",
    "The board put the cost at about 140 million, to be shared between the port, the city and a regional fund "
    "that has already set aside the first instalment.",
    "Residents who spoke at the meeting were divided: traders on the quay welcomed the plan, while people living "
    "near the temporary pier worried about noise and traffic in the narrow streets.",
    "The first contracts are to be signed in the autumn, the board said, with the demolition of the old waiting "
    "hall planned for the weeks after the summer season ends.",
    "A public exhibition of the designs opens next week in the library, and comments can be sent to the board "
    "until the end of the month.",
]


def _page(site_name: str, title: str, paragraphs: list[str]) -> str:
    body = "".join(f"<p>{text}</p>" for text in paragraphs)
    return (f"<html><head><title>{title} - {site_name}</title><meta property='og:site_name' content='{site_name}'>"
            f"</head><body><nav><a href='/'>{site_name} home</a> <a href='/world'>World</a></nav>"
            f"<article><h1>{title}</h1>{body}</article><footer>© {site_name}</footer></body></html>")


def _feed(site, token: str, name: str, link: str) -> str:  # noqa: ANN001
    rss = (f'<?xml version="1.0"?><rss version="2.0"><channel><title>{name}</title>'
           f"<item><title>Ferry terminal</title><link>{link}</link><guid>{link}</guid></item></channel></rss>")
    return site.add(f"/{token}/{name.replace(' ', '-').lower()}/feed.xml", rss,
                    headers={"Content-Type": "application/rss+xml"})


def _source_fetches(pipeline, feed_url: str) -> int:  # noqa: ANN001
    """A feed source added and fetched over the API, as an operator would: its entries are ingested with its id."""
    response = pipeline.client.post(f"{pipeline.api_url}/sources", json={"url": feed_url, "kind": "feed"})
    assert response.status_code == 201, response.text
    source_id = response.json()["id"]
    response = pipeline.client.post(f"{pipeline.api_url}/sources/{source_id}/fetch")
    assert response.status_code < 300, response.text
    return source_id


def _version(pipeline, article_id: str, number: int, status: str) -> dict:  # noqa: ANN001
    def check() -> dict | None:
        response = pipeline.client.get(f"{pipeline.api_url}/articles/{article_id}")
        if response.status_code != 200:
            return None
        article = response.json()
        found = [v for v in article["versions"] if v["version"] == number and v["status"] == status]
        return article if found else None

    return wait_until(check, timeout=60, message=f"article {article_id} v{number} {status}")


def _two_sources(pipeline, site, title: str) -> tuple[str, str, str, int, int]:  # noqa: ANN001
    """The story on a first source's site, published; the same story on a second source's site, fetched after."""
    from shared.payload import article_id_for

    token = uuid.uuid4().hex
    first_url = site.add(f"/{token}/harbour-times/ferry.html", _page("Harbour Times", title, PARAGRAPHS))
    first_source = _source_fetches(pipeline, _feed(site, token, "Harbour Times", first_url))
    first = article_id_for(first_url)
    _version(pipeline, first, 1, "published")
    copy = [*PARAGRAPHS, "Reporting by Jane Doe; editing by John Roe."]
    second_url = site.add(f"/{token}/coast-daily/2026/ferry-terminal.html", _page("Coast Daily", title, copy))
    second_source = _source_fetches(pipeline, _feed(site, token, "Coast Daily", second_url))
    return first, first_url, article_id_for(second_url), first_source, second_source


@pytest.fixture(scope="module")
def holding_pipeline(sink, tmp_path_factory) -> Iterator:  # noqa: ANN001
    """A pipeline with the default setting (near-duplicates held), its own Redis and its own SQLite database."""
    from newswire.embedded import EmbeddedPipeline, override_environment

    workdir: Path = tmp_path_factory.mktemp("near-duplicates")
    env = dict(PIPELINE_ENV, NEWSWIRE_CLEAN_PUBLISH_NEAR_DUPLICATES="false",  # the default, said explicitly
               NEWSWIRE_WEBHOOK_URL=sink.url, NEWSWIRE_WEBHOOK_SECRET=WEBHOOK_SECRET)
    running = EmbeddedPipeline(database_url=f"sqlite:///{workdir / 'newswire.db'}", env=env, workdir=workdir)
    try:
        running.start()
        with override_environment({"REDIS_URL": running.redis_url, "DATABASE_URL": running.database_url,
                                   "NEWSWIRE_DATA_DIR": str(workdir)}):
            yield running
    finally:
        running.stop()


def test_a_near_duplicate_from_another_source_is_linked_not_published(holding_pipeline, site, sink) -> None:  # noqa: ANN001
    from services.publish.explain import explain
    from shared.store import Delivery, session_scope
    from shared.store.models import ArticleVersion, DeadLetter

    pipeline = holding_pipeline
    first, first_url, second, first_source, second_source = _two_sources(
        pipeline, site, "Harbour board backs new ferry terminal")
    wait_until(lambda: sink.for_article(first), timeout=30, message="the story delivered")

    held = _version(pipeline, second, 1, "near_duplicate")
    assert held["source_id"] == second_source and held["near_duplicate_of"] == first
    assert held["cluster_id"] == first and held["story"]["cluster_id"] == first
    assert [s["article_id"] for s in held["story"]["sources"]] == [first]
    version = held["versions"][0]
    assert version["near_duplicate_of"] == first and version["cluster_id"] == first
    assert [(step["stage"], step["outcome"]) for step in version["trace"]] == [("ingest", "ok"),
                                                                               ("clean", "near_duplicate")]
    # The known story lists the other source's page among its sources.
    story = pipeline.client.get(f"{pipeline.api_url}/articles/{first}").json()
    assert story["source_id"] == first_source and story["near_duplicate_of"] is None
    assert [(s["article_id"], s["source_id"]) for s in story["story"]["sources"]] == [(second, second_source)]

    # Never handed to enrich or publish: no routing, no delivery, no webhook; and not a failure either.
    with session_scope() as session:
        row = session.query(ArticleVersion).filter_by(article_id=second).one()
        assert row.enrich is None and row.published_at is None
        assert session.query(Delivery).filter_by(version_id=row.id).count() == 0
        assert session.query(DeadLetter).filter_by(article_id=second).count() == 0
    assert sink.for_article(second) == []
    assert "not published as a new story" in explain(second)["versions"][0]["held"]
    wait_until(lambda: 'kind="near_duplicate"' in pipeline.client.get(f"{pipeline.api_url}/metrics").text,
               timeout=20, message="newswire_articles_total{kind=near_duplicate} counted")
    page = pipeline.client.get(f"{pipeline.api_url}/console/stories/{second}")
    assert page.status_code == 200 and "Near duplicate of" in page.text and first in page.text

    # The same URL with changed text: a new version of the known story, with what changed, sent as an update.
    changed = [PARAGRAPHS[0], PARAGRAPHS[1].replace("eighteen months", "two years"), *PARAGRAPHS[2:],
               "The board will meet again in March to choose the builder."]
    site.add(urlsplit(first_url).path, _page("Harbour Times", "Harbour board backs new ferry terminal", changed))
    response = pipeline.client.post(f"{pipeline.api_url}/ingest", json={"url": first_url})
    assert response.status_code == 202, response.text
    updated = _version(pipeline, first, 2, "published")
    latest = [v for v in updated["versions"] if v["version"] == 2][0]
    assert latest["changes"] == "1 paragraph added; 1 paragraph edited"
    wait_until(lambda: [d for d in sink.for_article(first) if json.loads(d.body)["version"] == 2], timeout=30,
               message="the update delivered")


def test_with_the_setting_a_near_duplicate_is_published_with_its_link(pipeline, site, sink) -> None:  # noqa: ANN001
    """The session's pipeline runs with NEWSWIRE_CLEAN_PUBLISH_NEAR_DUPLICATES=true (tests/conftest.py)."""
    first, _url, second, _first_source, second_source = _two_sources(
        pipeline, site, "Harbour board backs new ferry terminal (" + uuid.uuid4().hex[:6] + ")")
    published = _version(pipeline, second, 1, "published")
    assert published["source_id"] == second_source and published["near_duplicate_of"] == first
    delivered = wait_until(lambda: sink.for_article(second), timeout=30, message="the near-duplicate delivered")
    document = json.loads(delivered[0].body)
    assert document["near_duplicate_of"] == first and document["cluster_id"] == first
