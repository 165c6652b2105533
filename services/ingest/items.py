"""What every kind of source reads into: a Listing of Items, plus hints for the scheduler."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timezone
from html import escape

from shared.payload import SourceItem, content_hash


@dataclass
class Item:
    url: str
    title: str | None = None
    guid: str | None = None
    published: datetime | None = None  # aware, or naive when the source gave no zone
    updated: datetime | None = None
    summary: str | None = None
    content: str | None = None  # full HTML when the source carries it
    authors: list[str] = field(default_factory=list)
    lastmod: str | None = None  # sitemap lastmod / file mtime: a change means a new version
    language: str | None = None
    path: str | None = None  # a local file (drop folder)
    raw: bytes | None = None  # the page itself when the source delivered it (push, WebSub, single page)
    content_type: str | None = None
    key_extra: str = ""  # set when items without an id share a URL (see poll._unique)

    @property
    def key(self) -> str:
        """Identity within the source: its id (guid), else its URL."""
        return hashlib.sha256(((self.guid or self.url) + self.key_extra).encode("utf-8")).hexdigest()

    @property
    def fingerprint(self) -> str:
        """Changes when the source says the item changed."""
        if self.raw is not None:
            return hashlib.sha256(self.raw).hexdigest()
        return content_hash(self.title or "", self.content or self.summary or "", self.lastmod or "",
                            iso(self.updated) or "")

    def source_item(self, kind: str, feed_title: str | None = None) -> SourceItem:
        return SourceItem(url=self.url, kind=kind, guid=self.guid, title=self.title, published=iso(self.published),
                          updated=iso(self.updated), summary=(self.summary or None) and self.summary[:4000],
                          authors=self.authors[:20], language=self.language, feed_title=feed_title)


@dataclass
class Listing:
    items: list[Item] = field(default_factory=list)
    title: str | None = None
    not_modified: bool = False
    status: int | None = None
    bytes: int = 0
    etag: str | None = None
    last_modified: str | None = None
    max_age: float | None = None
    retry_after: float | None = None
    ttl_minutes: int | None = None
    skip_hours: list[int] = field(default_factory=list)
    hub_url: str | None = None
    self_url: str | None = None
    charset: str | None = None
    charset_reason: str | None = None
    format: str | None = None
    notes: list[str] = field(default_factory=list)  # what was skipped or coped with, for the operator
    more: bool = False  # items were left for the next poll (which should come soon)


def iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(microsecond=0).isoformat()
    return value.astimezone(timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def as_utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


def entry_page(item: Item, language: str | None = None) -> bytes:
    """An HTML page made of what the source carried (title, date, authors, content), for the clean stage to read."""
    title = escape(item.title or "")
    body = item.content or item.summary or ""
    if body and "<" not in body:
        body = "".join(f"<p>{escape(line)}</p>" for line in body.splitlines() if line.strip())
    meta = [f'<meta charset="utf-8">', f"<title>{title}</title>", f'<meta property="og:title" content="{title}">',
            f'<link rel="canonical" href="{escape(item.url)}">', f'<meta property="og:url" content="{escape(item.url)}">']
    when = iso(item.published)
    if when:
        meta.append(f'<meta property="article:published_time" content="{escape(when)}">')
    for author in item.authors[:5]:
        meta.append(f'<meta name="author" content="{escape(author)}">')
    if item.summary:
        meta.append(f'<meta name="description" content="{escape(_text(item.summary)[:500])}">')
    lang = f' lang="{escape(language or item.language)}"' if (language or item.language) else ""
    time_tag = f'<time datetime="{escape(when)}">{escape(when)}</time>' if when else ""
    byline = f'<p class="byline">{escape(", ".join(item.authors[:5]))}</p>' if item.authors else ""
    page = (f"<!DOCTYPE html><html{lang}><head>{''.join(meta)}</head><body><article><h1>{title}</h1>"
            f"{time_tag}{byline}<div class=\"content\">{body}</div></article></body></html>")
    return page.encode("utf-8")


def _text(html: str) -> str:
    import re

    return " ".join(re.sub(r"<[^>]+>", " ", html).split())
