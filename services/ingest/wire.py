"""Wire formats in: ninjs (IPTC's JSON, 1.x and 2.x) and NewsML-G2 (IPTC's XML: newsItem, or a newsMessage of them).

Each news item becomes an Item carrying its full body, so the clean stage reads it
without another fetch. The item's URL is its http(s) uri/link when it has one, else its
guid (urn:...), which keys the story the same way every time it is sent again.
"""

from __future__ import annotations

import json
from datetime import datetime
from html import escape

from shared.errors import UnsupportedContentError
from services.ingest import dates
from services.ingest.items import Item, Listing
from services.ingest.sources import SourceView
from services.ingest.xmlsafe import XMLSafetyError, children, child_text, local_name, parse_xml


def _date(value: object) -> datetime | None:
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        return datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return dates.parse_date(value)


def looks_like_wire(body: bytes) -> str | None:
    head = body[:4096].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith((b"{", b"[")):
        return "ninjs" if (b'"uri"' in head or b'"headline' in head) and b'"items"' not in head[:200] else None
    if b"newsItem" in head or b"newsMessage" in head or b"iptc.org/std/nar" in head:
        return "newsml"
    return None


# -- ninjs ----------------------------------------------------------------------------
def parse_ninjs(body: bytes, base_url: str) -> list[Item]:
    try:
        document = json.loads(body.decode("utf-8-sig"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise UnsupportedContentError(f"{base_url}: not ninjs JSON ({exc})") from exc
    objects = document if isinstance(document, list) else document.get("items", [document]) \
        if isinstance(document, dict) else []
    items = [_ninjs_item(obj, base_url) for obj in objects if isinstance(obj, dict)]
    items = [item for item in items if item is not None]
    if not items:
        raise UnsupportedContentError(f"{base_url}: no ninjs item with a uri and a headline or body")
    return items


def _ninjs_item(obj: dict, base_url: str) -> Item | None:
    uri = obj.get("uri") or obj.get("guid")
    headline = obj.get("headline")
    if not headline and isinstance(obj.get("headlines"), list) and obj["headlines"]:
        headline = obj["headlines"][0].get("value") if isinstance(obj["headlines"][0], dict) else None
    html = obj.get("body_html")
    text = obj.get("body_text")
    for body in obj.get("bodies") or []:  # ninjs 2.x
        if isinstance(body, dict) and isinstance(body.get("value"), str):
            if "html" in str(body.get("contenttype", "")):
                html = html or body["value"]
            else:
                text = text or body["value"]
    if not html and isinstance(text, str):
        html = "".join(f"<p>{escape(line)}</p>" for line in text.splitlines() if line.strip())
    if not isinstance(uri, str) or not (headline or html):
        return None
    links = [link.get("href") for link in obj.get("links") or [] if isinstance(link, dict)
             and str(link.get("rel", "")).endswith(("canonical", "self", "alternate")) and isinstance(link.get("href"), str)]
    url = next((u for u in [uri, *links] if u.startswith(("http://", "https://"))), uri)
    authors = [obj["byline"]] if isinstance(obj.get("byline"), str) else []
    for person in obj.get("by") or []:
        if isinstance(person, dict) and isinstance(person.get("name"), str):
            authors.append(person["name"])
    description = obj.get("description_text") or obj.get("description_html")
    return Item(url=url, guid=uri, title=headline if isinstance(headline, str) else None,
                published=_date(obj.get("firstcreated")) or _date(obj.get("versioncreated")),
                updated=_date(obj.get("versioncreated")), summary=description if isinstance(description, str) else None,
                content=html, authors=authors, language=obj.get("language") if isinstance(obj.get("language"), str) else None,
                lastmod=str(obj.get("version") or obj.get("versioncreated") or "") or None)


# -- NewsML-G2 -------------------------------------------------------------------------
def parse_newsml(body: bytes, base_url: str) -> list[Item]:
    try:
        root = parse_xml(body)
    except XMLSafetyError as exc:
        raise UnsupportedContentError(f"{base_url}: {exc}") from exc
    news_items = [root] if local_name(root) == "newsItem" else [
        node for node in root.iter() if local_name(node) == "newsItem"]
    items = [_newsml_item(node) for node in news_items]
    items = [item for item in items if item is not None]
    if not items:
        raise UnsupportedContentError(f"{base_url}: no NewsML-G2 newsItem with a headline or content")
    return items


def _first(node, *path: str):  # noqa: ANN001, ANN202
    current = [node]
    for name in path:
        current = [child for parent in current for child in children(parent, name)]
        if not current:
            return None
    return current[0]


def _newsml_item(node) -> Item | None:  # noqa: ANN001
    from lxml import etree

    guid = node.get("guid")
    item_meta = _first(node, "itemMeta")
    content_meta = _first(node, "contentMeta")
    headline = child_text(content_meta, "headline") if content_meta is not None else None
    language = None
    if content_meta is not None:
        lang_node = _first(content_meta, "language")
        language = lang_node.get("tag") if lang_node is not None else None
    language = language or node.get("{http://www.w3.org/XML/1998/namespace}lang")
    authors = []
    if content_meta is not None:
        for by in children(content_meta, "by"):
            text = "".join(by.itertext()).strip()
            if text:
                authors.append(text)
        for creator in children(content_meta, "creator"):
            name = child_text(creator, "name")
            if name:
                authors.append(name)
    html = None
    content_set = _first(node, "contentSet")
    if content_set is not None:
        for inline in content_set:
            name = local_name(inline)
            if name == "inlineXML":
                body = next((el for el in inline.iter() if local_name(el) == "body"), None)
                target = body if body is not None else inline
                html = "".join(etree.tostring(child, encoding="unicode", method="html") for child in target) \
                    or "".join(target.itertext())
                break
            if name == "inlineData":
                text = "".join(inline.itertext())
                html = "".join(f"<p>{escape(line)}</p>" for line in text.splitlines() if line.strip())
                break
    if not guid or not (headline or html):
        return None
    link = None
    if item_meta is not None:
        for link_node in children(item_meta, "link"):
            href = link_node.get("href") or ""
            if href.startswith(("http://", "https://")):
                link = href
                break
    created = child_text(item_meta, "firstCreated") if item_meta is not None else None
    versioned = child_text(item_meta, "versionCreated") if item_meta is not None else None
    summary = child_text(content_meta, "description") if content_meta is not None else None
    return Item(url=link or guid, guid=guid, title=headline, published=_date(created) or _date(versioned),
                updated=_date(versioned), summary=summary, content=html, authors=authors, language=language,
                lastmod=node.get("version") or versioned)


def parse_wire(body: bytes, base_url: str) -> tuple[str, list[Item]]:
    kind = looks_like_wire(body)
    if kind == "ninjs":
        return kind, parse_ninjs(body, base_url)
    if kind == "newsml":
        return kind, parse_newsml(body, base_url)
    raise UnsupportedContentError(f"{base_url}: neither ninjs nor NewsML-G2")


def read_wire(source: SourceView) -> Listing:
    from services.ingest.poll import _conditional_fetch

    fetched, meta = _conditional_fetch(source, "application/json, application/vnd.iptc.g2.newsitem+xml, "
                                               "application/xml;q=0.9, */*;q=0.5")
    if meta.not_modified:
        return meta
    meta.format, meta.items = parse_wire(fetched.body, fetched.url)
    return meta


def _register() -> None:
    from services.ingest.poll import READERS

    READERS["wire"] = read_wire


_register()
