"""End to end through real workers: the sample page in, one signed delivery and the feeds out."""

from __future__ import annotations

import json
import uuid

import httpx
import pytest
from standardwebhooks.webhooks import Webhook

from conftest import WEBHOOK_SECRET, wait_until

pytestmark = pytest.mark.pipeline


def _submit(pipeline, url: str) -> dict:  # noqa: ANN001
    response = pipeline.client.post(pipeline.api_url + "/ingest", json={"url": url}, timeout=10)
    assert response.status_code == 202, response.text
    return response.json()


def _published(pipeline, article_id: str, version: int = 1) -> dict:  # noqa: ANN001
    def check() -> dict | None:
        response = pipeline.client.get(f"{pipeline.api_url}/articles/{article_id}", timeout=10)
        if response.status_code != 200:
            return None
        article = response.json()
        versions = [v for v in article["versions"] if v["version"] == version and v["status"] == "published"]
        return article if versions else None

    return wait_until(check, timeout=40, message=f"article {article_id} v{version} published")


def test_sample_page_published_with_one_signed_delivery(pipeline, site, sink, sample) -> None:  # noqa: ANN001
    raw, truth = sample
    url = site.add(f"/news/{uuid.uuid4().hex}/1077.html", raw)
    accepted = _submit(pipeline, url)
    article = _published(pipeline, accepted["id"])
    version = article["versions"][0]

    paragraphs = truth["body"].split("\n")
    assert version["title"] == truth["title"]
    assert paragraphs[0] in version["text"]
    assert paragraphs[-1] in version["text"]
    for boilerplate in truth["must_not_contain"]:
        assert boilerplate not in version["text"]
        assert boilerplate not in version["html"]
    assert version["language"] == "zh"
    assert version["keywords"]
    assert [step["stage"] for step in version["trace"]] == ["ingest", "clean", "enrich", "publish"]

    deliveries = wait_until(lambda: sink.for_article(accepted["id"]), timeout=20, message="webhook delivery")
    wait_until(lambda: pipeline.client.get(f"{pipeline.api_url}/articles/{accepted['id']}").json()["versions"][0]
               ["deliveries"][0]["status"] == "delivered", timeout=20, message="delivery recorded")
    assert len(sink.for_article(accepted["id"])) == 1
    received = deliveries[0]
    verified = Webhook(WEBHOOK_SECRET).verify(received.body, received.headers)
    assert verified["id"] == accepted["id"]
    assert verified["version"] == 1
    assert verified["title"] == truth["title"]
    for key in ("id", "version", "url", "title", "text", "html", "authors", "published", "language", "keywords"):
        assert key in verified
    assert received.headers["webhook-id"].startswith("msg_")

    # The same body with one byte changed must not verify: the signature is real.
    with pytest.raises(Exception):
        Webhook(WEBHOOK_SECRET).verify(received.body.replace(b"}", b" }", 1), received.headers)


def test_feeds_carry_published_articles_with_stable_ids(pipeline, site, sample) -> None:  # noqa: ANN001
    raw, truth = sample
    path = f"/feeds-case/{uuid.uuid4().hex}.html"
    url = site.add(path, raw)
    accepted = _submit(pipeline, url)
    _published(pipeline, accepted["id"])

    feed = httpx.get(pipeline.api_url + "/feeds/all.json", timeout=10)
    assert feed.status_code == 200
    assert feed.headers["content-type"].startswith("application/feed+json")
    items = {item["id"]: item for item in feed.json()["items"]}
    assert feed.json()["version"] == "https://jsonfeed.org/version/1.1"
    item = items[f"urn:uuid:{accepted['id']}"]
    assert item["title"] == truth["title"]

    again = httpx.get(pipeline.api_url + "/feeds/all.json", headers={"If-None-Match": feed.headers["etag"]})
    assert again.status_code == 304

    atom = httpx.get(pipeline.api_url + "/feeds/all.atom", timeout=10)
    assert atom.status_code == 200
    from xml.etree import ElementTree as ET

    root = ET.fromstring(atom.content)
    ns = {"a": "http://www.w3.org/2005/Atom"}
    ids = [entry.findtext("a:id", namespaces=ns) for entry in root.findall("a:entry", ns)]
    assert f"urn:uuid:{accepted['id']}" in ids

    # A new version keeps the same id in the feeds.
    site.add(path, raw.replace("截至目前".encode(), "截至今天".encode()))
    _submit(pipeline, url)
    _published(pipeline, accepted["id"], version=2)
    items = {item["id"]: item for item in httpx.get(pipeline.api_url + "/feeds/all.json").json()["items"]}
    assert items[f"urn:uuid:{accepted['id']}"]["_newswire"]["version"] == 2


