"""Index pages without a feed: a listing page whose article links are discovered.

Links are kept when they stay on the same site and look like story URLs (dated
paths, long numeric ids, slugs, .html articles), or, when the source names a
CSS selector (option ``selector``), when they match it. The anchor text is the
item's title until the page itself is read.
"""

from __future__ import annotations

from urllib.parse import urljoin

import lxml.html

from shared.errors import UnsupportedContentError
from services.ingest.items import Item, Listing
from services.ingest.sources import SourceView
from services.ingest.urls import canonical_url, looks_like_article, same_site


def discover_links(html: bytes, page_url: str, selector: str | None = None) -> list[Item]:
    try:
        document = lxml.html.document_fromstring(html)
    except (ValueError, lxml.etree.ParserError) as exc:
        raise UnsupportedContentError(f"{page_url}: not an HTML page ({exc})") from exc
    base = document.xpath("string(//base/@href)") or page_url
    if selector:
        try:
            anchors = document.cssselect(selector)
        except Exception as exc:  # noqa: BLE001  (a bad selector is the operator's to fix: say so)
            raise UnsupportedContentError(f"invalid CSS selector {selector!r}: {exc}") from exc
        anchors = [a for node in anchors for a in ([node] if node.tag == "a" else node.iter("a"))]
    else:
        anchors = document.iter("a")
    items: list[Item] = []
    seen: set[str] = set()
    for anchor in anchors:
        href = (anchor.get("href") or "").strip()
        if not href or href.startswith(("#", "javascript:", "mailto:")):
            continue
        url = urljoin(base, href)
        keep = same_site(url, page_url) and url.startswith(("http://", "https://")) if selector \
            else looks_like_article(url, page_url)
        if not keep:
            continue
        key = canonical_url(url)
        if key in seen:
            continue
        seen.add(key)
        title = " ".join(anchor.text_content().split()) or anchor.get("title")
        items.append(Item(url=url, title=title or None))
    return items


def read_index(source: SourceView) -> Listing:
    from services.ingest.poll import _conditional_fetch

    fetched, meta = _conditional_fetch(source, "text/html,application/xhtml+xml;q=0.9,*/*;q=0.5")
    if meta.not_modified:
        return meta
    meta.items = discover_links(fetched.body, fetched.url, (source.options or {}).get("selector"))
    if not meta.items:
        meta.notes.append("no article-like links found on the page (set a CSS selector with --option selector=...)")
    return meta


def _register() -> None:
    from services.ingest.poll import READERS

    READERS["index"] = read_index


_register()
