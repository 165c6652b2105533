"""Sitemaps: a sitemap index, a urlset, a Google News sitemap (news:title, news:publication_date), gzip or not.

Only new or changed URLs go on: each URL is an item whose fingerprint includes its
lastmod, so an unchanged URL is skipped by the seen set and a re-dated one becomes a
new version. A sitemap index is followed one level down; its child sitemaps are
fetched when their own lastmod changed since the last poll (kept in Redis), newest first.
"""

from __future__ import annotations

import gzip
import zlib
from datetime import datetime
from urllib.parse import urljoin

from shared.errors import TooLargeError, UnsupportedContentError
from shared.settings import get_settings
from services.ingest import dates, fetcher
from services.ingest.items import Item, Listing
from services.ingest.sources import SourceView
from services.ingest.xmlsafe import XMLSafetyError, children, child_text, local_name, parse_xml

MAX_CHILD_SITEMAPS = 20
CHILD_KEY = "newswire:ingest:sitemap-children:{}"


def gunzip_bounded(body: bytes, limit: int) -> bytes:
    """Inflate a .gz sitemap, refusing more than ``limit`` bytes out (a gzip bomb stops there)."""
    decoder = zlib.decompressobj(16 + zlib.MAX_WBITS)
    out = decoder.decompress(body, limit + 1)
    if len(out) > limit or decoder.unconsumed_tail:
        raise TooLargeError(f"gzip sitemap inflates past {limit} bytes (compression bomb?)")
    return out


def _body(body: bytes) -> bytes:
    if body[:2] == b"\x1f\x8b":
        try:
            return gunzip_bounded(body, get_settings().max_body_bytes)
        except (zlib.error, EOFError, gzip.BadGzipFile) as exc:
            raise UnsupportedContentError(f"corrupt gzip sitemap: {exc}") from exc
    return body


def _date(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return dates.parse_date(text) or dates.rfc822(text)


def parse_sitemap(body: bytes, base_url: str) -> tuple[str, list[Item], list[tuple[str, str | None]]]:
    """("urlset" | "sitemapindex", items, child sitemaps as (url, lastmod))."""
    try:
        root = parse_xml(_body(body))
    except XMLSafetyError as exc:
        raise UnsupportedContentError(f"{base_url}: {exc}") from exc
    kind = local_name(root)
    if kind == "sitemapindex":
        found = []
        for node in children(root, "sitemap"):
            loc = child_text(node, "loc")
            if loc:
                found.append((urljoin(base_url, loc), child_text(node, "lastmod")))
        return kind, [], found
    if kind != "urlset":
        raise UnsupportedContentError(f"{base_url} is not a sitemap (root element <{kind}>)")
    items = []
    for node in children(root, "url"):
        loc = child_text(node, "loc")
        if not loc:
            continue
        lastmod = child_text(node, "lastmod")
        title = published = None
        language = None
        for news in children(node, "news"):
            title = child_text(news, "title")
            published = _date(child_text(news, "publication_date"))
            for publication in children(news, "publication"):
                language = child_text(publication, "language")
        items.append(Item(url=urljoin(base_url, loc), title=title, published=published or _date(lastmod),
                          lastmod=lastmod or (published.isoformat() if published else None), language=language))
    return kind, items, []


def read_sitemap(source: SourceView) -> Listing:
    from services.ingest.poll import _conditional_fetch

    fetched, meta = _conditional_fetch(source, "application/xml, text/xml;q=0.9, */*;q=0.5")
    if meta.not_modified:
        return meta
    kind, items, nested = parse_sitemap(fetched.body, fetched.url)
    meta.format = kind
    if kind == "urlset":
        meta.items = _newest_first(items)
        return meta
    from shared.redis_client import get_redis

    client = get_redis()
    known_key = CHILD_KEY.format(source.id)
    known = {k.decode(): v.decode() for k, v in client.hgetall(known_key).items()}
    changed = [(url, lastmod) for url, lastmod in nested if known.get(url) != (lastmod or "?")]
    changed.sort(key=lambda pair: pair[1] or "", reverse=True)
    fetched_children = {}
    for url, lastmod in changed[:MAX_CHILD_SITEMAPS]:
        try:
            child = fetcher.fetch(url, options=source.options, accept="application/xml, text/xml;q=0.9, */*;q=0.5")
            _, child_items, _ = parse_sitemap(child.body, child.url)
        except Exception as exc:  # noqa: BLE001  (one bad child does not sink the index)
            meta.notes.append(f"child sitemap {url} skipped: {getattr(exc, 'reason', exc)}")
            continue
        meta.items.extend(child_items)
        meta.bytes += len(child.body)
        fetched_children[url] = lastmod or "?"
    if len(changed) > MAX_CHILD_SITEMAPS:
        meta.notes.append(f"{len(changed) - MAX_CHILD_SITEMAPS} changed child sitemaps left for the next poll")
    if fetched_children:
        client.hset(known_key, mapping=fetched_children)
    meta.items = _newest_first(meta.items)
    return meta


def _newest_first(items: list[Item]) -> list[Item]:
    return sorted(items, key=lambda item: item.lastmod or "", reverse=True)


def _register() -> None:
    from services.ingest.poll import READERS

    READERS["sitemap"] = read_sitemap


_register()
