"""Every other kind of source: sitemaps (index, urlset, Google News, gzip, lastmod), index pages, wire files (ninjs,
NewsML-G2), a drop folder, OPML in and out, and pushes."""

from __future__ import annotations

import gzip
import os
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

import pytest

from feedserver import settings_env

DATA = Path(__file__).parent / "data"


def add(url: str, **kwargs) -> int:  # noqa: ANN003
    from services.ingest import sources

    return sources.add(url, **kwargs)["id"]


def test_google_news_sitemap_titles_dates_and_only_changed_urls(ingest_env, feeds) -> None:  # noqa: ANN001
    from services.ingest.poll import poll_source

    path = f"/{uuid.uuid4().hex[:8]}/sitemap-news.xml"
    body = (DATA / "sitemap-news.xml").read_bytes()
    source_id = add(feeds.add(path, body, content_type="application/xml"), kind="sitemap")
    first = poll_source(source_id)
    assert first.new == 2 and len(first.followups) == 2  # a sitemap lists pages: each is fetched
    by_url = {request.url: request.item for request in first.followups}
    news = by_url["http://news.example.com/2026/11/27/council-vote.html"]
    assert news.title == "Council votes on the budget" and news.published == "2026-11-27T10:30:00Z"
    assert news.language == "en"
    feeds.add(path, body.replace(b"2026-11-26T09:00:00Z", b"2026-11-28T09:00:00Z"), content_type="application/xml")
    second = poll_source(source_id)
    assert (second.new, second.updated, second.unchanged) == (0, 1, 1)  # the re-dated URL only
    assert [r.url for r in second.followups] == ["http://news.example.com/2026/11/26/river.html"]


def test_sitemap_index_follows_changed_children_gzip_too(ingest_env, feeds) -> None:  # noqa: ANN001
    from services.ingest.poll import poll_source

    token = uuid.uuid4().hex[:8]
    child = feeds.add(f"/{token}/a.xml.gz", gzip.compress((DATA / "sitemap-news.xml").read_bytes()),
                      content_type="application/x-gzip")
    other = feeds.add(f"/{token}/b.xml", '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
                      '<url><loc>http://news.example.com/b/1.html</loc><lastmod>2026-11-01</lastmod></url></urlset>')
    index = ('<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
             f'<sitemap><loc>{child}</loc><lastmod>2026-11-27</lastmod></sitemap>'
             f'<sitemap><loc>{other}</loc><lastmod>{{b}}</lastmod></sitemap></sitemapindex>')
    path = f"/{token}/index.xml"
    source_id = add(feeds.add(path, index.format(b="2026-11-01"), content_type="application/xml"), kind="sitemap")
    assert poll_source(source_id).new == 3
    feeds.add(path, index.format(b="2026-11-02"), content_type="application/xml")
    hits_a = len(feeds.hits_of(f"/{token}/a.xml.gz"))
    again = poll_source(source_id)
    assert len(feeds.hits_of(f"/{token}/a.xml.gz")) == hits_a  # unchanged child not fetched again
    assert again.new == 0 and again.unchanged == 1


def test_sitemap_gzip_bomb_refused(ingest_env, feeds) -> None:  # noqa: ANN001
    from services.ingest import sources
    from services.ingest.poll import poll_source

    bomb = gzip.compress(b"<urlset>" + b" " * 30_000_000 + b"</urlset>")
    with settings_env(max_body_bytes="2000000"):
        source_id = add(feeds.add(f"/{uuid.uuid4().hex[:8]}/bomb.xml.gz", bomb, content_type="application/gzip"),
                        kind="sitemap")
        assert poll_source(source_id).status == "failed"
    assert "compression bomb" in sources.show(source_id)["last_error"]


def test_index_page_discovers_article_links(ingest_env, feeds) -> None:  # noqa: ANN001
    from services.ingest.index_pages import discover_links
    from services.ingest.poll import poll_source

    html = (DATA / "index.html").read_bytes()
    found = discover_links(html, "http://news.example.com/latest/")
    assert [(i.url, i.title) for i in found] == [
        ("http://news.example.com/2026/11/27/council-votes-on-the-budget.html", "Council votes on the budget"),
        ("http://news.example.com/news/123456789.html", "River levels fall after the storm"),
        ("http://news.example.com/2026/11/20/promoted-story-in-the-sidebar.html", "Promoted"),
    ]
    chosen = discover_links(html, "http://news.example.com/latest/", selector="div.list h2")
    assert [i.title for i in chosen] == ["Council votes on the budget", "River levels fall after the storm"]
    source_id = add(feeds.add(f"/{uuid.uuid4().hex[:8]}/latest/", html, content_type="text/html"), kind="index",
                    options={"selector": "div.list h2"})
    outcome = poll_source(source_id)
    assert outcome.new == 2 and all(r.item.kind == "index" for r in outcome.followups)


@pytest.mark.parametrize("name, title, url, published, authors", [
    ("ninjs.json", "Wire story from ninjs", "http://wire.example.com/stories/1", "2026-11-27T09:00:00Z",
     ["Staff Reporter"]),
    ("newsml.xml", "焦作市召开文明城市创建工作会议", "http://wire.example.cn/g2/1.html", "2026-11-27T03:00:00Z",
     ["记者 王明"]),
])
def test_wire_files_from_a_url(ingest_env, feeds, name: str, title: str, url: str, published: str,  # noqa: ANN001
                               authors: list) -> None:
    from shared.store import session_scope
    from shared.store.blobs import get_blob
    from services.ingest.poll import poll_source

    source_id = add(feeds.add(f"/{uuid.uuid4().hex[:8]}/{name}", (DATA / name).read_bytes(),
                              content_type="application/json" if name.endswith("json") else "application/xml"),
                    kind="wire")
    outcome = poll_source(source_id)
    assert outcome.status == "ok" and len(outcome.articles) == 1, outcome
    payload = outcome.articles[0]
    assert (payload.item.title, payload.url, payload.item.published, payload.item.authors) == (
        title, url, published, authors)
    with session_scope() as session:
        page = get_blob(session, payload.raw_key).decode("utf-8")
    assert title in page and ("Second paragraph" in page or "第二段" in page)


