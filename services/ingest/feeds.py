"""Feed parsing: RSS/Atom through feedparser, JSON Feed by hand; each entry adapts to one FeedEntry."""

from __future__ import annotations

import json
from dataclasses import dataclass
from urllib.parse import urljoin

import feedparser

FEED_CONTENT_TYPES = {
    "application/rss+xml",
    "application/atom+xml",
    "application/rdf+xml",
    "application/xml",
    "text/xml",
    "application/feed+json",
    "application/json",
}


@dataclass
class FeedEntry:
    link: str | None
    title: str | None
    entry_id: str | None


@dataclass
class ParsedFeed:
    title: str | None
    entries: list[FeedEntry]
    format: str


def looks_like_feed(content_type: str, body: bytes) -> bool:
    """A feed by its content type or, since servers often mislabel feeds, by its first bytes."""
    head = body[:4096].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if head.startswith(b"{"):
        return content_type == "application/feed+json" or b"jsonfeed.org" in head or b'"items"' in body[:200_000]
    if head.startswith((b"<!doctype html", b"<html")):
        return False
    if content_type in FEED_CONTENT_TYPES or head.startswith((b"<?xml", b"<rss", b"<feed", b"<rdf:rdf")):
        return any(marker in head for marker in (b"<rss", b"<feed", b"<rdf:rdf"))
    return False


def parse_feed(body: bytes, base_url: str) -> ParsedFeed:
    stripped = body.lstrip(b"\xef\xbb\xbf \t\r\n")
    if stripped.startswith(b"{"):
        return _parse_json_feed(stripped, base_url)
    parsed = feedparser.parse(body, resolve_relative_uris=False, sanitize_html=False)
    entries = [
        FeedEntry(
            link=urljoin(base_url, entry.get("link")) if entry.get("link") else None,
            title=entry.get("title"),
            entry_id=entry.get("id"),
        )
        for entry in parsed.entries
    ]
    if not parsed.version and not entries:
        problem = parsed.get("bozo_exception")
        raise ValueError(f"not a feed: {problem or 'no feed format recognised'}")
    return ParsedFeed(title=parsed.feed.get("title"), entries=entries, format=parsed.version or "unknown")


def _parse_json_feed(body: bytes, base_url: str) -> ParsedFeed:
    try:
        document = json.loads(body, strict=False)  # control characters inside strings are common in the wild
    except ValueError as exc:
        raise ValueError(f"not a JSON Feed: {exc}") from exc
    if not isinstance(document, dict) or not isinstance(document.get("items"), list):
        raise ValueError("not a JSON Feed: no items list")
    entries = []
    for item in document["items"]:
        if not isinstance(item, dict):
            continue
        link = item.get("url") or item.get("external_url")
        entries.append(
            FeedEntry(
                link=urljoin(base_url, link) if isinstance(link, str) else None,
                title=item.get("title") if isinstance(item.get("title"), str) else None,
                entry_id=str(item.get("id")) if item.get("id") is not None else None,
            )
        )
    version = str(document.get("version", "")).rsplit("/", 1)[-1]
    return ParsedFeed(title=document.get("title"), entries=entries, format=f"json{version}")
