"""Main text: find the story's container in a parsed page and read its paragraphs.

A readability-style scorer made CJK-aware, written here because no library does all of it (see
docs/architecture.md, Clean):

- text length is weighted: a Han/kana/hangul character carries about as much as two Latin letters, so a
  Chinese paragraph of 40 characters counts like an English one of 80;
- commas count in both scripts (，、；。 as well as , ;);
- one bottom-up pass computes every element's text, link text and inline text, so scoring is linear in
  the page (no repeated ``text_content()`` calls);
- text that sits directly in a <div>/<td> between <br>s (common on Chinese sites) is a paragraph of that
  container;
- page furniture goes before scoring (class/id tokens, <nav>, forms' controls) and after it, line by line:
  link lists, boilerplate phrases (版权所有, 分享到, Related Articles ...), credit lines (责任编辑：...),
  and everything after a "相关推荐" / "Related Articles" heading;
- a link line is the story's own where its place says so: a short one between two paragraphs of the story that
  leads into the next (a digest's linked item title), or an item of a list a sentence introduces with a colon
  (show notes, sources); never one that is labelled ("Related: …"), shouts, or is furniture by itself.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field

from lxml import etree
from lxml.html import HtmlElement

from services.clean import boilerplate

DROP_TAGS = ("script", "style", "noscript", "iframe", "object", "embed", "svg", "canvas", "select", "button",
             "input", "textarea", "nav", "template", "map", "audio", "video", "title", "link", "meta", "base")
BLOCK_TAGS = frozenset({
    "p", "div", "td", "th", "tr", "tbody", "thead", "tfoot", "table", "li", "ul", "ol", "dl", "dt", "dd",
    "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "section", "article", "main", "figure",
    "figcaption", "form", "center", "header", "footer", "aside", "address", "hr", "body", "html", "fieldset",
    "details", "summary", "caption", "hgroup",
})
PARAGRAPH_TAGS = frozenset({"p", "pre", "blockquote", "li", "dd", "dt", "h2", "h3", "h4", "h5", "h6",
                            "span", "font", "b", "strong", "em", "i", "a", "figcaption"})
CANDIDATE_BONUS = {"div": 5, "article": 8, "section": 3, "main": 5, "td": 3, "pre": 3, "blockquote": 3,
                   "form": -3, "ul": -3, "ol": -3, "dl": -3, "li": -3, "th": -5, "address": -3,
                   "h1": -5, "h2": -5, "h3": -5, "h4": -5, "h5": -5, "h6": -5}
CAPTION_TAGS = frozenset({"figcaption"})
# Blocks named as a picture's caption (div.caption, .image-caption, .imageEmbedCaption, .wp-caption-text).
CAPTION_NAMES = re.compile(r"caption", re.IGNORECASE)

_CJK = re.compile("[\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff\u3040-\u30ff]")
_COMMAS = re.compile("[,，、;；。]")
_SPACE = re.compile(r"\s+")
_UNREADABLE = re.compile("[\ufffd\x00-\x08\x0b\x0e-\x1f\x7f]")  # never handed on as text
MIN_PARAGRAPH = 25
RETRY_BELOW = 250
PART_SHARE = 0.3
PART_LEVELS = 6
PART_CANDIDATES = 60  # best-scoring candidates looked at as further parts of the story
NAMED_SIZE = 500  # weighted characters a container needs for its class name to count in full
LINKS_PER_LINE = 100  # links kept for the HTML of one line (bounded work on a hostile page of endless links)


def weight(text: str | None) -> int:
    """Length with CJK characters counted double (they carry about two Latin letters' worth of text)."""
    if not text:
        return 0
    text = text.strip()
    return len(text) + len(_CJK.findall(text)) if text else 0


@dataclass
class Stats:
    total: int = 0
    links: int = 0
    inline: int = 0
    inline_links: int = 0
    commas: int = 0


@dataclass
class Line:
    text: str
    units: int
    link_units: int
    tag: str
    caption: bool = False
    links: list[tuple[str, str]] = field(default_factory=list)  # (anchor text, href) in the order they appear


@dataclass
class Body:
    lines: list[str]
    node: HtmlElement | None
    captions: list[str] = field(default_factory=list)
    link_density: float = 0.0
    credits: list[str] = field(default_factory=list)  # short lines dropped as credits/furniture: bylines live there
    blocks: list[tuple[str, str]] = field(default_factory=list)  # (block tag, text) for each line
    images: list[tuple[str, str | None]] = field(default_factory=list)  # (src, caption) inside the story
    links: dict[str, list[tuple[str, str]]] = field(default_factory=dict)  # line text -> its links (anchor, href)


def _tag(el) -> str:  # noqa: ANN001
    tag = el.tag
    return tag.lower() if isinstance(tag, str) else ""


def _class_id(el) -> str:  # noqa: ANN001
    return f"{el.get('class') or ''} {el.get('id') or ''}"


def prune(root: HtmlElement, by_names: bool = True) -> None:
    """Remove what is never story text: scripts, styles, controls, navigation, and blocks named as furniture.

    A block named as furniture that holds over half the page's text is kept (some sites wrap the whole page in
    an "advertisement-off-canvas" or "header" div); scoring sorts it out. Reader comments are the exception: a
    short post under a long thread of replies is still the story (if nothing is left, extract_body reads the
    page again without this step).
    """
    etree.strip_elements(root, etree.Comment, etree.ProcessingInstruction, *DROP_TAGS, with_tail=False)
    doomed = _hover_cards(root)
    body_size = None
    for el in root.iter():
        tag = _tag(el)
        if not tag or tag in ("html", "body", "article", "main", "a"):
            continue
        if by_names:
            names = boilerplate.names(_class_id(el))
            if (names.strip() and boilerplate.UNLIKELY.search(names) and not boilerplate.MAYBE.search(names)
                    and not _embeds_a_post(el)):
                if body_size is None:
                    body_size = _text_size(root)
                if _text_size(el) <= 0.5 * body_size or boilerplate.COMMENTS.search(names):
                    doomed.append(el)
                    continue
        style = el.get("style")
        if style and "display:none" in style.replace(" ", "").lower():
            doomed.append(el)
        elif el.get("hidden") is not None:
            doomed.append(el)
    for el in doomed:
        if el.getparent() is not None:
            _drop_keep_tail(el)


INLINE_TAGS = frozenset({"span", "a", "em", "strong", "b", "i", "u", "small", "font", "sup", "sub", "cite", "abbr"})
CARD_LINKS = 2  # links a hover card holds besides its picture
CARD_LINK_SHARE = 0.6


def _hover_cards(root: HtmlElement) -> list:
    """Hover cards inside a sentence, whatever the site calls them: an inline element within a paragraph that holds a
    picture and a few links and little else (a person's card with their latest stories). Readers see it only on
    hover; read as text it lands mid-sentence. The card is the smallest inline element around the picture that
    holds the links, so the linked name in the sentence stays."""
    cards = []
    for img in root.iter("img"):
        for el in img.iterancestors():
            tag = _tag(el)
            if tag == "a":
                continue  # a linked picture: the card is around the link
            if tag not in INLINE_TAGS:
                break
            links = list(el.iter("a"))
            if len(links) < CARD_LINKS:
                continue
            text = _SPACE.sub("", el.text_content())
            link_text = sum(len(_SPACE.sub("", a.text_content())) for a in links)
            in_paragraph = any(_tag(a) in ("p", "li", "dd") for a in el.iterancestors())
            if in_paragraph and text and link_text >= CARD_LINK_SHARE * len(text):
                cards.append(el)
            break
    return cards


def _text_size(el) -> int:  # noqa: ANN001
    """Weighted length of an element's text without white space, for the few elements whose share of the page
    decides whether they go (cheaper than ``measure``, which prune would otherwise run on the whole page)."""
    text = _SPACE.sub("", el.text_content())
    return len(text) + len(_CJK.findall(text))


EMBEDDED_POST = re.compile(r"(?<![a-z0-9-])(?:twitter-tweet|instagram-media|tiktok-embed|bluesky-embed|"
                           r"fb-post|reddit-embed-bq)(?![a-z0-9-])")


def _embeds_a_post(el) -> bool:  # noqa: ANN001
    """A "social-embed" wrapper around a quoted tweet or post: the quote is part of the story, not a share bar."""
    return any(EMBEDDED_POST.search(q.get("class") or "") for q in el.iter("blockquote"))


def _drop_keep_tail(el) -> None:  # noqa: ANN001
    parent = el.getparent()
    tail = el.tail
    if tail and tail.strip():
        previous = el.getprevious()
        if previous is not None:
            previous.tail = (previous.tail or "") + tail
        else:
            parent.text = (parent.text or "") + tail
    parent.remove(el)


def measure(root: HtmlElement) -> dict:
    """One bottom-up pass: each element's text, link text, inline text (outside child blocks) and commas."""
    stats: dict = {}
    for el in reversed(list(root.iter())):
        tag = _tag(el)
        if not tag:
            continue
        s = Stats()
        own = weight(el.text)
        s.total = own
        s.inline = own
        s.commas = len(_COMMAS.findall(el.text)) if el.text else 0
        for child in el:
            cs = stats.get(child)
            tail = weight(child.tail)
            tail_commas = len(_COMMAS.findall(child.tail)) if child.tail else 0
            s.total += tail
            s.inline += tail
            s.commas += tail_commas
            if cs is None:
                continue
            s.total += cs.total
            s.links += cs.links
            if _tag(child) not in BLOCK_TAGS:
                s.inline += cs.inline
                s.inline_links += cs.inline if _tag(child) == "a" else cs.inline_links
                s.commas += cs.commas
        if tag == "a":
            s.links = s.total
        stats[el] = s
    return stats


def _class_weight(el) -> int:  # noqa: ANN001
    names = _class_id(el)
    if not names.strip():
        return 0
    score = 0
    if boilerplate.NEGATIVE.search(names):
        score -= 25
    if boilerplate.POSITIVE.search(names):
        score += 25
    return score


def _in_link(el) -> bool:  # noqa: ANN001
    return any(_tag(a) == "a" for a in el.iterancestors())


def score(root: HtmlElement, stats: dict) -> dict:
    """Readability's paragraph scoring, fed by inline text so <br>-separated text counts too."""
    scores: dict = {}

    def add(node, amount: float) -> None:  # noqa: ANN001
        if node not in scores:
            scores[node] = CANDIDATE_BONUS.get(_tag(node), 0) + _class_weight(node)
        scores[node] += amount

    for el, s in stats.items():
        if s.inline < MIN_PARAGRAPH or s.inline_links > 0.5 * s.inline:
            continue
        tag = _tag(el)
        value = 1 + s.commas + min(s.inline / 100, 3)
        if tag in ("span", "font", "b", "strong", "em", "i", "a"):
            continue  # counted through their block
        if _in_link(el) or (s.total < 2000 and boilerplate.is_footer(el.text_content())):
            continue  # a teaser inside a link, a copyright notice or a disclaimer is never the story
        if tag in PARAGRAPH_TAGS:
            node, level = el.getparent(), 0
        else:
            node, level = el, 0
        while node is not None and level < 5 and _tag(node) not in ("html",):
            divider = 1 if level == 0 else 2 if level == 1 else level * 3
            add(node, value / divider)
            node = node.getparent()
            level += 1
    for node in scores:
        s = stats.get(node)
        if s and s.total:
            # A class name such as "article-body" vouches for a container, not for a short heading inside it.
            names = _class_weight(node) * (1 - min(1.0, s.total / NAMED_SIZE))
            scores[node] = (scores[node] - names) * (1 - s.links / s.total)
    return scores


CAPTION_MAX = 600  # characters: a block named "caption" holding more is a container, not a caption


def _is_caption(el) -> bool:  # noqa: ANN001
    names = _class_id(el)
    return (bool(names.strip()) and CAPTION_NAMES.search(names) is not None
            and len(el.text_content()) <= CAPTION_MAX)


def _data_row(tr) -> bool:  # noqa: ANN001
    """A table row of plain cells (figures, names, short labels): read as one line, cells apart by spaces. A row
    holding a layout cell (paragraphs, line breaks) is read cell by cell as blocks."""
    for child in tr:
        if _tag(child) not in ("td", "th"):
            return False
        for inner in child.iterdescendants():
            if _tag(inner) in BLOCK_TAGS or _tag(inner) == "br":
                return False
    return len(tr) > 1


def _lines(node: HtmlElement) -> list[Line]:
    """The node's text as lines: a block element or <br> ends a line; links are counted per line."""
    lines: list[Line] = []
    parts: list[str] = []
    link = [0]
    total = [0]
    block_tag = ["p"]
    caption = [False]
    anchors: list[tuple[str, str]] = []

    def flush() -> None:
        text = _SPACE.sub(" ", _UNREADABLE.sub("", "".join(parts))).strip()
        if text:
            lines.append(Line(text, total[0], link[0], block_tag[0], caption[0],
                              [(anchor, href) for anchor, href in anchors if anchor in text]))
        parts.clear()
        anchors.clear()
        link[0] = 0
        total[0] = 0

    def text(value: str | None, in_link: bool) -> None:
        if value:
            parts.append(value)
            units = weight(value)
            total[0] += units
            if in_link:
                link[0] += units

    def walk(el, in_link: bool, in_caption: bool, cell: bool = False) -> None:  # noqa: ANN001
        tag = _tag(el)
        if not tag:
            return
        if tag == "br":
            flush()
            return
        if cell:  # a cell of a data row: its text joins the row's line
            parts.append(" ")
        is_block = tag in BLOCK_TAGS and not cell
        if is_block:
            flush()
            block_tag[0] = tag
            caption[0] = in_caption or tag in CAPTION_TAGS or _is_caption(el)
        if (tag == "a" and not in_link and len(anchors) < LINKS_PER_LINE
                and (href := (el.get("href") or "").strip()) and not href.startswith("#")):
            anchor = _SPACE.sub(" ", _UNREADABLE.sub("", el.text_content())).strip()
            if anchor:
                anchors.append((anchor, href))
        in_link = in_link or tag == "a"
        in_caption = in_caption or tag in CAPTION_TAGS or (is_block and _is_caption(el))
        text(el.text, in_link)
        row = tag == "tr" and _data_row(el)
        for child in el:
            walk(child, in_link, in_caption, row and _tag(child) in ("td", "th"))
            if (_tag(child) in BLOCK_TAGS and not row) or _tag(child) == "br":
                block_tag[0] = tag
                caption[0] = in_caption
            text(child.tail, in_link)
        if is_block:
            flush()

    walk(node, False, False)
    return lines


def _siblings(top, scores: dict, stats: dict) -> list:  # noqa: ANN001
    """Readability's sibling step: the story often spans the top candidate and some of its siblings.

    As in readability, a top candidate that is its parent's only element is replaced by that parent; here only
    through table rows and tables, so a <td> in a one-cell layout table has the tables beside it (a data table
    after the text) as siblings."""
    parent = top.getparent()
    while parent is not None and _tag(parent) in ("tr", "tbody", "table") and len(parent) == 1 \
            and stats.get(parent) and stats[parent].total == stats[top].total:
        top, parent = parent, parent.getparent()
    if parent is None:
        return [top]
    threshold = max(10.0, scores.get(top, 0) * 0.2)
    keep = []
    for sibling in parent:
        if sibling is top:
            keep.append(sibling)
            continue
        if not _tag(sibling):
            continue
        names_bonus = 0
        if _class_id(sibling) == _class_id(top) and _class_id(top).strip():
            names_bonus = scores.get(top, 0) * 0.2
        if scores.get(sibling, 0) + names_bonus >= threshold:
            keep.append(sibling)
            continue
        s = stats.get(sibling)
        if s is None or _tag(_unwrap(sibling)) not in ("p", "blockquote", "pre", "h2", "h3", "h4"):
            continue
        density = s.links / s.total if s.total else 1
        if s.total > 80 and density < 0.25:
            keep.append(sibling)
        elif 0 < s.total <= 80 and density == 0 and re.search(r"[.。!?！？]\s*$", sibling.text_content() or ""):
            keep.append(sibling)
    return keep


def _unwrap(el):  # noqa: ANN001, ANN202
    """A wrapper that holds one element and no text of its own (<div><p>lead</p></div>) stands for that element."""
    while len(el) == 1 and not (el.text or "").strip() and not (el[0].tail or "").strip() and _tag(el[0]):
        el = el[0]
    return el


def _ancestors(el) -> list:  # noqa: ANN001
    out = []
    while el is not None:
        out.append(el)
        el = el.getparent()
    return out


def _parts(top, scores: dict, stats: dict) -> list:  # noqa: ANN001
    """Other parts of a story split into several containers (sections between figures or ad slots).

    A candidate scoring at least PART_SHARE of the top one, outside it, whose common ancestor with the top is
    at most PART_LEVELS above it and reads mostly as text (link density under 0.35), joins the story.
    """
    best = scores[top]
    top_line = _ancestors(top)
    top_set = set(top_line)
    taken = [top]
    for node, value in sorted(scores.items(), key=lambda item: -item[1])[:PART_CANDIDATES]:
        if value < PART_SHARE * best or len(taken) > 12:
            break
        if node in top_set or _tag(node) in ("ul", "ol", "li", "dl", "table", "tr", "tbody"):
            continue
        own = stats.get(node)
        if own is None or not own.total or own.links / own.total > 0.15:
            continue
        line = _ancestors(node)
        if any(_tag(a) in ("ul", "ol", "li") for a in line) or boilerplate.is_footer(node.text_content()):
            continue
        line_set = set(line)
        if top in line_set or any(t in line_set or node in set(_ancestors(t)) for t in taken):
            continue
        common = next((a for a in line if a in top_set), None)
        if common is None or top_line.index(common) > PART_LEVELS:
            continue
        s = stats.get(common)
        if s is None or not s.total or s.links / s.total > 0.35:
            continue
        taken.append(node)
    return taken[1:]


_DATE = re.compile(r"(?:19|20)\d{2}[-/.年]\d{1,2}[-/.月]\d{1,2}|\d{1,2}/\d{1,2}/(?:19|20)\d{2}")
POST_MIN = 200  # weighted characters each post of a listing holds
POST_LEVELS = 6


def _first_post(top, root: HtmlElement, stats: dict) -> HtmlElement | None:  # noqa: ANN001
    """On a page that lists several dated posts (a blog's archive page), the story is the first post.

    The posts are found as a family of same-tag, same-class blocks around the top candidate (at least three, none
    inside another, none in a list or link, each with real prose) with a date between every two of them (each
    post's own title and time line). Then the first (newest) post is the page's story, whichever post scored best.
    """
    for node in [top, *top.iterancestors()][:POST_LEVELS]:
        cls = node.get("class")
        if not cls or _tag(node) in ("html", "body"):
            continue
        family = [el for el in root.iter(node.tag) if el.get("class") == cls]
        members = set(family)
        family = [el for el in family if not any(a in members for a in el.iterancestors())]
        if len(family) < 3 or node not in family:
            continue
        for el in family:
            s = stats.get(el)
            if s is None or s.total < POST_MIN or s.links > 0.25 * s.total:
                return None
            if any(_tag(a) in ("ul", "ol", "li", "a") for a in el.iterancestors()):
                return None
        order = {el: i for i, el in enumerate(root.iter())}
        everything = list(root.iter())
        for before, after in zip(family, family[1:]):
            end = order[before] + sum(1 for _ in before.iter())
            between = [before.tail or ""]
            for el in everything[end:order[after]]:
                if not any(a is after for a in el.iter()):
                    between.append(el.text or "")
                between.append(el.tail or "")
            if not _DATE.search("".join(between)):
                return None
        return family[0] if family[0] is not top else None
    return None


_SENTENCE_END = re.compile(r"[.!?。！？][\"'”’)）]?$")


def _linked_prose(line: Line) -> bool:
    """A paragraph of prose that links many of its words (sources cited inline) is still the story's text; a
    link list or a teaser's headline is not: it is not a long <p> ending as a sentence, or is all link."""
    return (line.tag == "p" and line.units >= LINKED_PROSE_MIN and 3 * line.link_units <= 2 * line.units
            and _SENTENCE_END.search(line.text) is not None)


LINKED_PROSE_MIN = 60  # weighted characters: a sentence of a dozen words
LINK_HEADING_MAX = 100  # characters of a link line that may head the paragraph after it
NEIGHBOUR_PROSE = 40  # weighted characters of the paragraph a kept link line must lead into


# What a link line between paragraphs says when it is a teaser or a button, not a heading: a label before a colon
# ("Related: …", "READ MORE: …", "Account: @name"), shouting in capitals, or a word or two.
_LABELLED = re.compile(r"^\W*[^\W\d][\w'’ -]{0,24}\s?[:：]\s*\S")
_LETTERS = re.compile(r"[^\W\d_]")


def _teaser(text: str) -> bool:
    letters = _LETTERS.findall(text)
    cased = [c for c in letters if c.lower() != c.upper()]
    shouting = len(cased) >= 8 and all(c.isupper() for c in cased)
    return bool(_LABELLED.match(text)) or shouting or weight(text) < 8


INTRO_MIN = 20  # weighted characters of the sentence that introduces a list of links


def _introduced_lists(kept: list[tuple[Line, bool]], link_lines: set[int]) -> list[int]:
    """A list of links that a sentence of the story introduces with a colon ("Some other people, places and things
    mentioned:", "本期提到的项目：") is the story's own (show notes, sources); a list under a "Related" heading is
    not, and that heading is furniture, never a kept sentence."""
    found: list[int] = []
    for index, (line, keep) in enumerate(kept):
        if not keep or line.units < INTRO_MIN or not line.text.rstrip().endswith((":", "：")) or _furniture(line.text):
            continue
        after = index + 1
        while after < len(kept) and after in link_lines and kept[after][0].tag == "li":
            if not _furniture(kept[after][0].text):
                found.append(after)
            after += 1
    return found


def _furniture(text: str) -> bool:
    return boilerplate.has_phrase(text) or boilerplate.is_ui_line(text) or boilerplate.is_section_end(text)


def _heads_prose(kept: list[tuple[Line, bool]], index: int) -> bool:
    """A short link line between two lines of the story, leading into a paragraph (a digest's numbered item whose
    title links to its subject, "1、<a>标题</a>"), is a heading of the story; a list of links is several link lines
    in a row, and a teaser at the end has no paragraph after it."""
    line = kept[index][0]
    if len(line.text) > LINK_HEADING_MAX or index == 0 or index + 1 >= len(kept) or _teaser(line.text):
        return False
    before, before_keep = kept[index - 1]
    after, after_keep = kept[index + 1]
    return (before_keep and after_keep and after.units >= NEIGHBOUR_PROSE
            and after.link_units <= 0.5 * after.units and before.link_units <= 0.5 * before.units)


def _clean_lines(lines: list[Line], title: str | None) -> tuple[list[Line], list[str], list[str]]:
    """Drop link lines, boilerplate and credit lines; cut at a "related stories" heading once the story is in."""
    kept: list[tuple[Line, bool]] = []
    captions: list[str] = []
    credits: list[str] = []
    link_lines: list[int] = []
    for line in lines:
        text = line.text
        if line.caption:
            captions.append(text)
            continue
        if line.units and line.link_units / line.units > 0.5 and not _linked_prose(line):
            keep = False
            link_lines.append(len(kept))
        elif boilerplate.has_phrase(text) and line.units < 200:
            keep = False
            credits.append(text)
        elif boilerplate.is_credit_line(text) or boilerplate.is_ui_line(text) or not line.units:
            keep = False
            credits.append(text)
        else:
            keep = True
        kept.append((line, keep))
    for index in [i for i in link_lines if _heads_prose(kept, i) and not _furniture(kept[i][0].text)]:
        kept[index] = (kept[index][0], True)
    for index in _introduced_lists(kept, set(link_lines)):
        kept[index] = (kept[index][0], True)
    total = sum(line.units for line, keep in kept if keep)
    out: list[Line] = []
    seen = 0
    for index, (line, keep) in enumerate(kept):
        if boilerplate.is_section_end(line.text) and seen >= 0.5 * total:
            after = sum(other.units for other, other_keep in kept[index + 1:] if other_keep)
            if after <= 0.25 * total:
                break  # a list of other stories closes the story; much prose after it means an inline teaser
            continue
        if keep:
            out.append(line)
            seen += line.units
    if out and title and _same(out[0].text, title):
        out = out[1:]
    return out, captions, credits


def _same(a: str, b: str) -> bool:
    norm = lambda s: re.sub(r"\W+", "", s).lower()  # noqa: E731
    return bool(norm(a)) and norm(a) == norm(b)


def _images(node: HtmlElement) -> list[tuple[str, str | None]]:
    """Images of the story with their captions (a <figure>'s <figcaption>, else the alt text)."""
    found = []
    for img in node.iter("img"):
        src = img.get("src") or img.get("data-src") or img.get("data-original") or img.get("data-lazy-src")
        if not src or src.startswith("data:"):
            continue
        width = img.get("width") or ""
        if width.isdigit() and int(width) < 100:
            continue  # icons, spacers, tracking pixels
        caption = None
        figure = next((a for a in img.iterancestors() if _tag(a) == "figure"), None)
        if figure is not None:
            caption_el = next(figure.iter("figcaption"), None)
            if caption_el is not None:
                caption = _SPACE.sub(" ", caption_el.text_content()).strip() or None
        caption = caption or (img.get("alt") or "").strip() or None
        found.append((src.strip(), caption))
    return found


def _read(root: HtmlElement, by_names: bool, title: str | None) -> Body:
    prune(root, by_names)
    stats = measure(root)
    scores = score(root, stats)
    if not scores:
        return Body([], None)
    top = max(scores, key=scores.get)
    first = _first_post(top, root, stats)
    nodes = [first] if first is not None else _siblings(top, scores, stats) + _parts(top, scores, stats)
    order = {el: i for i, el in enumerate(root.iter())}
    lines: list[Line] = []
    for node in sorted(set(nodes), key=order.__getitem__):
        lines.extend(_lines(node))
    kept, captions, credits = _clean_lines(lines, title)
    s = stats.get(top)
    density = s.links / s.total if s and s.total else 0.0
    images = [image for node in nodes for image in _images(node)]
    return Body([line.text for line in kept], top, captions, density, credits,
                [(line.tag, line.text) for line in kept], list(dict.fromkeys(images)),
                {line.text: line.links for line in kept if line.links})


def extract_body(root: HtmlElement, title: str | None = None) -> Body:
    """Score the pruned page and read the best container (with its kin siblings) as lines of text.

    If pruning by class names left almost nothing, read the page again without that step (readability's retry).
    """
    spare = copy.deepcopy(root)
    body = _read(root, True, title)
    if sum(weight(line) for line in body.lines) >= RETRY_BELOW:
        return body
    second = _read(spare, False, title)
    if sum(weight(line) for line in second.lines) > sum(weight(line) for line in body.lines):
        return second
    return body
