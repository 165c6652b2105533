"""What a published article looks like to the outside: one dict, and the JSON Feed and Atom renderings."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Iterable
from xml.etree import ElementTree as ET

from services.publish.formats.document import iso as _iso


def json_feed(items: Iterable[dict[str, Any]], *, base_url: str, next_url: str | None = None) -> dict[str, Any]:
    feed: dict[str, Any] = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": "Newswire: all articles",
        "home_page_url": base_url + "/",
        "feed_url": base_url + "/feeds/all.json",
        "items": [],
    }
    if next_url:
        feed["next_url"] = next_url
    for item in items:
        entry: dict[str, Any] = {
            "id": f"urn:uuid:{item['id']}",
            "url": item["canonical_url"],
            "title": item["title"],
            "content_html": item["html"] or None,
            "content_text": item["text"],
            "date_modified": item["updated"],
            "_newswire": {"version": item["version"], "keywords": item["keywords"], "content_hash": item["content_hash"]},
        }
        if item.get("published"):
            entry["date_published"] = item["published"]
        if item.get("authors"):
            entry["authors"] = [{"name": name} for name in item["authors"]]
        if item.get("language"):
            entry["language"] = item["language"]
        if item.get("keywords"):
            entry["tags"] = item["keywords"]
        feed["items"].append({k: v for k, v in entry.items() if v is not None})
    return feed


ATOM = "http://www.w3.org/2005/Atom"


def atom_feed(items: list[dict[str, Any]], *, base_url: str, updated: datetime | None) -> bytes:
    ET.register_namespace("", ATOM)
    feed = ET.Element(f"{{{ATOM}}}feed")
    ET.SubElement(feed, f"{{{ATOM}}}id").text = "urn:newswire:feeds:all"
    ET.SubElement(feed, f"{{{ATOM}}}title").text = "Newswire: all articles"
    ET.SubElement(feed, f"{{{ATOM}}}updated").text = _iso(updated or datetime.now(timezone.utc))
    ET.SubElement(feed, f"{{{ATOM}}}link", rel="self", type="application/atom+xml", href=base_url + "/feeds/all.atom")
    ET.SubElement(feed, f"{{{ATOM}}}generator").text = "Newswire"
    for item in items:
        entry = ET.SubElement(feed, f"{{{ATOM}}}entry")
        ET.SubElement(entry, f"{{{ATOM}}}id").text = f"urn:uuid:{item['id']}"
        ET.SubElement(entry, f"{{{ATOM}}}title").text = item["title"]
        ET.SubElement(entry, f"{{{ATOM}}}link", rel="alternate", type="text/html", href=item["canonical_url"])
        ET.SubElement(entry, f"{{{ATOM}}}updated").text = item["updated"]
        if item.get("published"):
            ET.SubElement(entry, f"{{{ATOM}}}published").text = item["published"]
        for name in item.get("authors") or []:
            ET.SubElement(ET.SubElement(entry, f"{{{ATOM}}}author"), f"{{{ATOM}}}name").text = name
        for keyword in item.get("keywords") or []:
            ET.SubElement(entry, f"{{{ATOM}}}category", term=keyword)
        ET.SubElement(entry, f"{{{ATOM}}}summary").text = (item["text"] or "")[:400]
        content = ET.SubElement(entry, f"{{{ATOM}}}content", type="html")
        content.text = item["html"] or ""
        if item.get("language"):
            entry.set("{http://www.w3.org/XML/1998/namespace}lang", item["language"])
    return ET.tostring(feed, encoding="utf-8", xml_declaration=True)
