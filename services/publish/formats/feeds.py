"""Feeds of a channel: Atom (RFC 4287, with RFC 6721 deleted entries for retractions and RFC 5005 paging),
RSS 2.0 (content:encoded, media:content, media:status for retractions) and JSON Feed 1.1.

Every renderer takes the same entries: article documents with ``updated`` (when the entry last changed in
this channel) and, for a retraction, ``deleted`` = {"when", "note"}.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import format_datetime
from typing import Any, Iterable
from xml.etree import ElementTree as ET

from services.publish.formats.document import iso as _iso

ATOM = "http://www.w3.org/2005/Atom"
TOMBSTONES = "http://purl.org/atompub/tombstones/1.0"
CONTENT = "http://purl.org/rss/1.0/modules/content/"
MEDIA = "http://search.yahoo.com/mrss/"
DC = "http://purl.org/dc/elements/1.1/"
RETRACTED = "This article was retracted."


@dataclass
class Channel:
    name: str
    title: str
    base_url: str
    description: str | None = None
    hub: str | None = None
    next_cursor: str | None = None

    def url(self, suffix: str, cursor: str | None = None) -> str:
        url = f"{self.base_url}/feeds/{self.name}.{suffix}"
        return f"{url}?before={cursor}" if cursor else url


def entry_id(item: dict[str, Any]) -> str:
    return f"urn:uuid:{item['id']}"


def _parse(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def _rfc3339(value: Any) -> str | None:
    parsed = _parse(value)
    return _iso(parsed) if parsed else None


def json_feed(items: Iterable[dict[str, Any]], *, base_url: str, next_url: str | None = None,
              channel: Channel | None = None) -> dict[str, Any]:
    channel = channel or Channel("all", "Newswire: all articles", base_url)
    feed: dict[str, Any] = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": channel.title,
        "home_page_url": channel.base_url + "/",
        "feed_url": channel.url("json"),
        "items": [],
    }
    if channel.description:
        feed["description"] = channel.description
    if channel.hub:
        feed["hubs"] = [{"type": "WebSub", "url": channel.hub}]
    next_url = next_url or (channel.url("json", channel.next_cursor) if channel.next_cursor else None)
    if next_url:
        feed["next_url"] = next_url
    for item in items:
        deleted = item.get("deleted")
        entry: dict[str, Any] = {
            "id": entry_id(item),
            "url": item["canonical_url"],
            "title": item.get("title"),
            "date_modified": _rfc3339(item.get("updated")),
            "date_published": _rfc3339(item.get("published")),
            "language": item.get("language"),
            "_newswire": {"version": item["version"], "keywords": item.get("keywords") or [],
                          "content_hash": item.get("content_hash"),
                          "status": "retracted" if deleted else "usable"},
        }
        if deleted:
            entry["content_text"] = RETRACTED + (f" {deleted['note']}" if deleted.get("note") else "")
            entry["_newswire"]["retracted_at"] = deleted["when"]
        else:
            if item.get("html"):
                entry["content_html"] = item["html"]
            entry["content_text"] = item.get("text") or ""
            if item.get("summary"):
                entry["summary"] = item["summary"]
            if item.get("lead_image"):
                entry["image"] = item["lead_image"]
            if item.get("authors"):
                entry["authors"] = [{"name": name} for name in item["authors"]]
            if item.get("keywords"):
                entry["tags"] = list(dict.fromkeys(item["keywords"]))
        feed["items"].append({k: v for k, v in entry.items() if v is not None})
    return feed


def atom_feed(items: list[dict[str, Any]], *, base_url: str, updated: datetime | None,
              channel: Channel | None = None) -> bytes:
    channel = channel or Channel("all", "Newswire: all articles", base_url)
    ET.register_namespace("", ATOM)
    ET.register_namespace("at", TOMBSTONES)
    a = lambda name: f"{{{ATOM}}}{name}"  # noqa: E731
    feed = ET.Element(a("feed"))
    ET.SubElement(feed, a("id")).text = f"urn:newswire:feeds:{channel.name}"
    ET.SubElement(feed, a("title")).text = channel.title
    if channel.description:
        ET.SubElement(feed, a("subtitle")).text = channel.description
    ET.SubElement(feed, a("updated")).text = _iso(updated or datetime.now(timezone.utc))
    ET.SubElement(feed, a("link"), rel="self", type="application/atom+xml", href=channel.url("atom"))
    ET.SubElement(feed, a("link"), rel="alternate", type="text/html", href=channel.base_url + "/")
    if channel.hub:
        ET.SubElement(feed, a("link"), rel="hub", href=channel.hub)
    if channel.next_cursor:
        ET.SubElement(feed, a("link"), rel="next", type="application/atom+xml",
                      href=channel.url("atom", channel.next_cursor))
    ET.SubElement(feed, a("author")).append(_text(a("name"), "Newswire"))
    ET.SubElement(feed, a("generator")).text = "Newswire"
    for item in items:
        deleted = item.get("deleted")
        if deleted:
            # RFC 6721: the entry is gone; readers drop what they have under this id.
            tomb = ET.SubElement(feed, f"{{{TOMBSTONES}}}deleted-entry", ref=entry_id(item),
                                 when=_rfc3339(deleted["when"]) or _iso(datetime.now(timezone.utc)))
            ET.SubElement(tomb, f"{{{TOMBSTONES}}}comment").text = RETRACTED + (
                f" {deleted['note']}" if deleted.get("note") else "")
            ET.SubElement(tomb, a("link"), rel="alternate", href=item["canonical_url"])
            continue
        entry = ET.SubElement(feed, a("entry"))
        ET.SubElement(entry, a("id")).text = entry_id(item)
        ET.SubElement(entry, a("title")).text = item.get("title") or ""
        ET.SubElement(entry, a("link"), rel="alternate", type="text/html", href=item["canonical_url"])
        ET.SubElement(entry, a("updated")).text = _rfc3339(item.get("updated")) or _iso(datetime.now(timezone.utc))
        if _rfc3339(item.get("published")):
            ET.SubElement(entry, a("published")).text = _rfc3339(item["published"])
        for name in item.get("authors") or []:
            ET.SubElement(entry, a("author")).append(_text(a("name"), name))
        for keyword in item.get("keywords") or []:
            ET.SubElement(entry, a("category"), term=keyword)
        ET.SubElement(entry, a("summary")).text = item.get("summary") or (item.get("text") or "")[:400]
        ET.SubElement(entry, a("content"), type="html").text = item.get("html") or ""
        if item.get("language"):
            entry.set("{http://www.w3.org/XML/1998/namespace}lang", item["language"])
    return ET.tostring(feed, encoding="utf-8", xml_declaration=True)


def rss_feed(items: list[dict[str, Any]], *, channel: Channel, updated: datetime | None) -> bytes:
    for prefix, uri in (("content", CONTENT), ("media", MEDIA), ("dc", DC), ("atom", ATOM)):
        ET.register_namespace(prefix, uri)
    rss = ET.Element("rss", version="2.0")
    head = ET.SubElement(rss, "channel")
    ET.SubElement(head, "title").text = channel.title
    ET.SubElement(head, "link").text = channel.base_url + "/"
    ET.SubElement(head, "description").text = channel.description or channel.title
    ET.SubElement(head, "generator").text = "Newswire"
    built = (updated or datetime.now(timezone.utc)).astimezone(timezone.utc)
    ET.SubElement(head, "lastBuildDate").text = format_datetime(built, usegmt=True)
    ET.SubElement(head, f"{{{ATOM}}}link", rel="self", type="application/rss+xml", href=channel.url("rss"))
    if channel.hub:
        ET.SubElement(head, f"{{{ATOM}}}link", rel="hub", href=channel.hub)
    if channel.next_cursor:
        ET.SubElement(head, f"{{{ATOM}}}link", rel="next", href=channel.url("rss", channel.next_cursor))
    for item in items:
        deleted = item.get("deleted")
        node = ET.SubElement(head, "item")
        ET.SubElement(node, "title").text = item.get("title") or ""
        ET.SubElement(node, "link").text = item["canonical_url"]
        ET.SubElement(node, "guid", isPermaLink="false").text = entry_id(item)
        when = _parse(deleted["when"] if deleted else item.get("published") or item.get("updated"))
        if when:
            ET.SubElement(node, "pubDate").text = format_datetime(when.astimezone(timezone.utc), usegmt=True)
        if deleted:
            note = RETRACTED + (f" {deleted['note']}" if deleted.get("note") else "")
            ET.SubElement(node, "description").text = note
            ET.SubElement(node, f"{{{MEDIA}}}status", state="deleted", reason=note)
            continue
        ET.SubElement(node, "description").text = item.get("summary") or (item.get("text") or "")[:400]
        ET.SubElement(node, f"{{{CONTENT}}}encoded").text = item.get("html") or ""
        for name in item.get("authors") or []:
            ET.SubElement(node, f"{{{DC}}}creator").text = name
        for keyword in item.get("keywords") or []:
            ET.SubElement(node, "category").text = keyword
        if item.get("lead_image"):
            ET.SubElement(node, f"{{{MEDIA}}}content", url=item["lead_image"], medium="image")
        ET.SubElement(node, f"{{{MEDIA}}}status", state="active")
    return ET.tostring(rss, encoding="utf-8", xml_declaration=True)


def _text(tag: str, value: str) -> ET.Element:
    element = ET.Element(tag)
    element.text = value
    return element
