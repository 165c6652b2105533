"""Feed parsing: RSS 0.9x/1.0/2.0 and Atom 0.3/1.0 through feedparser, JSON Feed 1.0/1.1 by hand.

Every entry adapts to one :class:`FeedEntry` (title, link, id, date, summary,
content, authors); the feed's own hints (ttl, skipHours, its WebSub hub and
self URL) come along for the scheduler.

What we add to feedparser, and why:
- a DOCTYPE with entity declarations is removed first (:mod:`xmlsafe`), UTF-16 and UTF-32 documents made UTF-8
  before, so that no encoding slips past it;
- start tags keep their first 64 attributes (feedparser's attribute handling is quadratic: :mod:`shared.markup`);
- an absurd date costs its entry the date, not the whole feed;
- whitespace before the XML declaration is dropped (common; strict parsers refuse it);
- GB2312/GBK are read as GB18030 and Big5 as Big5-HKSCS (supersets real feeds need);
- dates: localised month names, "YYYY/M/D h:m:s", zone-less stamps kept as wall-clock (:mod:`dates`);
- relative entry links resolve against xml:base, else the feed's rel="self" URL, else the fetch URL.
"""

from __future__ import annotations

import codecs
import json
import re
from calendar import timegm
from dataclasses import dataclass, field
from datetime import datetime, timezone
from urllib.parse import urljoin

import feedparser

from shared.markup import trim_attributes
from services.ingest import dates
from services.ingest.xmlsafe import strip_doctype

FEED_CONTENT_TYPES = {
    "application/rss+xml",
    "application/atom+xml",
    "application/rdf+xml",
    "application/xml",
    "text/xml",
    "application/feed+json",
    "application/json",
}

CHARSET_SUPERSETS = {"gb2312": "gb18030", "gbk": "gb18030", "x-gbk": "gb18030", "cp936": "gb18030",
                     "big5": "big5hkscs", "x-big5": "big5hkscs"}

_XML_ENCODING = re.compile(rb"""^(?:\xef\xbb\xbf)?\s*<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._\-]+)["']""")
_TTL = re.compile(rb"<ttl>\s*(\d{1,6})\s*</ttl>", re.IGNORECASE)
_SKIP_HOURS = re.compile(rb"<skipHours>(.*?)</skipHours>", re.IGNORECASE | re.DOTALL)
_HOUR = re.compile(rb"<hour>\s*(\d{1,2})\s*</hour>", re.IGNORECASE)


@dataclass
class FeedEntry:
    link: str | None
    title: str | None
    entry_id: str | None
    published: datetime | None = None  # aware when the feed names a zone, naive (wall-clock) when it does not
    updated: datetime | None = None
    summary: str | None = None
    content: str | None = None  # HTML of the full content when the feed carries it
    authors: list[str] = field(default_factory=list)

    @property
    def key(self) -> str | None:
        """What identifies the entry within its feed: its id, else its link."""
        return self.entry_id or self.link


@dataclass
class ParsedFeed:
    title: str | None
    entries: list[FeedEntry]
    format: str
    encoding: str | None = None
    encoding_reason: str | None = None
    self_url: str | None = None
    hub_url: str | None = None
    ttl_minutes: int | None = None
    skip_hours: list[int] = field(default_factory=list)
    language: str | None = None
    problem: str | None = None  # what was wrong with it, when a reader had to cope (bozo)


def looks_like_feed(content_type: str, body: bytes) -> bool:
    """A feed by its content type or, since servers often mislabel feeds, by its first bytes."""
    head = body[:4096].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if head.startswith(b"{"):
        return content_type == "application/feed+json" or b"jsonfeed.org" in head or b'"items"' in body[:200_000]
    if head.startswith((b"<!doctype html", b"<html")):
        return False
    if content_type in FEED_CONTENT_TYPES or head.startswith((b"<?xml", b"<rss", b"<feed", b"<rdf:rdf", b"<!--")):
        return any(marker in head for marker in (b"<rss", b"<feed", b"<rdf:rdf"))
    return False


def _charset_override(body: bytes, http_charset: str | None) -> tuple[str | None, str | None]:
    """The charset to impose on feedparser (a superset of the declared one), and why; None to let it decide."""
    if http_charset and http_charset.lower() in CHARSET_SUPERSETS:
        return CHARSET_SUPERSETS[http_charset.lower()], f"HTTP charset {http_charset} read as its superset"
    if http_charset:
        return http_charset.lower(), "HTTP charset"
    match = _XML_ENCODING.match(body[:512])
    if match:
        declared = match.group(1).decode("ascii").lower()
        if declared in CHARSET_SUPERSETS:
            return CHARSET_SUPERSETS[declared], f"XML declaration {declared} read as its superset"
    return None, None