def test_drop_folder_takes_new_and_changed_files_once(ingest_env, tmp_path) -> None:  # noqa: ANN001
    from services.ingest.poll import poll_source

    (tmp_path / "a.json").write_bytes((DATA / "ninjs.json").read_bytes())
    (tmp_path / "feed.xml").write_bytes((DATA / "rss092.xml").read_bytes())
    (tmp_path / "page.html").write_text('<html><head><link rel="canonical" href="http://drop.example.com/p.html">'
                                        "</head><body><p>Dropped page</p></body></html>", encoding="utf-8")
    (tmp_path / "notes.bin").write_bytes(b"\x00\x01")
    source_id = add(str(tmp_path))
    first = poll_source(source_id)
    assert first.status == "ok" and first.new == 4  # 1 ninjs item, 2 feed entries, 1 page
    assert {p.url for p in first.articles} >= {"http://drop.example.com/p.html", "http://wire.example.com/stories/1"}
    assert poll_source(source_id).new == 0  # nothing changed: nothing read again
    page = tmp_path / "page.html"
    page.write_text(page.read_text().replace("Dropped page", "Dropped page, corrected"), encoding="utf-8")
    os.utime(page, (time.time() + 5, time.time() + 5))
    third = poll_source(source_id)
    assert (third.new, third.updated) == (0, 1)


def test_opml_import_nested_folders_and_export_round_trip(ingest_env) -> None:  # noqa: ANN001
    from services.ingest import sources
    from services.ingest.opml import export_opml, import_opml, parse_opml

    result = import_opml((DATA / "sources.opml").read_bytes())
    assert len(result["added"]) == 2 and not result["failed"]
    again = import_opml((DATA / "sources.opml").read_bytes())
    assert not again["added"] and len(again["existing"]) == 2
    sources.update(result["added"][0], interval=1234, options={"full_text": "always"})
    exported = export_opml([sources.show(i) for i in result["added"]])
    back = parse_opml(exported.encode())
    assert back[0] == {"url": "http://opml-a.example.com/feed.xml", "name": "Example feed", "kind": "feed",
                       "interval": 1234, "options": {"full_text": "always"}}
    with pytest.raises(Exception, match="not OPML"):
        parse_opml(b"<rss/>")


def test_push_reads_feeds_wire_and_pages(ingest_env) -> None:  # noqa: ANN001
    from services.ingest.push import read_body

    assert [i.title for i in read_body((DATA / "atom10.xml").read_bytes(), None, "application/atom+xml").items] == [
        "A <b>bold</b> title", "Updated only"]
    assert read_body((DATA / "newsml.xml").read_bytes(), None, None).items[0].guid.startswith("urn:newsml")
    page = read_body(b"<html><body><p>pushed</p></body></html>", "http://push.example.com/a.html", "text/html")
    assert page.items[0].raw and page.items[0].url == "http://push.example.com/a.html"
    with pytest.raises(Exception, match="needs the URL"):
        read_body(b"<html><body><p>pushed</p></body></html>", None, "text/html")


def test_add_refuses_bad_sources_clearly(ingest_env) -> None:  # noqa: ANN001
    from services.ingest import sources

    for url, kwargs, message in [("ftp://x/feed", {}, r"http\(s\)"), ("http://x/feed", {"kind": "telegram"}, "unknown kind"),
                                 ("http://x/f", {"options": {"colour": "red"}}, "unknown option"),
                                 ("/no/such/folder", {}, "no such")]:
        with pytest.raises(sources.SourceError, match=message):
            sources.add(url, **kwargs)


def test_drop_dir_setting_becomes_a_source(ingest_env, tmp_path) -> None:  # noqa: ANN001
    from services.ingest import sources
    from services.ingest.tasks import _drop_folder_source

    folder = tmp_path / "drop"
    with settings_env(ingest_drop_dir=str(folder)):
        _drop_folder_source()
        _drop_folder_source()  # once only
    found = sources.list_sources(kind="dir", q=str(folder))["items"]
    assert len(found) == 1 and found[0]["name"] == "drop folder" and folder.is_dir()


def test_canonical_url_declared_by_the_page() -> None:
    from services.ingest.urls import canonical_url, declared_canonical, looks_like_article

    page = b'<html><head><link rel="canonical" href="/2026/11/a.html?utm_source=x&id=3"></head></html>'
    assert declared_canonical(page, "http://news.example.com/amp/a") == "http://news.example.com/2026/11/a.html?id=3"
    og = b'<meta property="og:url" content="https://m.example.com/s/1.html">'
    assert declared_canonical(og, "https://www.example.com/s/1.html?fbclid=1") == "https://m.example.com/s/1.html"
    assert declared_canonical(b'<link rel="canonical" href="http://evil.example.org/x">', "http://a.example.com/") is None
    assert canonical_url("HTTP://Example.com:80/a?utm_medium=rss&b=2#c") == "http://example.com/a?b=2"
    assert looks_like_article("http://example.com/2026/11/27/story.html", "http://example.com/")
    assert not looks_like_article("http://example.com/tag/budget", "http://example.com/")
