"""Every feed dialect from fixtures (data/), legacy Chinese encodings, dates, and hostile XML."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest

from services.ingest import dates
from services.ingest.feeds import looks_like_feed, parse_feed

DATA = Path(__file__).parent / "data"
UTC = timezone.utc


def parse(name: str, url: str = "http://fetched.example/feed"):  # noqa: ANN201
    body = (DATA / name).read_bytes()
    assert looks_like_feed("", body), name
    return parse_feed(body, url)


@pytest.mark.parametrize("name, fmt, titles, links", [
    ("rss091.xml", "rss091n", ["Première"], ["http://example.com/a/1"]),
    ("rss092.xml", "rss092", ["Item one", "Item two"], ["http://example.com/92/1", "http://example.com/92/2"]),
    ("rss10.rdf", "rss10", ["RDF item"], ["http://example.com/rdf/1"]),
    ("rss20.xml", "rss20", ["Full story", "Summary only"],
     ["http://example.com/2026/11/full-story?utm_source=rss&id=7", "http://example.com/2026/11/relative-link.html"]),
    ("atom03.xml", "atom03", ["Old atom"], ["http://example.com/atom03/1"]),
    ("atom10.xml", "atom10", ["A <b>bold</b> title", "Updated only"],
     ["http://example.org/blog/posts/1", "http://example.org/blog/posts/2"]),
    ("jsonfeed10.json", "json1", ["First", None], ["http://example.net/j/1", "http://example.net/j/2"]),
    ("jsonfeed11.json", "json1.1", ["Eleven"], ["http://example.net/j11/a"]),
])
def test_each_dialect_gives_titles_and_absolute_links(name: str, fmt: str, titles: list, links: list) -> None:
    feed = parse(name)
    assert feed.format == fmt
    assert [entry.title for entry in feed.entries] == titles
    assert [entry.link for entry in feed.entries] == links


def test_dates_keep_their_zone_or_stay_wall_clock() -> None:
    rss = parse("rss20.xml").entries
    assert rss[0].published == datetime(2026, 11, 20, 8, 0, tzinfo=UTC)  # +0100 converted
    assert rss[1].published == datetime(2026, 11, 20, 10, 0) and rss[1].published.tzinfo is None  # no zone: none invented
    assert parse("rss10.rdf").entries[0].published == datetime(2026, 11, 20, 0, 30, tzinfo=UTC)
    assert parse("atom03.xml").entries[0].published == datetime(2026, 11, 20, 7, 0, tzinfo=UTC)
    atom = parse("atom10.xml").entries
    assert atom[0].published == datetime(2026, 11, 20, 4, 0, tzinfo=UTC)
    assert atom[1].published == datetime(2026, 11, 20, 2, 0, tzinfo=UTC)  # only <updated>: used as the date
    assert parse("jsonfeed10.json").entries[0].published.utcoffset().total_seconds() == 8 * 3600


def test_feed_hints_content_and_authors() -> None:
    feed = parse("rss20.xml")
    assert (feed.ttl_minutes, feed.skip_hours, feed.hub_url, feed.self_url) == (
        60, [1, 2], "http://hub.example.com/", "http://example.com/feed.xml")
    full, summary_only = feed.entries
    assert "whole text" in full.content and full.entry_id == "story-7" and full.authors == ["Ed Itor"]
    assert summary_only.content is None and summary_only.summary == "Only a summary"
    assert parse("jsonfeed11.json").hub_url == "http://hub.example.net/"
    assert parse("atom10.xml").hub_url == "http://hub.example.org/"


@pytest.mark.parametrize("name, title, charset", [
    ("gb2312-declared.xml", "朱镕基与王堃会面", "gb18030"),  # 镕 and 堃 are outside GB2312: read as GB18030
    ("gbk.xml", "焦作市文明城市创建", "gb18030"),
    ("big5.xml", "香港嘅新聞咗", "big5hkscs"),  # 嘅 and 咗 exist only in Big5-HKSCS
])
def test_legacy_chinese_encodings_read_as_their_supersets(name: str, title: str, charset: str) -> None:
    feed = parse(name)
    assert feed.entries[0].title == title
    assert feed.encoding == charset and "superset" in feed.encoding_reason
    assert feed.entries[0].published == datetime(2026, 11, 20, 8, 30)  # "2026/11/20 08:30:00": wall-clock


def test_http_charset_superset_and_wrong_declarations() -> None:
    body = (DATA / "gbk.xml").read_bytes().replace(b'encoding="GBK"', b'encoding="utf-8"')  # the declaration lies
    assert parse_feed(body, "http://x/", http_charset="gb2312").entries[0].title == "焦作市文明城市创建"


def test_whitespace_before_the_xml_declaration_and_a_bom() -> None:
    body = b"\xef\xbb\xbf\n\n   " + (DATA / "rss092.xml").read_bytes()
    assert [e.title for e in parse_feed(body, "http://x/").entries] == ["Item one", "Item two"]


@pytest.mark.parametrize("raw, expected", [
    ("mer, 16 nov 2022 00:38:15 +0100", datetime(2022, 11, 15, 23, 38, 15, tzinfo=UTC)),
    ("2020/1/10 10:01:02", datetime(2020, 1, 10, 10, 1, 2)),
    ("2020年1月10日 10:01", datetime(2020, 1, 10, 10, 1)),
    ("2020-01-10 10:01:02", datetime(2020, 1, 10, 10, 1, 2)),
    ("Di, 10 Dez 2019 10:00:00 GMT", datetime(2019, 12, 10, 10, 0, tzinfo=UTC)),
])
def test_dates_feedparser_misses(raw: str, expected: datetime) -> None:
    value = dates.parse_date(raw)
    assert value == expected
    assert (value.tzinfo is None) == (expected.tzinfo is None)


def _entity_bomb(levels: int = 9) -> bytes:
    """The billion laughs, built level by level, inside a sitemap (the lxml side of ingest)."""
    entities = ['<!ENTITY lol0 "lolololololol">'] + [
        f'<!ENTITY lol{n} "{("&lol" + str(n - 1) + ";") * 10}">' for n in range(1, levels)]
    return (f'<?xml version="1.0"?>\n<!DOCTYPE lolz [{"".join(entities)}]>\n'
            '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
            f"<url><loc>http://example.com/a&lol{levels - 1};</loc></url></urlset>").encode()


BILLION_LAUGHS = _entity_bomb()
EXTERNAL = b"""<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc>http://example.com/&x;</loc></url></urlset>"""


@pytest.mark.parametrize("body", [BILLION_LAUGHS, EXTERNAL], ids=["billion-laughs", "external-entity"])
def test_lxml_side_never_expands_entities(body: bytes) -> None:
    from services.ingest.xmlsafe import parse_xml

    root = parse_xml(body)
    text = "".join(root.itertext())
    assert len(text) < 200 and "root:" not in text
