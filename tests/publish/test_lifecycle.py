"""Updates, corrections and retractions reach every earlier recipient in every format: a webhook (json and
ninjs), a WordPress site (same post updated, then trashed), a directory of files, and a feed channel."""

from __future__ import annotations

import json

import feedparser
import pytest
from fastapi.testclient import TestClient
from standardwebhooks.webhooks import Webhook

from tests.publish.conftest import SECRET_A, drain_until_settled, make_article, unique, webhook
from tests.publish.wordpress_server import WordPress

pytestmark = pytest.mark.usefixtures("publish_env")


@pytest.fixture()
def wordpress():  # noqa: ANN201
    server = WordPress("newswire", "abcd efgh ijkl mnop")
    yield server
    server.close()


def test_update_correction_and_retraction_reach_every_earlier_recipient(receiver, wordpress, tmp_path) -> None:  # noqa: ANN001
    from services.publish import engine, lifecycle
    from services.publish.targets import FeedTarget, FilesTarget, WordPressTarget

    json_path, ninjs_path = f"/{unique('json')}", f"/{unique('ninjs')}"
    targets = {t.name: t for t in [
        webhook(unique("hook"), receiver.url(json_path)),
        webhook(unique("ninjs"), receiver.url(ninjs_path), format="ninjs"),
        WordPressTarget(name=unique("wp"), site=wordpress.site, username="newswire", password="abcd efgh ijkl mnop"),
        FilesTarget(name=unique("files"), directory=tmp_path, format="newsml"),
        FeedTarget(name=unique("feed")),
        # Rules keep this one out: it gets nothing, not even the retraction.
        webhook(unique("english"), receiver.url("/english"), rules=[{"language": ["en"]}]),
    ]}
    hook, ninjs, wp, files, feed, english = targets.values()

    def settle() -> None:
        for target in targets.values():
            drain_until_settled(target)

    article_id, v1 = make_article()
    engine.plan(v1, targets)
    settle()
    _, v2 = make_article(article_id=article_id, version=2, title="焦作市文明创建推进会（更新）")
    engine.plan(v2, targets)
    settle()
    corrected = lifecycle.correct(article_id, targets, note="the mayor's name was misspelt", actor="test")
    assert sorted(corrected.targets) == sorted(t.name for t in (hook, ninjs, wp, files, feed))
    settle()
    retracted = lifecycle.retract(article_id, targets, note="legal request", actor="test")
    assert sorted(retracted.targets) == sorted(corrected.targets)
    settle()

    # Webhook, json: published, updated, corrected, retracted; every message verifies, each with its own key.
    bodies = [(r.json(), r.headers) for r in receiver.at(json_path)]
    assert [(b["type"], b["version"]) for b, _ in bodies] == [
        ("article.published", 1), ("article.updated", 2), ("article.corrected", 2), ("article.retracted", 2)]
    for body, headers in bodies:
        Webhook(SECRET_A).verify(json.dumps(body, ensure_ascii=False, separators=(",", ":"), sort_keys=True),
                                 {k: headers[k] for k in ("webhook-id", "webhook-timestamp", "webhook-signature")})
    assert len({h["webhook-id"] for _, h in bodies}) == 4
    assert bodies[2][0]["lifecycle_note"] == "the mayor's name was misspelt"
    # Webhook, ninjs: versions and pubstatus.
    items = [r.json() for r in receiver.at(ninjs_path)]
    assert [(i["version"], i["pubstatus"]) for i in items] == [("1", "usable"), ("2", "usable"), ("2", "usable"),
                                                               ("2", "canceled")]
    assert items[2]["ednote"].startswith("Correction")
    # WordPress: one post, created then updated in place (twice), then trashed.
    [post] = wordpress.posts.values()
    assert post["slug"] == f"newswire-{article_id}" and post["status"] == "trash" and post["revisions"] == 3
    assert post["title"] == "焦作市文明创建推进会（更新）"
    # Files: one per version and event.
    written = sorted(p.name for p in (tmp_path / article_id).iterdir())
    assert written == ["v1.publish.xml", "v2.correct.xml", "v2.retract.xml", "v2.update.xml"]
    assert b"stat:canceled" in (tmp_path / article_id / "v2.retract.xml").read_bytes()
    assert b"sig:correction" in (tmp_path / article_id / "v2.correct.xml").read_bytes()
    # Nothing for the target the rules kept out.
    assert receiver.at("/english") == []
    # The feed channel lists the story as deleted.
    from services.publish.channels import target_channel

    [entry] = target_channel(feed.name, 10).entries
    assert entry["id"] == article_id and entry["deleted"]["note"] == "legal request"


