"""Article extraction: trafilatura finds the story; nh3 sanitises its HTML.

``extract()`` is a plain function (no queue, no store): the CLI's
``newswire extract`` and the clean task both call it.
"""

from __future__ import annotations

from datetime import datetime, timezone

import nh3
import trafilatura
from lxml import etree

from shared.errors import ExtractionError
from shared.payload import CleanPart
from services.clean.decode import decode_html

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


def _body_html(document) -> str:  # noqa: ANN001
    from trafilatura.htmlprocessing import convert_to_html

    if document.body is None:
        return ""
    root = convert_to_html(document.body)
    body = root.find("body")
    inner = "".join(etree.tostring(child, encoding="unicode", method="html") for child in body)
    return sanitize_html(inner)


def _published(date: str | None) -> datetime | None:
    if not date:
        return None
    try:
        parsed = datetime.fromisoformat(date)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def extract(raw: bytes, url: str | None = None, http_charset: str | None = None) -> CleanPart:
    decoded = decode_html(raw, http_charset)
    document = trafilatura.bare_extraction(
        decoded.text,
        url=url,
        with_metadata=True,
        include_comments=False,
        include_tables=True,
        include_images=False,
    )
    if document is None or not (document.text or "").strip():
        raise ExtractionError(f"no article text found in {url or 'the page'}")
    title = (document.title or "").strip()
    if not title:
        raise ExtractionError(f"no title found in {url or 'the page'}")
    authors = [name.strip() for name in (document.author or "").split(";") if name.strip()]
    return CleanPart(
        title=title,
        text=document.text.strip(),
        html=_body_html(document),
        authors=authors,
        published=_published(document.date),
        site_name=document.sitename,
        canonical_url=document.url if document.url and document.url != url else None,
        extractor=f"trafilatura {trafilatura.__version__}; charset {decoded.charset} ({decoded.reason})",
    )
