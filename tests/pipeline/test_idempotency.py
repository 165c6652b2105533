"""Redelivered messages and refused deliveries: never published twice, never silently lost."""

from __future__ import annotations

import time
import uuid

import httpx
import pytest

from conftest import wait_until

pytestmark = pytest.mark.pipeline


def _published_and_delivered(pipeline, article_id: str) -> dict:  # noqa: ANN001
    def check() -> dict | None:
        response = pipeline.client.get(f"{pipeline.api_url}/articles/{article_id}")
        if response.status_code != 200:
            return None
        versions = response.json()["versions"]
        if versions and versions[-1]["deliveries"] and versions[-1]["deliveries"][0]["status"] in ("delivered", "failed"):
            return response.json()
        return None

    return wait_until(check, timeout=40, message=f"article {article_id} published and delivered")


def test_a_redelivered_clean_message_publishes_nothing_twice(pipeline, site, sink, sample) -> None:  # noqa: ANN001
    from sqlalchemy import select

    from shared.celery_app import app as celery
    from shared.payload import ArticlePayload
    from shared.store import ArticleVersion, session_scope

    raw, _truth = sample
    url = site.add(f"/redelivered/{uuid.uuid4().hex}.html", raw)
    accepted = pipeline.client.post(pipeline.api_url + "/ingest", json={"url": url}).json()
    article = _published_and_delivered(pipeline, accepted["id"])
    assert len(sink.for_article(accepted["id"])) == 1

    # The clean stage's message, exactly as ingest sent it (same fetch id), delivered twice more.
    with session_scope() as session:
        version = session.execute(select(ArticleVersion).where(ArticleVersion.article_id == accepted["id"])).scalar_one()
        payload = ArticlePayload.new(url, fetch_id=version.fetch_id)
        payload.raw_key = version.raw_key
    for _ in range(2):
        celery.send_task("clean.process", args=[payload.to_message()], queue="clean")

    # Both go through clean, enrich and publish again (at-least-once), and change nothing outside.
    time.sleep(3)
    after = pipeline.client.get(f"{pipeline.api_url}/articles/{accepted['id']}").json()
    assert after["latest_version"] == 1
    assert after["duplicates"] == article["duplicates"] == 0
    assert len(after["versions"][0]["deliveries"]) == 1
    assert after["versions"][0]["deliveries"][0]["attempts"] == 1
    assert len(sink.for_article(accepted["id"])) == 1


def test_a_refused_delivery_is_not_retried_and_ends_as_a_dead_letter(pipeline, site, sink, sample) -> None:  # noqa: ANN001
    from shared.payload import article_id_for

    raw, _truth = sample
    url = site.add(f"/refused/{uuid.uuid4().hex}.html", raw)
    sink.fail_next(article_id_for(url), 1, status=400)
    accepted = pipeline.client.post(pipeline.api_url + "/ingest", json={"url": url}).json()
    article = _published_and_delivered(pipeline, accepted["id"])
    delivery = article["versions"][0]["deliveries"][0]
    assert delivery["status"] == "failed"
    assert delivery["attempts"] == 1
    assert delivery["last_status_code"] == 400
    assert [item.status for item in sink.for_article(accepted["id"])] == [400]
    letters = pipeline.client.get(f"{pipeline.api_url}/dead-letters", params={"article_id": accepted["id"]}).json()["items"]
    assert len(letters) == 1
    assert letters[0]["stage"] == "publish" and "400" in letters[0]["error"]
    assert letters[0]["payload"]["target"] == "webhook"