# UTF-32 before UTF-16: the UTF-32-LE mark begins with the UTF-16-LE one.
_WIDE = ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"), (codecs.BOM_UTF16_LE, "utf-16"),
         (codecs.BOM_UTF16_BE, "utf-16"), (b"<\0\0\0", "utf-32-le"), (b"\0\0\0<", "utf-32-be"),
         (b"<\0", "utf-16-le"), (b"\0<", "utf-16-be"))
_DECLARED = re.compile(r"""^(\s*<\?xml[^>]*?encoding\s*=\s*["'])[^"']*(["'])""")


def _as_utf8(body: bytes) -> bytes:
    """A UTF-16 or UTF-32 document as UTF-8 (its declaration saying so), so that the byte-level guards below (DOCTYPE,
    attribute counts) see it as they see any other; anything else as it is."""
    for mark, codec in _WIDE:
        if body.startswith(mark):
            try:
                text = body.decode(codec)
            except UnicodeDecodeError:
                return body
            return _DECLARED.sub(r"\1utf-8\2", text.lstrip("\ufeff"), count=1).encode("utf-8")
    return body


def parse_feed(body: bytes, base_url: str, http_charset: str | None = None) -> ParsedFeed:
    """Parse any feed dialect; raise ValueError (with the reason) when nothing of a feed can be read."""
    converted = _as_utf8(body)
    if converted is not body:
        body, http_charset = converted, None  # UTF-8 now, whatever the server said
    stripped = body.lstrip(b"\xef\xbb\xbf \t\r\n")
    if stripped.startswith(b"{") or stripped.startswith(b"["):
        return _parse_json_feed(stripped, base_url)
    if body.startswith(b"\xef\xbb\xbf"):
        body = b"\xef\xbb\xbf" + body[3:].lstrip(b" \t\r\n")
    else:
        body = body.lstrip(b" \t\r\n")
    if b"<!ENTITY" in body[:65536].upper():
        body, _ = strip_doctype(body)
    body = trim_attributes(body)  # feedparser's attribute handling is quadratic in a tag's attribute count
    charset, reason = _charset_override(body, http_charset)
    headers = {"content-type": f"application/xml; charset={charset}"} if charset else {"content-type": "application/xml"}
    parsed = feedparser.parse(body, response_headers=headers, resolve_relative_uris=False)
    if charset and parsed.bozo and ("encoding" in type(parsed.get("bozo_exception")).__name__.lower()
                                    or not (parsed.get("version") or parsed.entries)):
        # The imposed charset was wrong (servers lie): let feedparser read the document's own declaration.
        parsed = feedparser.parse(body, response_headers={"content-type": "application/xml"},
                                  resolve_relative_uris=False)
        charset, reason = None, None
    if not parsed.get("version") and not parsed.entries:
        problem = parsed.get("bozo_exception")
        raise ValueError(f"not a feed: {problem or 'no feed format recognised'}")
    feed = parsed.feed
    self_url = hub_url = None
    for link in feed.get("links", []):
        href = link.get("href") or ""
        if link.get("rel") == "self" and href.startswith(("http://", "https://")) and not self_url:
            self_url = href
        if link.get("rel") == "hub" and href.startswith(("http://", "https://")) and not hub_url:
            hub_url = href
    link_base = self_url or base_url
    entries = [_entry(entry, link_base) for entry in parsed.entries]
    ttl = _TTL.search(body[:65536])
    skip = _SKIP_HOURS.search(body[:65536])
    return ParsedFeed(
        title=feed.get("title"),
        entries=entries,
        format=parsed.get("version") or "unknown",
        encoding=charset or parsed.get("encoding"),
        encoding_reason=reason or ("declared or detected by feedparser" if parsed.get("encoding") else None),
        self_url=self_url,
        hub_url=hub_url,
        ttl_minutes=int(ttl.group(1)) if ttl else None,
        skip_hours=sorted({int(h) for h in _HOUR.findall(skip.group(1)) if int(h) < 24}) if skip else [],
        language=feed.get("language"),
        problem=str(parsed.get("bozo_exception"))[:500] if parsed.bozo else None,
    )


def _when(entry: dict, field_name: str) -> datetime | None:
    """The entry's date, or None when it has none or none that can be: one absurd date ("year 0", 99999) costs that
    entry its date, not the whole feed."""
    try:
        return _date_of(entry, field_name)
    except (ValueError, OverflowError, OSError):
        return None


def _date_of(entry: dict, field_name: str) -> datetime | None:
    raw = entry.get(field_name)
    if not raw:
        return None
    special = dates.parse_date(raw)
    if special is not None:
        return special
    parsed = entry.get(f"{field_name}_parsed")
    if parsed:
        value = datetime.fromtimestamp(timegm(parsed), tz=timezone.utc)
        return value if dates.has_zone(raw) else value.replace(tzinfo=None)
    # RFC 822 feedparser refused (no zone, a localised weekday): the wall-clock, and the zone when given, are known.
    return dates.rfc822(raw)


