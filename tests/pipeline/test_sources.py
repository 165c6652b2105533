"""The scheduler's source poll: due sources are fetched, their entries ingested, their health recorded."""

from __future__ import annotations

import uuid

import httpx
import pytest

from conftest import wait_until

pytestmark = pytest.mark.pipeline


def test_polling_due_sources_ingests_entries_and_records_health(pipeline, site, sample) -> None:  # noqa: ANN001
    from shared.celery_app import app as celery
    from shared.payload import article_id_for, utcnow
    from shared.store import Source, session_scope

    raw, truth = sample
    token = uuid.uuid4().hex
    link = site.add(f"/src-{token}/story.html", raw)
    rss = (f'<?xml version="1.0"?><rss version="2.0"><channel><title>Source {token}</title>'
           f"<item><title>Story</title><link>{link}</link></item></channel></rss>")
    good_url = site.add(f"/src-{token}/feed.xml", rss, headers={"Content-Type": "application/rss+xml"})
    broken_url = site.url(f"/src-{token}/gone.xml")
    with session_scope() as session:
        good = Source(kind="feed", url=good_url, interval_seconds=600)
        broken = Source(kind="feed", url=broken_url, interval_seconds=600)
        session.add_all([good, broken])
        session.flush()
        good_id, broken_id = good.id, broken.id

    celery.send_task("ingest.poll_sources", queue="ingest")

    def published() -> bool:
        response = pipeline.client.get(f"{pipeline.api_url}/articles/{article_id_for(link)}")
        return response.status_code == 200 and response.json()["versions"][0]["status"] == "published"

    wait_until(published, timeout=40, message="the source's entry published")

    def health(source_id: int) -> Source | None:
        with session_scope() as session:
            source = session.get(Source, source_id)
            return source if source.last_fetched_at is not None else None

    healthy = wait_until(lambda: health(good_id), timeout=20, message="good source recorded")
    assert healthy.error_streak == 0 and healthy.last_error is None
    assert healthy.title == f"Source {token}"
    assert healthy.next_fetch_at > utcnow()

    failing = wait_until(lambda: health(broken_id), timeout=20, message="broken source recorded")
    assert failing.error_streak == 1
    assert "404" in failing.last_error
    assert (failing.next_fetch_at - failing.last_fetched_at).total_seconds() > 600  # backed off past its interval

