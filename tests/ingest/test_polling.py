"""Polling a source in this process (real HTTP server, Redis, store): conditional GET, hints, health, backoff,
suspension and the half-open probe, oversized and bomb bodies refused with the reason kept on the source."""

from __future__ import annotations

import gzip
import time
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from feedserver import settings_env

RSS = """<?xml version="1.0"?><rss version="2.0"><channel><title>{title}</title><link>http://example.com/</link>
<description>d</description>{extra}{items}</channel></rss>"""
ITEM = """<item><title>{t}</title><link>http://example.com/{slug}/{n}.html</link><guid>{slug}-{n}</guid>
<pubDate>{date}</pubDate><description>Summary {n}</description>
<content:encoded xmlns:content="http://purl.org/rss/1.0/modules/content/"><![CDATA[<p>Body {n} {t}</p>]]></content:encoded></item>"""


def feed(slug: str, count: int, *, title: str = "Feed", extra: str = "", start: int = 0, hours: float = 1.0) -> str:
    now = datetime(2026, 11, 28, 12, 0, tzinfo=timezone.utc)
    items = "".join(ITEM.format(t=f"Story {n}", slug=slug, n=n,
                                date=(now - timedelta(hours=hours * n)).strftime("%a, %d %b %Y %H:%M:%S +0000"))
                    for n in range(start, start + count))
    return RSS.format(title=title, extra=extra, items=items)


def new_source(url: str, **kwargs) -> int:  # noqa: ANN003
    from services.ingest import sources

    return sources.add(url, **kwargs)["id"]


def test_poll_then_304_then_changed(ingest_env, feeds) -> None:  # noqa: ANN001
    from services.ingest import sources
    from services.ingest.poll import poll_source

    slug = uuid.uuid4().hex[:8]
    path = f"/{slug}/feed.xml"
    url = feeds.add(path, feed(slug, 3, title="Conditional"))
    source_id = new_source(url, options={"full_text": "never"})
    first = poll_source(source_id)
    assert (first.status, first.new, len(first.articles), first.title) == ("ok", 3, 3, "Conditional")
    shown = sources.show(source_id)
    assert shown["etag"] and shown["items_new"] == 3 and shown["bytes"] > 0 and shown["last_status"] == 200

    second = poll_source(source_id)
    assert second.status == "not_modified" and not second.articles
    assert feeds.hits_of(path)[-1].headers["if-none-match"] == shown["etag"]
    assert feeds.hits_of(path)[-1].status == 304
    assert sources.show(source_id)["last_status"] == 304

    feeds.add(path, feed(slug, 4, title="Conditional"))  # one more story, the others unchanged
    third = poll_source(source_id)
    assert (third.new, third.updated, third.unchanged) == (1, 0, 3)
    assert [p.item.title for p in third.articles] == ["Story 3"]
    listed = sources.articles(source_id)["items"]
    assert len(listed) == 4 and listed[0]["title"] == "Story 0" and listed[0]["published"] == "2026-11-28T12:00:00Z"


def test_summary_only_entries_fetch_their_page_full_ones_do_not(ingest_env, feeds) -> None:  # noqa: ANN001
    from services.ingest.poll import poll_source

    slug = uuid.uuid4().hex[:8]
    body = feed(slug, 1).replace("<content:encoded", "<x:y xmlns:x='urn:x'").replace("</content:encoded>", "</x:y>")
    body = body.replace("<x:y xmlns:x='urn:x' xmlns:content=\"http://purl.org/rss/1.0/modules/content/\">", "<x:y xmlns:x='urn:x'>")
    auto = poll_source(new_source(feeds.add(f"/{slug}/summary.xml", body)))
    assert len(auto.followups) == 1 and not auto.articles  # only a summary: its page is fetched
    assert auto.followups[0].item.title == "Story 0" and auto.followups[0].url.endswith(f"/{slug}/0.html")
    full = poll_source(new_source(feeds.add(f"/{slug}/full.xml", feed(slug + "f", 1))))
    assert len(full.articles) == 1 and not full.followups  # the feed carries the text
    page = full.articles[0]
    assert page.item.published == "2026-11-28T12:00:00Z" and page.raw_key
    always = poll_source(new_source(feeds.add(f"/{slug}/always.xml", feed(slug + "a", 1)),
                                    options={"full_text": "always"}))
    assert len(always.followups) == 1