def _entry(entry: dict, link_base: str) -> FeedEntry:
    link = entry.get("link")
    content = None
    for part in entry.get("content") or []:
        if part.get("value"):
            content = part["value"]
            break
    authors = [a.get("name") for a in entry.get("authors", []) if isinstance(a, dict) and a.get("name")]
    if not authors and entry.get("author"):
        authors = [entry["author"]]
    published = _when(entry, "published") or _when(entry, "created")
    updated = _when(entry, "updated")
    return FeedEntry(
        link=urljoin(link_base, link.strip()) if link else None,
        title=entry.get("title"),
        entry_id=entry.get("id") or None,
        published=published or updated,
        updated=updated,
        summary=entry.get("summary") or None,
        content=content,
        authors=authors,
    )


def _parse_json_feed(body: bytes, base_url: str) -> ParsedFeed:
    try:
        document = json.loads(body, strict=False)  # control characters inside strings are common in the wild
    except (ValueError, RecursionError) as exc:  # RecursionError: arrays nested thousands deep
        raise ValueError(f"not a JSON Feed: {exc}") from exc
    if not isinstance(document, dict) or not isinstance(document.get("items"), list):
        raise ValueError("not a JSON Feed: no items list")
    feed_url = document.get("feed_url") if isinstance(document.get("feed_url"), str) else None
    link_base = feed_url if feed_url and feed_url.startswith(("http://", "https://")) else base_url
    hubs = document.get("hubs") if isinstance(document.get("hubs"), list) else []
    hub_url = next((h.get("url") for h in hubs if isinstance(h, dict) and isinstance(h.get("url"), str)), None)
    entries = []
    for item in document["items"]:
        if not isinstance(item, dict):
            continue
        link = item.get("url") or item.get("external_url")
        authors = item.get("authors") if isinstance(item.get("authors"), list) else []
        if isinstance(item.get("author"), dict):
            authors = authors + [item["author"]]
        published = _json_date(item.get("date_published"))
        updated = _json_date(item.get("date_modified"))
        entries.append(
            FeedEntry(
                link=urljoin(link_base, link.strip()) if isinstance(link, str) else None,
                title=item.get("title") if isinstance(item.get("title"), str) else None,
                entry_id=str(item.get("id")) if item.get("id") is not None else None,
                published=published or updated,
                updated=updated,
                summary=item.get("summary") if isinstance(item.get("summary"), str) else None,
                content=_text(item.get("content_html")) or _html_of(_text(item.get("content_text"))),
                authors=[a["name"] for a in authors if isinstance(a, dict) and isinstance(a.get("name"), str)],
            )
        )
    version = str(document.get("version", "")).rstrip("/").rsplit("/", 1)[-1]
    return ParsedFeed(title=document.get("title") if isinstance(document.get("title"), str) else None,
                      entries=entries, format=f"json{version}", encoding="utf-8", encoding_reason="JSON is UTF-8",
                      self_url=feed_url, hub_url=hub_url,
                      language=document.get("language") if isinstance(document.get("language"), str) else None)


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


def _html_of(text: str | None) -> str | None:
    if not text:
        return None
    from html import escape

    return "".join(f"<p>{escape(line)}</p>" for line in text.splitlines() if line.strip())


def _json_date(value: object) -> datetime | None:
    try:
        return _json_date_of(value)
    except (ValueError, OverflowError, OSError):  # an absurd date costs the item its date, not the feed
        return None


def _json_date_of(value: object) -> datetime | None:
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        parsed = dates.parse_date(text)
        if parsed is None:
            from feedparser.datetimes import _parse_date

            parsed_tuple = _parse_date(text)
            return datetime.fromtimestamp(timegm(parsed_tuple), tz=timezone.utc) if parsed_tuple else None
    return parsed


# -- as a source -------------------------------------------------------------------
def listing(body: bytes, url: str, http_charset: str | None = None):  # noqa: ANN201
    """A feed's entries as source items (services.ingest.items.Listing)."""
    from services.ingest.items import Item, Listing

    parsed = parse_feed(body, url, http_charset)
    result = Listing(title=parsed.title, ttl_minutes=parsed.ttl_minutes, skip_hours=parsed.skip_hours,
                     hub_url=parsed.hub_url, self_url=parsed.self_url, charset=parsed.encoding,
                     charset_reason=parsed.encoding_reason, format=parsed.format)
    if parsed.problem:
        result.notes.append(f"malformed feed read leniently: {parsed.problem}")
    for entry in parsed.entries:
        # An entry without a web link still is a story (the feed carries it): its id stands for the link.
        link = entry.link or entry.entry_id
        if not link:
            result.notes.append(f"entry {entry.title!r} has neither a link nor an id: skipped")
            continue
        result.items.append(Item(url=link, title=entry.title, guid=entry.entry_id, published=entry.published,
                                 updated=entry.updated, summary=entry.summary, content=entry.content,
                                 authors=entry.authors, language=parsed.language))
    return result
