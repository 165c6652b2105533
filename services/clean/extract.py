"""Article extraction: decode, parse once, read the metadata, find the story, sanitise.

``extract()`` is a plain function (no queue, no store): the CLI's
``newswire extract`` and the clean task both call it.
"""

from __future__ import annotations

import html

import lxml.html
import nh3
from lxml import etree
from lxml.html import HtmlElement

from shared.errors import ExtractionError
from shared.payload import CleanPart
from services.clean import content, metadata
from services.clean.decode import decode_html

EXTRACTOR_VERSION = "1"

ALLOWED_TAGS = {
    "p", "br", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "li", "blockquote", "pre", "code",
    "em", "strong", "b", "i", "u", "s", "del", "sub", "sup", "a", "img", "figure", "figcaption",
    "table", "thead", "tbody", "tr", "th", "td", "hr",
}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "img": {"src", "alt", "title"}}


def sanitize_html(html: str) -> str:
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
    )


def parse(text: str) -> HtmlElement:
    """Parse decoded text with lxml's HTML parser (libxml2); a page with no markup still gets a <body>."""
    parser = lxml.html.HTMLParser(encoding="utf-8", remove_comments=True, remove_pis=True)
    try:
        return lxml.html.document_fromstring(text.encode("utf-8", "replace"), parser=parser)
    except (etree.ParserError, ValueError) as exc:
        raise ExtractionError(f"unparseable HTML: {exc}") from exc


def _paragraphs_html(lines: list[str]) -> str:
    return sanitize_html("".join(f"<p>{html.escape(line)}</p>" for line in lines))


def _title_from_body(lines: list[str]) -> str:
    """A page with no <title>, no heading and no metadata: its first short line, else the text's opening words."""
    for line in lines[:3]:
        if 4 <= len(line) <= 60 and not line.endswith(("。", ".", "，", ",")):
            return line
    first = lines[0]
    return first if len(first) <= 60 else first[:60].rstrip() + "…"


def extract(raw: bytes, url: str | None = None, http_charset: str | None = None) -> CleanPart:
    decoded = decode_html(raw, http_charset)
    root = parse(decoded.text)
    meta = metadata.read(root, url)
    body = content.extract_body(root, meta.title)
    if not body.lines:
        raise ExtractionError(f"no article text found in {url or 'the page'}")
    metadata.finish(meta, body.lines, body.credits)
    title = (meta.title or "").strip() or _title_from_body(body.lines)
    text = "\n".join(body.lines)
    return CleanPart(
        title=title,
        text=text,
        html=_paragraphs_html(body.lines),
        authors=meta.authors,
        published=meta.published,
        site_name=meta.site_name,
        canonical_url=meta.canonical_url if meta.canonical_url and meta.canonical_url != url else None,
        extractor=f"newswire-clean {EXTRACTOR_VERSION}",
        source_name=meta.source_name,
        summary=meta.summary,
        lead_image=meta.lead_image,
        charset=decoded.charset,
        charset_reason=decoded.reason,
    )
