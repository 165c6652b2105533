"""Feed reading on the real-world corpus in ../shared/eval/feeds, and on hostile feeds."""

from __future__ import annotations

import json

import pytest

from conftest import SHARED
from services.ingest.feeds import looks_like_feed, parse_feed

CORPUS = SHARED / "eval" / "feeds"


def _corpus() -> list[dict]:
    return [json.loads(line) for line in (CORPUS / "feeds.jsonl").read_text(encoding="utf-8").splitlines() if line]


def test_corpus_feeds_are_recognised_and_every_entry_found() -> None:
    feeds = _corpus()
    assert len(feeds) >= 70
    recognised = entries_right = links_right = links_total = 0
    for feed in feeds:
        body = (CORPUS / "feeds" / feed["file"]).read_bytes()
        recognised += looks_like_feed("", body)  # no content type: sniffed from the bytes alone
        try:
            parsed = parse_feed(body, "http://example.com/")
        except ValueError:
            # Only a feed with nothing readable in it (e.g. JSON cut mid-string) may be refused, with a reason.
            assert feed["entries"] == 0, feed["id"]
            entries_right += 1
            continue
        entries_right += len(parsed.entries) == feed["entries"]
        for entry, truth in zip(parsed.entries, feed["items"]):
            if truth["link"]:
                links_total += 1
                links_right += entry.link == truth["link"]
    assert recognised == len(feeds)
    assert entries_right == len(feeds)
    assert links_right / links_total >= 0.98


def test_html_is_not_a_feed() -> None:
    assert not looks_like_feed("text/html", b"<!DOCTYPE html><html><body><p>rss</p></body></html>")
    assert not looks_like_feed("", b"<html><head><link rel=alternate type=application/rss+xml></head></html>")


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lolololololol">
<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
<!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
<!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
<!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
<!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
<!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
<!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">]>
<rss version="2.0"><channel><title>&lol9;</title>
<item><title>a</title><link>http://example.com/a</link></item></channel></rss>"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<rss version="2.0"><channel><title>&x;</title>
<item><title>a</title><link>http://example.com/a</link></item></channel></rss>"""


@pytest.mark.parametrize("body", [BILLION_LAUGHS, EXTERNAL_ENTITY], ids=["billion-laughs", "external-entity"])
def test_entity_attacks_do_not_expand(body: bytes) -> None:
    parsed = parse_feed(body, "http://example.com/")
    assert len(parsed.title or "") < 100
    assert "root:" not in (parsed.title or "")
    assert [entry.link for entry in parsed.entries] == ["http://example.com/a"]


def test_not_a_feed_says_so() -> None:
    with pytest.raises(ValueError, match="not a"):
        parse_feed(b'{"no": "items"}', "http://example.com/")
