"""Through the real workers and the real API: a story published, retracted by an operator over the API, and
the retraction delivered by the publish worker's drain task (signed, with its own key)."""

from __future__ import annotations

import uuid

import httpx
import pytest
from standardwebhooks.webhooks import Webhook

from conftest import WEBHOOK_SECRET, wait_until

pytestmark = pytest.mark.pipeline


def test_operator_retraction_reaches_the_webhook_through_the_workers(pipeline, site, sink, sample) -> None:  # noqa: ANN001
    from services.api.console.access import create_token

    raw, _truth = sample
    url = site.add(f"/retract/{uuid.uuid4().hex}.html", raw)
    accepted = pipeline.client.post(pipeline.api_url + "/ingest", json={"url": url}, timeout=10).json()
    article_id = accepted["id"]
    wait_until(lambda: len(sink.for_article(article_id)) == 1, timeout=60, message="first delivery")
    operator = {"Authorization": f"Bearer {create_token('operator', 'retract test')[0]}"}
    response = pipeline.client.post(f"{pipeline.api_url}/articles/{article_id}/retract", json={"note": "legal request"},
                          headers=operator, timeout=10)
    assert response.status_code == 200, response.text
    assert response.json()["targets"] == ["webhook"]
    wait_until(lambda: len(sink.for_article(article_id)) == 2, timeout=30, message="retraction delivered")
    first, second = sink.for_article(article_id)
    body = Webhook(WEBHOOK_SECRET).verify(second.body, second.headers)
    assert body["type"] == "article.retracted" and body["lifecycle_note"] == "legal request"
    assert second.headers["webhook-id"] == first.headers["webhook-id"] + "_retract"

    def decision() -> dict:
        explained = pipeline.client.get(f"{pipeline.api_url}/articles/{article_id}/explain", timeout=10).json()
        [made] = explained["versions"][0]["targets"]
        return made

    # The receiver has the request before the worker records its answer: wait for the record.
    wait_until(lambda: {d["event"]: d["status"] for d in decision()["deliveries"]}.get("retract") == "delivered",
               timeout=30, message="retraction recorded as delivered")
    made = decision()
    assert made["target"] == "webhook" and made["decision"] == "send"
    assert {d["event"]: d["status"] for d in made["deliveries"]} == {"publish": "delivered", "retract": "delivered"}
    feed = httpx.get(f"{pipeline.api_url}/feeds/all.atom", timeout=10)
    assert f'ref="urn:uuid:{article_id}"'.encode() in feed.content
