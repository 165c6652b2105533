"""Article extraction: decode, parse once, read the metadata, find the story, sanitise.

``extract()`` is a plain function (no queue, no store): the CLI's
``newswire extract`` and the clean task both call it.
"""

from __future__ import annotations

import html
import re

import lxml.html
import nh3
from lxml import etree
from lxml.html import HtmlElement

from shared.errors import ExtractionError
from shared.markup import trim_attributes
from shared.payload import CleanPart, Image
from services.clean import content, metadata, quality
from services.clean import decode
from services.clean.decode import decode_html

EXTRACTOR_VERSION = "1"
BYLINE = re.compile(r"^\s*(by|written by|posted by|reporting by)\s+\S", re.IGNORECASE)

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


# What XML 1.0 cannot carry (C0 controls but tab, newline and return; U+FFFE, U+FFFF). One in a title (from the
# page, or from a JSON-LD string's \u0001) would make every Atom and RSS feed the article is in unreadable.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def xml_text(value: str | None) -> str | None:
    return _NOT_XML.sub("", value) if value else value


def parse(text: str) -> HtmlElement:
    """Parse decoded text with lxml's HTML parser (libxml2); a page with no markup still gets a <body>.

    Start tags with more than ``shared.markup.MAX_ATTRIBUTES`` attributes keep their first ones only (libxml2 takes
    time quadratic in a tag's attributes)."""
    text = trim_attributes(text)
    parser = lxml.html.HTMLParser(encoding="utf-8", remove_comments=True, remove_pis=True)
    try:
        return lxml.html.document_fromstring(text.encode("utf-8", "replace"), parser=parser)
    except (etree.ParserError, ValueError) as exc:
        raise ExtractionError(f"unparseable HTML: {exc}") from exc


HEADINGS = {"h1": "h2", "h2": "h2", "h3": "h3", "h4": "h4", "h5": "h5", "h6": "h6"}


def _linked(text: str, links: list[tuple[str, str]]) -> str:
    """The line as escaped HTML with its links put back (each anchor found after the one before it); nh3 later
    keeps only http(s) and mailto targets and adds rel=nofollow."""
    out: list[str] = []
    at = 0
    for anchor, href in links:
        found = text.find(anchor, at)
        if found < 0:
            continue
        out.append(html.escape(text[at:found], quote=False))
        out.append(f'<a href="{html.escape(href, quote=True)}">{html.escape(anchor, quote=False)}</a>')
        at = found + len(anchor)
    out.append(html.escape(text[at:], quote=False))
    return "".join(out)


def render_html(blocks: list[tuple[str, str]], images: list[Image],
                links: dict[str, list[tuple[str, str]]] | None = None) -> str:
    """Sanitised HTML of the story: headings, paragraphs (with their links), lists, quotes, then its figures with
    captions."""
    parts: list[str] = []
    in_list = False
    for tag, text in blocks:
        escaped = _linked(text, links[text]) if links and links.get(text) else html.escape(text, quote=False)
        if tag == "li":
            if not in_list:
                parts.append("<ul>")
                in_list = True
            parts.append(f"<li>{escaped}</li>")
            continue
        if in_list:
            parts.append("</ul>")
            in_list = False
        if tag in HEADINGS:
            parts.append(f"<{HEADINGS[tag]}>{escaped}</{HEADINGS[tag]}>")
        elif tag == "blockquote":
            parts.append(f"<blockquote><p>{escaped}</p></blockquote>")
        elif tag == "pre":
            parts.append(f"<pre>{escaped}</pre>")
        else:
            parts.append(f"<p>{escaped}</p>")
    if in_list:
        parts.append("</ul>")
    for image in images:
        caption = f"<figcaption>{html.escape(image.caption, quote=False)}</figcaption>" if image.caption else ""
        alt = html.escape(image.caption or "", quote=True)
        parts.append(f'<figure><img src="{html.escape(image.url, quote=True)}" alt="{alt}">{caption}</figure>')
    return sanitize_html("".join(parts))


def _only_names(text: str, names: list[str]) -> bool:
    """A line that is nothing but the byline's names (胡平 / 赵延东、风笑天)."""
    rest = metadata.ROLE.sub("", text)
    for name in names:
        rest = rest.replace(name, "")
    return bool(names) and rest.strip(" 、,，&＆/／:：()（）\u3000") == ""