def test_ttl_skip_hours_max_age_and_cadence_set_the_next_poll(ingest_env, feeds) -> None:  # noqa: ANN001
    from services.ingest import sources
    from services.ingest.poll import poll_source

    slug = uuid.uuid4().hex[:8]
    busy = new_source(feeds.add(f"/{slug}/busy.xml", feed(slug, 10, hours=0.25)), interval=3600)
    quiet = new_source(feeds.add(f"/{slug}/quiet.xml", feed(slug + "q", 10, hours=24 * 7)), interval=3600)
    ttl = new_source(feeds.add(f"/{slug}/ttl.xml", feed(slug + "t", 2, extra="<ttl>180</ttl>")), interval=60)
    cached = new_source(feeds.add(f"/{slug}/cached.xml", feed(slug + "c", 2),
                                  headers={"Cache-Control": "public, max-age=7200"}), interval=60)
    waits = {}
    for name, source_id in (("busy", busy), ("quiet", quiet), ("ttl", ttl), ("cached", cached)):
        outcome = poll_source(source_id)
        waits[name] = (outcome.next_poll - datetime.now(timezone.utc)).total_seconds()
    assert waits["busy"] < 0.2 * 3600  # items every 15 min: polled about every 7.5 min, not hourly
    assert waits["quiet"] > 0.85 * 24 * 3600  # weekly items: polled far less often (bounded by the maximum)
    assert waits["ttl"] > 0.85 * 180 * 60  # <ttl>180</ttl> minutes is respected
    assert waits["cached"] > 0.85 * 7200  # Cache-Control max-age is respected
    assert sources.show(busy)["cadence_seconds"] == pytest.approx(900)


def test_retry_after_is_obeyed(ingest_env, feeds) -> None:  # noqa: ANN001
    from services.ingest import sources
    from services.ingest.poll import poll_source

    url = feeds.add(f"/{uuid.uuid4().hex[:8]}/busy.xml", "slow down", status=429, content_type="text/plain",
                    headers={"Retry-After": "7200"})
    source_id = new_source(url, interval=60)
    outcome = poll_source(source_id)
    assert outcome.status == "failed" and "429" in outcome.error
    assert (outcome.next_poll - datetime.now(timezone.utc)).total_seconds() >= 7200 - 5
    shown = sources.show(source_id)
    assert shown["last_status"] == 429 and shown["error_streak"] == 1


def test_failing_source_backs_off_then_is_suspended_and_probed_half_open(ingest_env, feeds) -> None:  # noqa: ANN001
    from services.ingest import scheduling, sources
    from services.ingest.poll import poll_source

    slug = uuid.uuid4().hex[:8]
    path = f"/{slug}/flaky.xml"
    url = feeds.add(path, "oops", status=500, content_type="text/plain")
    with settings_env(ingest_suspend_after="3", ingest_probe_interval="86400"):
        source_id = new_source(url, interval=60)
        delays = []
        for _ in range(3):
            outcome = poll_source(source_id)
            delays.append((outcome.next_poll - datetime.now(timezone.utc)).total_seconds())
        shown = sources.show(source_id)
        assert shown["status"] == "suspended" and shown["health"] == "suspended"
        assert "3 errors in a row" in shown["suspended_reason"] and "HTTP 500" in shown["suspended_reason"]
        assert delays[0] < delays[1]  # exponential backoff (jitter stays within half of each step)
        assert delays[2] > 0.85 * 86400  # suspended: probed again after the probe interval, not dropped
        assert scheduling.next_due(source_id) is not None  # still in the due set (half-open)
        feeds.add(path, feed(slug, 2))  # the site recovers
        outcome = poll_source(source_id)  # the probe
        shown = sources.show(source_id)
        assert outcome.status == "ok" and shown["status"] == "active" and shown["error_streak"] == 0
        assert shown["suspended_reason"] is None and shown["errors"] == 3


@pytest.mark.parametrize("kind", ["oversized", "gzip-bomb", "not-a-feed"])
def test_hostile_bodies_refused_with_the_reason_on_the_source(ingest_env, feeds, kind: str) -> None:  # noqa: ANN001
    from services.ingest import sources
    from services.ingest.poll import poll_source

    path = f"/{uuid.uuid4().hex[:8]}/{kind}"
    if kind == "oversized":
        url = feeds.add(path, b"<rss>" + b"x" * 3_000_000)
    elif kind == "gzip-bomb":
        url = feeds.add(path, gzip.compress(b"<rss>" + b" " * 50_000_000), headers={"Content-Encoding": "gzip"})
    else:
        url = feeds.add(path, "<!DOCTYPE html><html><body>hello</body></html>", content_type="text/html")
    with settings_env(max_body_bytes="2000000"):
        source_id = new_source(url)
        outcome = poll_source(source_id)
    assert outcome.status == "failed"
    error = sources.show(source_id)["last_error"]
    expected = {"oversized": "exceeds the limit", "gzip-bomb": "compression bomb", "not-a-feed": "not a feed"}[kind]
    assert expected in error


def test_pause_resume_remove_and_the_due_set(ingest_env, feeds) -> None:  # noqa: ANN001
    from services.ingest import scheduling, sources
    from services.ingest.poll import poll_source

    source_id = new_source(feeds.add(f"/{uuid.uuid4().hex[:8]}/f.xml", feed("p", 1)))
    assert scheduling.next_due(source_id) is not None and source_id in scheduling.claim_due(limit=100000)
    sources.pause(source_id)
    assert scheduling.next_due(source_id) is None and poll_source(source_id).status == "skipped"
    resumed = sources.resume(source_id)
    assert resumed["status"] == "active" and scheduling.next_due(source_id) <= time.time() + 1
    assert sources.remove(source_id)["removed"] and scheduling.next_due(source_id) is None
    with pytest.raises(sources.SourceError):
        sources.show(source_id)