def test_feed_channel_shows_a_retraction_as_deleted_and_supports_conditional_get(publish_env, tmp_path) -> None:  # noqa: ANN001
    import yaml

    from newswire.embedded import override_environment
    from services.publish import engine, lifecycle
    from services.publish.targets import configured_targets

    channel = unique("world")
    targets_file = tmp_path / "targets.yaml"
    targets_file.write_text(yaml.safe_dump({"targets": [
        {"name": channel, "kind": "feed", "title": "World", "size": 2, "rules": [{"language": ["zh"]}]}]}))
    with override_environment({"NEWSWIRE_TARGETS_FILE": str(targets_file),
                               "NEWSWIRE_WEBSUB_HUB": "https://hub.example/"}):
        configured_targets.cache_clear()
        try:
            from services.api.app import app

            targets = configured_targets()
            ids = []
            for n in range(3):
                article_id, version_id = make_article(title=f"第{n}条")
                engine.plan(version_id, targets)
                ids.append(article_id)
            skipped, version_id = make_article(language="en", title="English only")
            engine.plan(version_id, targets)
            lifecycle.retract(ids[0], targets, note="legal request", actor="test")
            client = TestClient(app)
            first = client.get(f"/feeds/{channel}.atom")
            assert first.status_code == 200 and first.headers["content-type"].startswith("application/atom+xml")
            parsed = feedparser.parse(first.content)
            assert not parsed.bozo
            # Newest first: the retraction (now a deleted entry), then the third story; two per page.
            assert [e.id for e in parsed.entries] == [f"urn:uuid:{ids[2]}"]
            assert f'ref="urn:uuid:{ids[0]}"'.encode() in first.content
            links = {link.rel: link.href for link in parsed.feed.links}
            assert links["hub"] == "https://hub.example/"
            second = client.get(links["next"].replace("http://127.0.0.1:8000", ""))
            assert [e.id for e in feedparser.parse(second.content).entries] == [f"urn:uuid:{ids[1]}"]
            assert client.get(f"/feeds/{channel}.atom", headers={"If-None-Match": first.headers["etag"]}).status_code == 304
            assert client.get(f"/feeds/{channel}.atom",
                              headers={"If-Modified-Since": first.headers["last-modified"]}).status_code == 304
            rss = client.get(f"/feeds/{channel}.rss?limit=10")
            assert not feedparser.parse(rss.content).bozo and b'state="deleted"' in rss.content
            items = client.get(f"/feeds/{channel}.json?limit=10").json()["items"]
            assert [i["_newswire"]["status"] for i in items] == ["retracted", "usable", "usable"]
            assert f"urn:uuid:{skipped}" not in {i["id"] for i in items}
            assert client.get("/feeds/no-such-channel.atom").status_code == 404
            assert client.get(f"/feeds/{channel}.atom?before=%%%").status_code == 400
            everything = client.get("/feeds/all.json?limit=1000").json()["items"]
            assert {i["id"]: i["_newswire"]["status"] for i in everything}[f"urn:uuid:{ids[0]}"] == "retracted"
        finally:
            configured_targets.cache_clear()