def _drop_bylines(blocks: list[tuple[str, str]], authors: list[str], title: str | None) -> list[tuple[str, str]]:
    """Bylines among the first lines ("By Jane Doe", "Jane Doe, AP Writer", a line of names) are metadata, as is
    the headline said again below them."""
    names = [name for name in authors if len(name) > 3 or "\u4e00" <= name[:1] <= "\u9fff"]
    out = []
    for index, (tag, text) in enumerate(blocks):
        if index < 4 and len(text) <= 80 and (
            BYLINE.match(text) or _only_names(text, names)
            or any(text.startswith(name) for name in names if len(name) > 3)
            or (title and text.strip() == title.strip())
        ):
            continue
        out.append((tag, text))
    return out


def _heading_like(line: str) -> bool:
    return 4 <= len(line) <= 60 and not line.endswith(("。", ".", "，", ",", "：", ":", "；", ";"))


def _retitle(meta: metadata.Meta, body: content.Body) -> None:
    """A <title> the page never shows (a site name, "显示") loses to the headline the story opens with."""
    if meta.title_shown or not body.lines or not _heading_like(body.lines[0]):
        return
    headline = body.lines[0]
    meta.title = headline
    meta.title_shown = True
    while body.lines and body.lines[0] == headline:
        body.lines.pop(0)
        body.blocks.pop(0)


def _title_from_body(lines: list[str]) -> str:
    """A page with no <title>, no heading and no metadata: its first short line, else the text's opening words."""
    for line in lines[:3]:
        if 4 <= len(line) <= 60 and not line.endswith(("。", ".", "，", ",")):
            return line
    first = lines[0]
    return first if len(first) <= 60 else first[:60].rstrip() + "…"


def _second_engine(text: str) -> content.Body:
    """When our reader finds no story at all (every line of it inside links, say, as in a podcast post whose whole
    description links to the audio), trafilatura reads the page instead: an article is not dead-lettered for want of
    a second opinion. Only then: on pages where both find text ours measures better (benchmarks/README.md)."""
    import trafilatura

    found = trafilatura.extract(text, favor_precision=True, include_comments=False, include_tables=True,
                                deduplicate=False) or ""
    lines = [line.strip() for line in found.split("\n") if line.strip()]
    return content.Body(lines, None, blocks=[("p", line) for line in lines])


def extract(raw: bytes, url: str | None = None, http_charset: str | None = None) -> CleanPart:
    """Raw page bytes to a cleaned article (with its quality verdict; quarantine is the caller's decision)."""
    decoded = decode_html(raw, http_charset)
    root = parse(decoded.text)
    meta = metadata.read(root, url)
    body = content.extract_body(root, meta.title)
    engine = f"newswire-clean {EXTRACTOR_VERSION}"
    if not body.lines and not decode.reads_as_mojibake(decoded.text):
        body = _second_engine(trim_attributes(decoded.text))  # never on garbled text: our refusal stands there
        engine += " (trafilatura fallback)"
    if not body.lines:
        raise ExtractionError(f"no article text found in {url or 'the page'}")
    _retitle(meta, body)
    metadata.finish(meta, body.lines, body.credits)
    blocks = _drop_bylines(body.blocks, meta.authors, meta.title)
    if not blocks:
        raise ExtractionError(f"no article text found in {url or 'the page'}")
    lines = [text for _, text in blocks]
    title = (meta.title or "").strip() or _title_from_body(lines)
    text = "\n".join(lines)
    images = [Image(url=found, caption=caption) for src, caption in body.images
              if (found := metadata.web_url(url, src)) is not None]
    lead_image = meta.lead_image or (images[0].url if images else None)
    verdict = quality.judge(text, len(meta.page_text), body.link_density, decoded.replaced + decoded.suspects,
                            decoded.flag)
    return CleanPart(
        title=xml_text(title),
        text=xml_text(text),
        html=xml_text(render_html(blocks, images, {
            line: [(anchor, target) for anchor, href in found if (target := metadata.web_url(url, href))]
            for line, found in body.links.items()
        })),
        authors=[xml_text(name) for name in meta.authors],
        published=meta.published,
        site_name=xml_text(meta.site_name),
        canonical_url=meta.canonical_url if meta.canonical_url and meta.canonical_url != url else None,
        extractor=engine,
        source_name=xml_text(meta.source_name),
        summary=xml_text(meta.summary),
        lead_image=lead_image,
        images=[Image(url=image.url, caption=xml_text(image.caption)) for image in images],
        charset=decoded.charset,
        charset_reason=decoded.reason,
        charset_tried=decoded.tried,
        charset_candidates=decoded.candidates,
        quality=verdict.as_dict(),
    )
