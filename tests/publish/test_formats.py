"""Formats validate: ninjs against the IPTC schema, JSON Feed against its schema, Atom and RSS through
feedparser without bozo, NewsML-G2 carries guid, version, pubStatus and signals."""

from __future__ import annotations

import json
from pathlib import Path
from xml.etree import ElementTree as ET

import feedparser
import jsonschema
import pytest
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

from services.publish.formats import Channel, atom_feed, json_feed, newsml_item, ninjs_item, rss_feed

DATA = Path(__file__).parent / "data"
G2 = {"g": "http://iptc.org/std/nar/2006-10-01/"}


def document(**extra) -> dict:  # noqa: ANN003
    doc = {
        "id": "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0", "version": 2, "url": "https://news.example.cn/a.html",
        "canonical_url": "https://news.example.cn/a.html", "title": "焦作市文明创建工作推进会召开",
        "text": "焦作市召开推进会。\n会议要求落实责任。", "html": "<p>焦作市召开推进会。</p><p>会议要求落实责任。</p>",
        "authors": ["李明"], "published": "2024-05-01T08:00:00+08:00", "site_name": "大河网", "source_name": "大河网",
        "summary": "焦作市召开推进会。", "lead_image": "https://news.example.cn/a.jpg", "language": "zh",
        "keywords": ["文明城市", "焦作"], "topics": [{"code": "medtop:11000000", "label": "politics", "score": 0.8}],
        "places": [{"name": "焦作市"}], "entities": [{"name": "李明", "kind": "person"},
                                                   {"name": "焦作市委", "kind": "organisation"}],
        "content_hash": "ab" * 32, "first_created": "2024-05-01T00:01:00Z", "updated": "2024-05-01T00:05:00Z",
    }
    doc.update(extra)
    return doc


@pytest.fixture(scope="module")
def ninjs_validator() -> jsonschema.Validator:
    schema = json.loads((DATA / "ninjs-schema_2.1.json").read_text())
    return jsonschema.Draft202012Validator(schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)


@pytest.fixture(scope="module")
def jsonfeed_validator() -> jsonschema.Validator:
    feed = json.loads((DATA / "feed.json").read_text())
    feed1 = json.loads((DATA / "feed-1.json").read_text())
    registry = Registry().with_resource("https://json.schemastore.org/feed-1",
                                        Resource.from_contents(feed1, default_specification=DRAFT4))
    return jsonschema.Draft7Validator(feed, registry=registry, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER)


@pytest.mark.parametrize("event", ["publish", "update", "correct", "retract"])
def test_ninjs_validates_against_the_iptc_schema(ninjs_validator, event) -> None:  # noqa: ANN001
    item = ninjs_item(event, document(lifecycle_note="the date was wrong"))
    ninjs_validator.validate(item)
    assert item["version"] == "2" and item["uri"].endswith(document()["id"])
    assert item["pubstatus"] == ("canceled" if event == "retract" else "usable")
    assert {s.get("uri") for s in item["subjects"]} >= {"http://cv.iptc.org/newscodes/mediatopic/11000000"}
    assert item["by"] == "李明" and item["renditions"][0]["href"] == document()["canonical_url"]
    if event == "retract":
        assert "bodies" not in item and "Retraction" in item["ednote"]
    if event == "correct":
        assert "Correction: the date was wrong" == item["ednote"]


def test_the_ninjs_schema_is_really_checked(ninjs_validator) -> None:  # noqa: ANN001
    item = ninjs_item("publish", document())
    item["pubstatus"] = "killed"
    with pytest.raises(jsonschema.ValidationError):
        ninjs_validator.validate(item)
    with pytest.raises(jsonschema.ValidationError):
        ninjs_validator.validate({**ninjs_item("publish", document()), "headline": "not a ninjs 2 field"})


def test_newsml_g2_carries_version_status_and_signals() -> None:
    root = ET.fromstring(newsml_item("correct", document(lifecycle_note="a name was misspelt")))
    assert root.get("guid").endswith(document()["id"]) and root.get("version") == "2"
    assert root.find("g:itemMeta/g:pubStatus", G2).get("qcode") == "stat:usable"
    signals = {s.get("qcode") for s in root.findall("g:itemMeta/g:signal", G2)}
    assert signals == {"sig:update", "sig:correction"}
    assert root.find("g:contentMeta/g:headline", G2).text == document()["title"]
    canceled = ET.fromstring(newsml_item("retract", document()))
    assert canceled.find("g:itemMeta/g:pubStatus", G2).get("qcode") == "stat:canceled"
    assert canceled.find("g:contentSet", G2) is None


def _entries() -> list[dict]:
    live = document(updated="2024-05-02T00:00:00Z")
    gone = document(id="11111111-2222-3333-4444-555555555555", canonical_url="https://news.example.cn/b.html",
                    updated="2024-05-03T00:00:00Z",
                    deleted={"when": "2024-05-03T00:00:00+00:00", "note": "legal request"})
    return [gone, live]


def test_json_feed_validates_and_marks_retractions(jsonfeed_validator) -> None:  # noqa: ANN001
    channel = Channel("world", "World", "http://127.0.0.1:8000", hub="https://hub.example/", next_cursor="abc")
    feed = json_feed(_entries(), base_url=channel.base_url, channel=channel)
    jsonfeed_validator.validate(feed)
    assert feed["hubs"] == [{"type": "WebSub", "url": "https://hub.example/"}]
    assert feed["next_url"].endswith("/feeds/world.json?before=abc")
    gone, live = feed["items"]
    assert gone["_newswire"]["status"] == "retracted" and "content_html" not in gone
    assert live["content_html"].startswith("<p>") and live["tags"] == ["文明城市", "焦作"]
    with pytest.raises(jsonschema.ValidationError):
        jsonfeed_validator.validate({**feed, "items": [{"id": "x"}]})  # no content: invalid


def test_atom_parses_without_bozo_with_an_rfc6721_deleted_entry() -> None:
    channel = Channel("world", "World", "http://127.0.0.1:8000", hub="https://hub.example/", next_cursor="abc")
    body = atom_feed(_entries(), base_url=channel.base_url, updated=None, channel=channel)
    parsed = feedparser.parse(body)
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert [e.id for e in parsed.entries] == [f"urn:uuid:{document()['id']}"]
    assert parsed.entries[0].title == document()["title"]
    links = {link.rel: link.href for link in parsed.feed.links}
    assert links["hub"] == "https://hub.example/" and links["next"].endswith("?before=abc")
    root = ET.fromstring(body)
    tomb = root.find("{http://purl.org/atompub/tombstones/1.0}deleted-entry")
    assert tomb.get("ref") == "urn:uuid:11111111-2222-3333-4444-555555555555" and tomb.get("when")


def test_rss_parses_without_bozo_with_content_media_and_status() -> None:
    channel = Channel("world", "World", "http://127.0.0.1:8000")
    body = rss_feed(_entries(), channel=channel, updated=None)
    parsed = feedparser.parse(body)
    assert not parsed.bozo, parsed.get("bozo_exception")
    gone, live = parsed.entries
    assert live.content[0].value.startswith("<p>") and live.media_content[0]["url"].endswith("a.jpg")
    assert live.id == f"urn:uuid:{document()['id']}"
    root = ET.fromstring(body)
    statuses = [s.get("state") for s in root.iter("{http://search.yahoo.com/mrss/}status")]
    assert statuses == ["deleted", "active"]