def test_targets_api_pause_resume_explain_and_gauges(publish_env, receiver, tmp_path) -> None:  # noqa: ANN001
    import yaml

    from newswire.embedded import override_environment
    from services.api.console.access import create_token
    from services.publish import engine
    from services.publish.targets import configured_targets

    name, skipper = unique("paused"), unique("rules")
    targets_file = tmp_path / "targets.yaml"
    targets_file.write_text(yaml.safe_dump({"targets": [
        {"name": name, "url": receiver.url(f"/{name}"), "secrets": [SECRET_A]},
        {"name": skipper, "url": receiver.url(f"/{skipper}"), "secrets": [SECRET_A],
         "rules": [{"name": "english-only", "language": ["en"]}]}]}))
    operator = {"Authorization": f"Bearer {create_token('operator', 'publish test')[0]}"}
    viewer = {"Authorization": f"Bearer {create_token('read-only', 'publish viewer')[0]}"}
    with override_environment({"NEWSWIRE_TARGETS_FILE": str(targets_file)}):
        configured_targets.cache_clear()
        try:
            from services.api.app import app

            client = TestClient(app)
            assert client.post(f"/targets/{name}/pause").status_code == 401
            assert client.get("/targets").status_code == 401
            assert client.post(f"/targets/{name}/pause", headers=viewer).status_code == 403
            paused = client.post(f"/targets/{name}/pause", headers=operator).json()
            assert paused["paused"] and "paused by" in paused["reason"]
            article_id, version_id = make_article()
            engine.plan(version_id, configured_targets())
            assert engine.drain(configured_targets()[name], budget=1).stopped == "paused"
            assert receiver.at(f"/{name}") == []
            shown = {t["name"]: t for t in client.get("/targets", headers=viewer).json()["items"]}
            assert shown[name]["paused"] and shown[name]["deliveries"] == {"pending": 1}
            metrics = client.get("/metrics").text
            assert f'newswire_target_disabled{{target="{name}"}} 1.0' in metrics
            assert f'newswire_breaker_open{{target="{name}"}} 0.0' in metrics
            resumed = client.post(f"/targets/{name}/resume", headers=operator).json()
            assert not resumed["paused"] and resumed["reason"] is None
            drain_until_settled(configured_targets()[name])
            assert len(receiver.at(f"/{name}")) == 1
            # Why did the story reach one target and not the other?
            why = client.get(f"/articles/{article_id}/explain", headers=viewer).json()
            decisions = {t["target"]: t for t in why["versions"][0]["targets"]}
            assert decisions[name]["decision"] == "send" and decisions[name]["deliveries"][0]["status"] == "delivered"
            assert decisions[skipper]["decision"] == "skip"
            assert "english-only: language 'zh' not in ['en']" in decisions[skipper]["reason"]
            detail = client.get(f"/articles/{article_id}", headers=viewer).json()
            assert {r["target"] for r in detail["versions"][0]["routing"]} == {name, skipper}
            assert client.get("/articles/nope/explain").status_code == 401
            assert client.get("/articles/nope/explain", headers=viewer).status_code == 404
        finally:
            configured_targets.cache_clear()


def test_console_targets_page_pauses_and_resumes(publish_env, receiver, tmp_path) -> None:  # noqa: ANN001
    import yaml

    from newswire.embedded import override_environment
    from services.api.console.access import create_token
    from services.publish import state
    from services.publish.targets import configured_targets

    name = unique("console")
    targets_file = tmp_path / "targets.yaml"
    targets_file.write_text(yaml.safe_dump({"targets": [
        {"name": name, "url": receiver.url(f"/{name}"), "secrets": [SECRET_A]}]}))
    operator = {"Authorization": f"Bearer {create_token('operator', 'console publish test')[0]}"}
    with override_environment({"NEWSWIRE_TARGETS_FILE": str(targets_file)}):
        configured_targets.cache_clear()
        try:
            from services.api.app import app

            client = TestClient(app)
            page = client.get("/console/targets", headers=operator)
            assert page.status_code == 200 and f"/console/api/targets/{name}/pause" in page.text
            assert client.post(f"/console/api/targets/{name}/pause", headers=operator).json()["paused"]
            shown = {t["name"]: t for t in client.get("/console/api/targets", headers=operator).json()["items"]}
            assert shown[name]["disabled"] and "paused by" in shown[name]["disabled_reason"]
            assert f"/console/api/targets/{name}/resume" in client.get("/console/targets", headers=operator).text
            assert not client.post(f"/console/api/targets/{name}/resume", headers=operator).json()["paused"]
            assert not state.get_state(name)["paused"]
        finally:
            configured_targets.cache_clear()
