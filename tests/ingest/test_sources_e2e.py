"""End to end through real workers and the CLI: `newswire sources add URL` prints the id, `sources fetch ID --wait`
returns when the entries went through, `sources show ID --json` gives health, GET /sources/{id}/articles lists them;
the REST API and WebSub (handshake, signed push, forged and replayed pushes) too."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import subprocess
import sys
import uuid
from urllib.parse import parse_qs

import httpx
import pytest

from conftest import wait_until

pytestmark = pytest.mark.pipeline

FEED = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel><title>E2E {token}</title>
<link>http://example.com/</link><description>d</description>{items}</channel></rss>"""
ITEM = """<item><title>{title}</title><link>{link}</link><guid>{link}</guid><pubDate>{date}</pubDate>
<content:encoded><![CDATA[{body}]]></content:encoded></item>"""
BODY = "".join(f"<p>Paragraph {n} of a story long enough for the clean stage to find it an article. "
               f"It speaks of a city, its people and a council meeting held on a Friday evening.</p>" for n in range(6))


def _items(token: str, count: int, host: str) -> str:
    return "".join(ITEM.format(title=f"Story {n} {token}", link=f"{host}/{token}/story-{n}.html",
                               date=f"Fri, 27 Nov 2026 0{n}:00:00 +0000", body=BODY) for n in range(count))


