"""Safe XML: no entity expansion, no external entities, no DTD loading, no network.

Feeds go to feedparser, whose strict path is expat: expat has its own
amplification limits, but a document type with entity declarations has no
business in a feed, sitemap, OPML or NewsML-G2 file, so it is removed before any
parser sees it (undeclared entities then stay unexpanded). Everything parsed
with lxml here goes through :func:`parse_xml`, whose parser resolves nothing.
"""

from __future__ import annotations

import re

from lxml import etree

# <!DOCTYPE name [ ... ]> or <!DOCTYPE name SYSTEM "..."> near the top of the document.
_DOCTYPE = re.compile(rb"<!DOCTYPE[^\[>]*(\[.*?\]\s*)?>", re.IGNORECASE | re.DOTALL)
_HEAD = 64 * 1024


class XMLSafetyError(ValueError):
    """The document is not XML we are willing to read."""


def strip_doctype(body: bytes) -> tuple[bytes, bool]:
    """Remove a document type declaration (and its internal subset) from the head; say whether one was there."""
    head = body[:_HEAD]
    match = _DOCTYPE.search(head)
    if match is None:
        # An internal subset can be longer than the head when it is an attack: cut it wherever it ends.
        start = head.upper().find(b"<!DOCTYPE")
        if start < 0:
            return body, False
        end = body.find(b"]>", start)
        end = body.find(b">", start) if end < 0 else end + 1
        if end < 0:
            raise XMLSafetyError("unterminated DOCTYPE declaration")
        return body[:start] + body[end + 1:], True
    return body[: match.start()] + body[match.end():], True


_PARSER_OPTIONS = dict(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False,
                       remove_comments=True, remove_pis=True)


def parse_xml(body: bytes, *, recover: bool = True) -> etree._Element:
    """Parse untrusted XML with lxml: DOCTYPE removed, no entity resolution, no network; recover mode by default."""
    cleaned, _ = strip_doctype(body.lstrip(b"\xef\xbb\xbf \t\r\n"))
    parser = etree.XMLParser(recover=recover, **_PARSER_OPTIONS)
    try:
        root = etree.fromstring(cleaned, parser)
    except etree.XMLSyntaxError as exc:
        raise XMLSafetyError(f"not well-formed XML: {exc}") from exc
    if root is None:
        raise XMLSafetyError("no XML document found")
    return root


def local_name(element: etree._Element) -> str:
    tag = element.tag
    if not isinstance(tag, str):
        return ""
    return tag.rsplit("}", 1)[-1]


def children(element: etree._Element, name: str) -> list[etree._Element]:
    """Child elements by local name, whatever their namespace."""
    return [child for child in element if local_name(child) == name]


def child_text(element: etree._Element, name: str) -> str | None:
    for child in element:
        if local_name(child) == name:
            text = "".join(child.itertext()).strip()
            return text or None
    return None