def test_same_url_twice_is_one_article_and_one_delivery_then_new_content_is_version_two(
    pipeline, site, sink, sample  # noqa: ANN001
) -> None:
    raw, _truth = sample
    path = f"/twice/{uuid.uuid4().hex}.html"
    url = site.add(path, raw)
    first = _submit(pipeline, url)
    _published(pipeline, first["id"])
    wait_until(lambda: sink.for_article(first["id"]), timeout=20)

    second = _submit(pipeline, url)
    assert second["id"] == first["id"]
    from shared.jobs import get_fetch_state

    state = wait_until(lambda: get_fetch_state(second["fetch_id"]), timeout=30, message="second fetch handled")
    assert state["state"] == "duplicate"
    article = pipeline.client.get(f"{pipeline.api_url}/articles/{first['id']}").json()
    assert article["latest_version"] == 1
    assert article["duplicates"] == 1
    assert len(article["versions"]) == 1
    assert len(sink.for_article(first["id"])) == 1

    site.add(path, raw.replace("截至目前".encode(), "截至本周".encode()))
    third = _submit(pipeline, url)
    article = _published(pipeline, third["id"], version=2)
    assert article["latest_version"] == 2
    wait_until(lambda: len(sink.for_article(first["id"])) == 2, timeout=20, message="second delivery")
    bodies = [json.loads(item.body) for item in sink.for_article(first["id"])]
    assert sorted(body["version"] for body in bodies) == [1, 2]
    assert {body["type"] for body in bodies} == {"article.published", "article.updated"}
    keys = {item.headers["webhook-id"] for item in sink.for_article(first["id"])}
    assert len(keys) == 2


def test_feed_url_makes_an_article_of_every_entry(pipeline, site, sample) -> None:  # noqa: ANN001
    raw, truth = sample
    token = uuid.uuid4().hex
    links = []
    for n in range(3):
        page = raw.replace(truth["title"].encode(), f"{truth['title']} {n}".encode())
        links.append(site.add(f"/rss-{token}/story-{n}.html", page.replace("截至目前".encode(), f"截至{n}".encode())))
    items = "".join(
        f"<item><title>Story {n}</title><link>{link}</link><guid>{link}</guid></item>" for n, link in enumerate(links)
    )
    rss = f'<?xml version="1.0"?><rss version="2.0"><channel><title>Test feed</title>{items}</channel></rss>'
    feed_url = site.add(f"/rss-{token}/feed.xml", rss, headers={"Content-Type": "application/rss+xml"})
    _submit(pipeline, feed_url)
    from shared.payload import article_id_for

    for n, link in enumerate(links):
        article = _published(pipeline, article_id_for(link))
        assert article["versions"][0]["title"] == f"{truth['title']} {n}"


def test_posted_html_is_published(pipeline, sample) -> None:  # noqa: ANN001
    raw, truth = sample
    url = f"https://push.example.test/{uuid.uuid4().hex}.html"
    response = pipeline.client.post(pipeline.api_url + "/ingest", json={"url": url, "html": raw.decode("utf-8")}, timeout=10)
    assert response.status_code == 202
    article = _published(pipeline, response.json()["id"])
    assert article["versions"][0]["title"] == truth["title"]


def test_webhook_retried_until_the_receiver_accepts(pipeline, site, sink, sample) -> None:  # noqa: ANN001
    raw, _truth = sample
    from shared.payload import article_id_for

    url = site.add(f"/retry/{uuid.uuid4().hex}.html", raw)
    sink.fail_next(article_id_for(url), 2, status=503)
    accepted = _submit(pipeline, url)

    def delivered() -> dict | None:
        article = pipeline.client.get(f"{pipeline.api_url}/articles/{accepted['id']}").json()
        deliveries = article.get("versions", [{}])[0].get("deliveries", []) if article.get("versions") else []
        return deliveries[0] if deliveries and deliveries[0]["status"] == "delivered" else None

    delivery = wait_until(delivered, timeout=40, message="delivery after retries")
    assert delivery["attempts"] == 3
    assert [a["status_code"] for a in delivery["attempt_log"]] == [503, 503, 204]
    assert "503" in delivery["attempt_log"][0]["error"] and delivery["attempt_log"][2]["error"] is None
    received = sink.for_article(accepted["id"])
    assert [item.status for item in received] == [503, 503, 204]
    assert len({item.headers["webhook-id"] for item in received}) == 1  # one key across attempts