def _cli(pipeline, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:  # noqa: ANN001
    env = {**os.environ, "REDIS_URL": os.environ["REDIS_URL"], "DATABASE_URL": os.environ["DATABASE_URL"],
           "NEWSWIRE_ALLOW_PRIVATE_NETWORKS": "127.0.0.1/32"}
    return subprocess.run([sys.executable, "-m", "newswire.cli", "sources", *args], capture_output=True, text=True,
                          env=env, timeout=timeout)


def test_cli_add_fetch_wait_show_and_articles(pipeline, feeds) -> None:  # noqa: ANN001
    token = uuid.uuid4().hex[:10]
    url = feeds.add(f"/{token}/feed.xml", FEED.format(token=token, items=_items(token, 3, "http://news.example.com")))
    added = _cli(pipeline, "add", url, "--option", "full_text=never")
    assert added.returncode == 0, added.stderr
    source_id = int(added.stdout.strip())

    fetched = _cli(pipeline, "fetch", str(source_id), "--wait", "--timeout", "90")
    assert fetched.returncode == 0, fetched.stderr + fetched.stdout
    report = json.loads(fetched.stdout)
    assert report["new"] == 3 and report["items"] == {"published": 3}, report

    shown = json.loads(_cli(pipeline, "show", str(source_id), "--json").stdout)
    assert shown["health"] == "ok" and shown["items_new"] == 3 and shown["error_streak"] == 0
    assert shown["last_fetch"] and shown["next_poll"] and shown["bytes"] > 0 and shown["title"] == f"E2E {token}"

    listed = pipeline.client.get(f"{pipeline.api_url}/sources/{source_id}/articles").json()["items"]
    assert sorted(row["title"] for row in listed) == [f"Story {n} {token}" for n in range(3)]
    first = next(row for row in listed if row["title"] == f"Story 0 {token}")
    assert first["url"] == f"http://news.example.com/{token}/story-0.html"
    assert first["published"] == "2026-11-27T00:00:00Z"
    article = pipeline.client.get(f"{pipeline.api_url}/articles/{first['id']}").json()
    assert article["source_id"] == source_id and article["versions"][0]["title"] == f"Story 0 {token}"

    again = json.loads(_cli(pipeline, "fetch", str(source_id), "--wait", "--timeout", "60").stdout)
    assert again["poll"] == "not_modified" and again.get("new") == 0  # conditional GET: nothing went on

    listing = json.loads(_cli(pipeline, "list", "--json").stdout)
    assert any(row["id"] == source_id for row in listing["items"])
    assert "paused" in _cli(pipeline, "pause", str(source_id)).stdout
    exported = _cli(pipeline, "export").stdout
    assert url.replace("&", "&amp;") in exported and 'newswire:kind="feed"' in exported
    assert "removed" in _cli(pipeline, "remove", str(source_id)).stdout
    imported = subprocess.run([sys.executable, "-m", "newswire.cli", "sources", "import", "-"], input=exported,
                              capture_output=True, text=True, env=os.environ.copy(), timeout=60)
    assert imported.returncode == 0, imported.stderr
    assert len(json.loads(imported.stdout)["added"]) >= 1


def test_rest_needs_an_operator_token_to_change_sources(pipeline, feeds) -> None:  # noqa: ANN001
    from services.api.console.access import create_token

    operator = create_token("operator", "ingest test")[0]
    viewer = create_token("read-only", "ingest viewer")[0]
    url = feeds.add(f"/{uuid.uuid4().hex[:8]}/rest.xml", FEED.format(token="rest", items=""))
    api = pipeline.api_url
    assert httpx.post(f"{api}/sources", json={"url": url}).status_code == 401
    assert httpx.post(f"{api}/sources", json={"url": url},
                      headers={"Authorization": f"Bearer {viewer}"}).status_code == 403
    created = httpx.post(f"{api}/sources", json={"url": url, "interval": 600, "options": {"host_rate": 1}},
                         headers={"Authorization": f"Bearer {operator}"})
    assert created.status_code == 201, created.text
    source = created.json()
    assert source["interval_seconds"] == 600 and source["options"] == {"host_rate": 1}
    assert httpx.get(f"{api}/sources/{source['id']}").status_code == 401
    assert httpx.get(f"{api}/sources/{source['id']}",
                     headers={"Authorization": f"Bearer {viewer}"}).json()["url"] == url
    auth = {"Authorization": f"Bearer {operator}"}
    assert httpx.post(f"{api}/sources", json={"url": url}, headers=auth).status_code == 409
    assert httpx.post(f"{api}/sources/{source['id']}/pause", headers=auth).json()["status"] == "paused"
    assert httpx.post(f"{api}/sources/{source['id']}/resume", headers=auth).json()["status"] == "active"
    assert httpx.delete(f"{api}/sources/{source['id']}", headers=auth).status_code == 200
    assert httpx.get(f"{api}/sources/{source['id']}", headers=auth).status_code == 404


def test_websub_handshake_signed_push_forgery_and_replay(pipeline, feeds) -> None:  # noqa: ANN001
    """A local hub: we subscribe when the feed names it, answer its intent check, take a signed push, refuse a
    forged one and a replay."""
    from services.ingest import sources
    from services.ingest.poll import poll_source

    token = uuid.uuid4().hex[:10]
    hub_path = f"/{token}/hub"
    hub_url = feeds.url(hub_path)
    subscriptions: dict[str, str] = {}

    def hub(path: str, headers: dict, body: bytes) -> tuple[int, bytes]:
        if path != hub_path:
            return 404, b""
        form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
        subscriptions.update(form)
        return 202, b""

    feeds.on_post = hub
    feed_url = feeds.url(f"/{token}/websub.xml")
    hub_link = f'<atom:link xmlns:atom="http://www.w3.org/2005/Atom" rel="hub" href="{hub_url}"/>'
    feeds.add(f"/{token}/websub.xml", FEED.format(token=token, items=hub_link))
    from newswire.embedded import override_environment

    with override_environment({"NEWSWIRE_INGEST_WEBSUB_CALLBACK": pipeline.api_url,
                               "NEWSWIRE_ALLOW_PRIVATE_NETWORKS": "127.0.0.1/32"}):
        source_id = sources.add(feed_url, options={"full_text": "never"})["id"]
        outcome = poll_source(source_id)
    assert outcome.status == "ok", outcome
    assert subscriptions["hub.mode"] == "subscribe" and subscriptions["hub.topic"] == feed_url
    callback, secret = subscriptions["hub.callback"], subscriptions["hub.secret"]
    assert callback == f"{pipeline.api_url}/websub/{source_id}"

    # The hub's intent check: a wrong topic is refused, the right one echoed.
    wrong = httpx.get(callback, params={"hub.mode": "subscribe", "hub.topic": "http://other/", "hub.challenge": "x"})
    assert wrong.status_code == 404
    check = httpx.get(callback, params={"hub.mode": "subscribe", "hub.topic": feed_url, "hub.challenge": "c-123",
                                        "hub.lease_seconds": "3600"})
    assert check.status_code == 200 and check.text == "c-123"
    shown = sources.show(source_id)["websub"]
    assert shown["state"] == "verified" and shown["lease_until"]

    pushed = FEED.format(token=token, items=_items(token, 1, "http://push.example.com")).encode()
    forged = httpx.post(callback, content=pushed, headers={"X-Hub-Signature": "sha256=" + "0" * 64,
                                                           "Content-Type": "application/rss+xml"})
    assert forged.status_code == 202 and forged.json()["accepted"] is False
    signature = "sha256=" + hmac.new(secret.encode(), pushed, hashlib.sha256).hexdigest()
    good = httpx.post(callback, content=pushed, headers={"X-Hub-Signature": signature,
                                                         "Content-Type": "application/rss+xml"})
    assert good.status_code == 202 and good.json()["status"] == "accepted"
    replay = httpx.post(callback, content=pushed, headers={"X-Hub-Signature": signature})
    assert replay.json()["accepted"] is False and "replayed" in replay.json()["reason"]

    def arrived() -> list:
        return pipeline.client.get(f"{pipeline.api_url}/sources/{source_id}/articles").json()["items"]

    items = wait_until(arrived, timeout=30, message="the pushed entry recorded")
    assert [row["title"] for row in items] == [f"Story 0 {token}"]
    article_id = items[0]["id"]
    wait_until(lambda: pipeline.client.get(f"{pipeline.api_url}/articles/{article_id}").status_code == 200, timeout=60,
               message="the pushed entry became an article")
