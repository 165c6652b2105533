"""Metadata of an article page: title, published time, authors, original source, summary, images, canonical URL.

Read from the unpruned page, in order of trust: JSON-LD, <meta> tags, the visible page (the headline element,
the date line under it, bylines in both languages). Chinese bylines are read by rules written here
(（记者 陆一夫）, 作者：..., 澎湃新闻记者 贺梨萍, a closing (马强 刘相宜)); no library finds them.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from urllib.parse import urljoin

from lxml import etree
from lxml.html import HtmlElement

CHINA = timezone(timedelta(hours=8))
_SPACE = re.compile(r"\s+")
_HAN = re.compile("[\u4e00-\u9fff]")
_LATIN_WORD = re.compile(r"[A-Za-z]{2,}")
HEADER_SIZE = 200  # characters after the headline read as its info line (作者, 来源, time)
FOOTER_SIZE = 300  # characters after the story's last line read as its post line (由某某发表于 ...)
DATE_SCAN = 300_000  # characters of visible text searched for date lines
NEAR_TITLE = 1500  # characters after the headline where its date line is looked for
TITLE_SEPARATORS = re.compile(r"(?<=[\u4e00-\u9fff”」）)])-(?=[\u4e00-\u9fff])|\s+[-|–—·:]\s+|\s*[_｜|]\s*|\s*--\s*|\s*——\s*|\s+::\s+|\s*»\s*")

DATE_META = (
    "article:published_time", "og:published_time", "og:article:published_time", "published_time",
    "datepublished", "article:published", "pubdate", "publishdate", "publish_date", "publish-date",
    "publication_date", "sailthru.date", "parsely-pub-date", "dc.date.issued", "dc.date", "dcterms.created",
    "dc.date.created", "date", "article_date_original", "cxenseparse:recs:publishtime", "weibo: article:create_at",
    "og:release_date", "originalpublicationdate", "live_date", "displaydate", "citation_publication_date",
)
AUTHOR_META = ("author", "article:author", "byline", "dc.creator", "sailthru.author", "parsely-author",
               "og:article:author", "twitter:creator", "citation_author", "authors")
TITLE_META = ("og:title", "twitter:title", "title", "headline", "sailthru.title", "parsely-title")


@dataclass
class Meta:
    title: str | None = None
    published: datetime | None = None
    published_text: str | None = None
    authors: list[str] = field(default_factory=list)
    source_name: str | None = None
    site_name: str | None = None
    summary: str | None = None
    canonical_url: str | None = None
    lead_image: str | None = None
    chinese: bool = False
    page_text: str = field(default="", repr=False)
    title_shown: bool = False  # the title was found in the page's visible text


def _text(el) -> str:  # noqa: ANN001
    return _SPACE.sub(" ", el.text_content() or "").strip()


def _metas(root: HtmlElement) -> dict[str, str]:
    found: dict[str, str] = {}
    for el in root.iter("meta"):
        key = (el.get("property") or el.get("name") or el.get("itemprop") or el.get("http-equiv") or "").strip().lower()
        value = (el.get("content") or "").strip()
        if key and value and key not in found:
            found[key] = value
    return found


def _json_ld(root: HtmlElement) -> list[dict]:
    items: list[dict] = []
    for el in root.iter("script"):
        if (el.get("type") or "").lower() != "application/ld+json" or not el.text:
            continue
        try:
            data = json.loads(el.text.strip().rstrip(";"))
        except (ValueError, RecursionError):  # RecursionError: arrays nested thousands deep
            continue
        stack = [data]
        while stack:
            item = stack.pop()
            if isinstance(item, list):
                stack.extend(item)
            elif isinstance(item, dict):
                items.append(item)
                if "@graph" in item:
                    stack.append(item["@graph"])
                if isinstance(item.get("mainEntity"), dict):
                    stack.append(item["mainEntity"])
    articles = [item for item in items if "headline" in item or "datePublished" in item]
    return articles


def _names(value) -> list[str]:  # noqa: ANN001
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return _names(value.get("name"))
    if isinstance(value, list):
        return [name for item in value for name in _names(item)]
    return []


def _norm(text: str) -> str:
    return re.sub(r"[\W_]+", "", text).lower()


# ------------------------------------------------------------------ title


def _title(root: HtmlElement, metas: dict, ld: list[dict], site_name: str | None) -> str | None:
    title_el = root.find(".//title")
    page_title = _SPACE.sub(" ", title_el.text_content()).strip() if title_el is not None else ""
    claimed = [metas[k] for k in TITLE_META if metas.get(k)] + [str(i["headline"]) for i in ld if i.get("headline")]
    if page_title:
        claimed.append(page_title)
    claimed_norm = [_norm(c) for c in claimed if _norm(c)]
    headings = []
    for tag in ("h1", "h2"):
        for el in root.iter(tag):
            text = _text(el)
            if 4 <= len(text) <= 200:
                headings.append(text)
        if headings and tag == "h1":
            break
    # A displayed headline that the page's own <title>/og:title repeats is the headline.
    for text in headings:
        norm = _norm(text)
        if norm and any(norm == c or (len(norm) >= 6 and c.startswith(norm)) for c in claimed_norm):
            return text
    for candidate in claimed:
        stripped = _strip_site(candidate, site_name)
        if stripped:
            # Older pages: the headline is a text block that equals the title's first segment.
            return stripped
    return headings[0] if headings else None


def _strip_site(title: str, site_name: str | None) -> str:
    title = _SPACE.sub(" ", title).strip()
    if site_name and title.endswith(site_name) and len(title) > len(site_name) + 4:
        title = title[: -len(site_name)].rstrip(" -|_–—·:｜")
    parts = [part.strip() for part in TITLE_SEPARATORS.split(title) if part and part.strip()]
    if len(parts) <= 1:
        return title
    # The headline is the first segment unless that is plainly the site (short) and a longer one follows.
    first = parts[0]
    longest = max(parts, key=len)
    if len(first) < 0.4 * len(longest) and len(first) < 12:
        return longest
    return first


# ------------------------------------------------------------------ dates

_ISO = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})(?:[T ](\d{1,2}):(\d{2})(?::(\d{2}))?(?:\.\d+)?\s*(Z|[+-]\d{2}:?\d{2})?)?")
_VISIBLE = re.compile(
    r"(?<!\d)((?:19|20)\d{2})(?:([-/.])(\d{1,2})\2(\d{1,2})(?!\d)|\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日)"
    r"(?:\s*(?:星期.|周.)?\s*(?:[T ]|\s)*(\d{1,2})\s*[:：时]\s*(\d{2})(?:\s*[:：分]\s*(\d{2}))?)?"
)
_US_DATE = re.compile(r"(?<![\d/])(\d{1,2})/(\d{1,2})/((?:19|20)\d{2})(?![\d/])"
                      r"(?:\s+(\d{1,2}):(\d{2})(?::(\d{2}))?\s*([AaPp][Mm])?)?")
_MONTHS = {m: i + 1 for i, m in enumerate(
    ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"])}
_EN_DATE = re.compile(
    r"\b(?:(\d{1,2})\s+)?(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)[a-z]*\.?\s+(?:(\d{1,2})(?:st|nd|rd|th)?,?\s+)?"
    r"((?:19|20)\d{2})\b(?:,?\s*(?:at\s*)?(\d{1,2}):(\d{2})\s*([ap]\.?m\.?)?)?",
    re.IGNORECASE,
)
_DATE_LABEL = re.compile(r"(发布|发表|更新|出版|日期|时间|published|posted|updated|date)\W{0,4}(于|on)?\s*[:：]?\s*$",
                         re.IGNORECASE)
_URL_DATE = re.compile(r"/((?:19|20)\d{2})[/-]?(\d{2})[/-]?(\d{2})(?:/|\d|_|-|\.)")


def parse_iso(value: str, default_zone: timezone | None = None) -> datetime | None:
    match = _ISO.search(value or "")
    if not match:
        return None
    y, mo, d, hh, mi, ss, zone = match.groups()
    try:
        tz = default_zone
        if zone == "Z":
            tz = timezone.utc
        elif zone:
            zone = zone.replace(":", "")
            sign = 1 if zone[0] == "+" else -1
            tz = timezone(sign * timedelta(hours=int(zone[1:3]), minutes=int(zone[3:5])))
        return datetime(int(y), int(mo), int(d), int(hh or 0), int(mi or 0), int(ss or 0), tzinfo=tz)
    except ValueError:
        return None


def _visible_dates(text: str, zone: timezone | None) -> list[tuple[int, datetime, bool]]:
    found = []
    for match in _VISIBLE.finditer(text):
        y, _, mo1, d1, mo2, d2, hh, mi, ss = match.groups()
        mo, d = mo1 or mo2, d1 or d2
        try:
            when = datetime(int(y), int(mo), int(d), int(hh or 0), int(mi or 0), int(ss or 0), tzinfo=zone)
        except ValueError:
            continue
        found.append((match.start(), when, hh is not None))
    for match in _US_DATE.finditer(text):
        mo, d, y, hh, mi, ss, ampm = match.groups()
        if hh is None:
            continue  # a bare 12/01/2004 is as likely an archive link as a date line, and D/M or M/D is a guess
        hour = int(hh or 0)
        if ampm and ampm.upper() == "PM" and hour < 12:
            hour += 12
        elif ampm and ampm.upper() == "AM" and hour == 12:
            hour = 0
        month, day = (int(mo), int(d)) if int(mo) <= 12 else (int(d), int(mo))
        try:
            when = datetime(int(y), month, day, hour, int(mi or 0), int(ss or 0), tzinfo=zone)
        except ValueError:
            continue
        found.append((match.start(), when, hh is not None))
    for match in _EN_DATE.finditer(text):
        d1, month, d2, y, hh, mi, ampm = match.groups()
        day = d1 or d2
        if not day:
            continue
        hour = int(hh or 0)
        if ampm and ampm.lower().startswith("p") and hour < 12:
            hour += 12
        try:
            when = datetime(int(y), _MONTHS[month[:3].lower()], int(day), hour, int(mi or 0), tzinfo=zone)
        except (ValueError, KeyError):
            continue
        found.append((match.start(), when, hh is not None))
    found.sort(key=lambda item: item[0])
    return found


def _published(root: HtmlElement, metas: dict, ld: list[dict], page_text: str, title_at: int,
               url: str | None, zone: timezone | None) -> tuple[datetime | None, str | None]:
    for item in ld:
        if item.get("datePublished") and (when := parse_iso(str(item["datePublished"]), zone)):
            return when, str(item["datePublished"])
    for key in DATE_META:
        if metas.get(key) and (when := parse_iso(metas[key], zone)):
            return when, metas[key]
    for el in root.iter("time"):
        value = el.get("datetime") or ""
        if (when := parse_iso(value, zone)) is not None:
            return when, value
    every = _visible_dates(page_text[:DATE_SCAN], zone)
    labelled = [d for d in every if _DATE_LABEL.search(page_text[max(0, d[0] - 12):d[0]])]
    dates = every
    if title_at >= 0:
        # The date line sits near the headline; dates further down are the story's own or other stories'.
        dates = [d for d in every if title_at - 200 <= d[0] <= title_at + NEAR_TITLE]
    if dates:
        near = [d for d in dates if d[0] - dates[0][0] < 400]
        with_time = [d for d in near if d[2]]
        position, when, _ = ([d for d in near if d in labelled] or with_time or near)[0]
        return when, page_text[position:position + 25]
    if labelled:
        # No date by the headline: the first one the page calls a publication time (发布时间：…, Posted on …).
        position, when, _ = labelled[0]
        return when, page_text[position:position + 25]
    for key, value in metas.items():
        if ("date" in key or "time" in key) and (when := parse_iso(value, zone)) is not None:
            return when, value  # an "update" or "created" date is better than none
    if url and (match := _URL_DATE.search(url)):
        try:
            return datetime(int(match.group(1)), int(match.group(2)), int(match.group(3)), tzinfo=zone), url
        except ValueError:
            pass
    return None, None


# ------------------------------------------------------------------ authors and source

_ZH_NAME = re.compile(r"^[\u4e00-\u9fff·]{2,4}$")
ROLE = _ROLE = re.compile(r"(?:首席|资深|特约|见习|实习)?(?:记者|通讯员|实习生|作者|撰文|执笔人?|采写|撰稿|文字|文\s*[/／]|^文\s*[:：])(?!们)\s*[:：/／]?")
_PAREN = re.compile(r"[（(]([^（()）\n]{2,40})[)）]")
_EDITOR = re.compile(r"(?:责任编辑|责编|编辑)\s*[:：]\s*([^\n]{2,30})")
_CLOSING = re.compile(r"[（(]([^（()）\n]{2,30})[)）]\s*$")
_SLASH_CREDIT = re.compile(r"^([\u4e00-\u9fff·]{2,4})\s*[/／]\s*(?!摄|图)[\u4e00-\u9fff]{2,12}(?:\s|$)")
_BRACKET_NAME = re.compile(r"[\[【]\s*([\u4e00-\u9fff·]{2,4})\s*[\]】]\W{0,3}(?:来源|出处)")
_LEADING_NAMES = re.compile(r"^\s*([\u4e00-\u9fff·]{2,4}(?:[、 ][\u4e00-\u9fff·]{2,4}){0,3})\s{2,}")
_NAMES_LINE = re.compile(r"^\s*[\u4e00-\u9fff·]{2,4}(?:[、\s]+[\u4e00-\u9fff·]{2,4}){0,2}\s*$")
_NOT_NAMES = ("记者", "编辑", "通讯员", "报道", "摄", "整理", "综合", "整合", "来源", "新华社", "本报", "实习生",
              "发自", "电讯", "快讯", "评论", "我来说", "阅读", "网友", "点击", "作者", "图片", "专稿", "特稿")
_RUN_ON = re.compile(r"(?<=[\u4e00-\u9fff])(本报|本刊|本台|\d)")
# Who posted a blog or forum post: 由海姑娘张贴 @ 2005-03-21, 发布时间 2005/03/15 22:36:13 by duscha.
_POSTED_BY = re.compile(r"由\s*([\u4e00-\u9fff\w·]{2,12}?)\s*(?:张贴|发表|发布|上传)|"
                        r"(?:发布|发表|张贴)(?:时间|于)?[\d/:\-\s年月日]{6,30}\bby\s+([A-Za-z][\w.\-]{1,30})")
_EN_BY = re.compile(r"^\s*(?:by|written by|posted by|reporting by)\s*[:\-]?\s+(.{2,80})$", re.IGNORECASE)


def _names_after(text: str) -> list[str]:
    """The run of personal names at the start of ``text`` (2-4 Han characters each, separated by spaces/、)."""
    names = []
    # Two-character names are often padded to three with a space (周　炜): join single characters back.
    text = re.sub(r"(?<![\u4e00-\u9fff])([\u4e00-\u9fff])\s+([\u4e00-\u9fff])(?![\u4e00-\u9fff])", r"\1\2", text)
    # Text read across elements runs together (刘国栋 周炜本报记者 王燕平 柏建斌2003-7-24): "本报" (the paper's own
    # next byline) and digits end a name.
    text = _RUN_ON.sub(r" \1", text)
    for token in re.split(r"[\s、，,&＆]+", text.strip()):
        if token.endswith((":", "：")) and len(token) > 1:
            break  # the next field's label (来源：, 发布日期：): the byline is over
        token = token.strip("：:()（）[]【】")
        if not token:
            continue
        if _ZH_NAME.match(token) and not any(word in token for word in _NOT_NAMES):
            names.append(token)
        elif names or len(token) > 12:
            break
    return names


def _after_roles(text: str) -> list[str]:
    """Names that follow role words (记者 X Y 通讯员 Z) in a byline."""
    names: list[str] = []
    for match in _ROLE.finditer(text):
        names.extend(n for n in _names_after(text[match.end():]) if n not in names)
    return names


def zh_authors(lines: list[str], header: str, credits: list[str] = (), footer: str = "") -> list[str]:
    """Chinese bylines, most explicit first.

    1. a bracketed byline in the first or last lines: （记者 陆一夫）, 据新华社拉萨电（记者 格桑边觉）;
    2. a short byline line near the headline or at either end: 澎湃新闻记者 贺梨萍, 作者：郭励弘, 采写：... 林子沛;
    3. a closing bracket of names: （马强 刘相宜）, （姚峰 上海报道）;
    4. a name/outlet credit line: 石佳/中国青年报;
    5. who posted it, on a blog or forum: 由海姑娘张贴 @ ..., 发布时间 ... by duscha (``footer``: the text after
       the story);
    6. the editor (责任编辑：...) when nothing else names anyone.
    """
    ends = (lines[:3] + lines[-5:] if len(lines) > 8 else lines) + list(credits)
    for line in ends:
        for match in _PAREN.finditer(line):
            if _ROLE.search(match.group(1)) and (names := _after_roles(match.group(1))):
                return names
    # A byline line of its own at the top comes before the header (where text read across elements may run the
    # last name into the next word: 张三丰近日).
    top = [line for line in lines[:3] if len(line) <= 60]
    for line in [*top, header, *(line for line in ends if len(line) <= 60)]:
        if line and (names := _after_roles(line)):
            return names
    for line in reversed(lines[-3:]):
        if (match := _CLOSING.search(line)) and (names := _names_after(match.group(1))):
            return names
    for line in [*ends, header.strip()[:20]]:
        if match := _SLASH_CREDIT.match(line.strip()):
            return [match.group(1)]
    if match := _BRACKET_NAME.search(header):
        return [match.group(1)]
    for text in (*credits, footer):
        if match := _POSTED_BY.search(text):
            name = match.group(1) or match.group(2)
            if not any(word in name for word in _NOT_NAMES):
                return [name]
    for text in (*reversed(lines[-3:]), *credits, header):
        if (match := _EDITOR.search(text)) and (names := _names_after(match.group(1))):
            return names
    # Names standing alone right under the headline, before the text (社会资本……再就业 / 赵延东、风笑天).
    if (match := _LEADING_NAMES.match(header)) and (names := _names_after(match.group(1))):
        return names
    for line in lines[:3]:
        if _NAMES_LINE.match(line) and (names := _names_after(line)):
            return names
    return []


SOURCE_PATTERNS = (
    re.compile(r"^\s*(?:据)?([\u4e00-\u9fff]{2,8}?(?:网|报|社|台|新闻|日报|晚报|早报|时报|周刊|杂志))(?:[\u4e00-\u9fff\d]{0,12}?)讯"),
    re.compile(r"^\s*(新华社|中新社|中国新闻社|人民日报|央视新闻)"),
    re.compile(r"(?:来源|来自|稿件来源|文章来源|本文来源)\s*[:：]\s*[\[【]?\s*([^\s\]】|｜,，。<>]{2,20})"),
)


def _clean_person(value: str) -> str | None:
    value = _SPACE.sub(" ", value).strip()
    if not value or value.startswith("http") or "@" in value and " " not in value:
        return None
    if match := _EN_BY.match(value):
        value = match.group(1)
    value = re.split(r"\s*(?:\||•|·|—|–| - )\s*", value)[0]
    value = re.sub(r",?\s*(?:AP|Associated Press|Reuters|AFP)?\s*\w*\s*(?:Writer|Reporter|Correspondent|Editor)s?$",
                   "", value, flags=re.IGNORECASE).strip(" ,")
    return value if 1 < len(value) <= 80 else None


def en_authors(root: HtmlElement, metas: dict, ld: list[dict]) -> list[str]:
    for item in ld:
        names = [n for n in (_clean_person(x) for x in _names(item.get("author"))) if n]
        if names:
            return list(dict.fromkeys(names))
    for key in AUTHOR_META:
        if metas.get(key) and (name := _clean_person(metas[key])):
            return [name]
    for el in root.iter():
        if not isinstance(el.tag, str):
            continue
        marker = f"{el.get('rel') or ''} {el.get('itemprop') or ''} {el.get('class') or ''}".lower()
        if re.search(r"\bauthor\b|byline|author-?name", marker):
            text = _text(el)
            if text and (name := _clean_person(text)) and len(name) <= 60:
                return [name]
    return []


def source_name(lines: list[str], page_text: str) -> str | None:
    for text in (lines[0] if lines else "", page_text):
        for pattern in SOURCE_PATTERNS:
            if match := pattern.search(text):
                return match.group(1)
    return None


# ------------------------------------------------------------------ everything


def read(root: HtmlElement, url: str | None = None) -> Meta:
    """Everything but the Chinese authors and the source, which also look at the body (see ``finish``).

    Removes scripts and styles from ``root`` once their JSON-LD is read.
    """
    metas = _metas(root)
    ld = _json_ld(root)
    meta = Meta()
    # From here on only visible text matters (JSON-LD is read): scripts and styles go.
    etree.strip_elements(root, "script", "style", "noscript", "template", with_tail=False)
    body = root.find("body")
    page_text = _SPACE.sub(" ", (body if body is not None else root).text_content())
    han = len(_HAN.findall(page_text[:20000]))
    latin = len(_LATIN_WORD.findall(page_text[:20000]))
    meta.chinese = han >= 20 and han > latin  # Han characters outnumber Latin words
    meta.site_name = metas.get("og:site_name") or metas.get("application-name") or None
    meta.title = _title(root, metas, ld, meta.site_name)
    title_at = page_text.find(meta.title) if meta.title else -1
    meta.title_shown = title_at >= 0
    zone = CHINA if meta.chinese else None
    meta.published, meta.published_text = _published(root, metas, ld, page_text, title_at, url, zone)
    meta.summary = metas.get("og:description") or metas.get("description") or metas.get("twitter:description")
    canonical = None
    for link in root.iter("link"):
        if (link.get("rel") or "").lower() == "canonical" and link.get("href"):
            canonical = link.get("href").strip()
            break
    canonical = canonical or metas.get("og:url")
    meta.canonical_url = web_url(url, canonical)
    meta.lead_image = web_url(url, metas.get("og:image") or metas.get("twitter:image"))
    meta.authors = en_authors(root, metas, ld)
    meta.page_text = page_text
    return meta


def web_url(base: str | None, value: str | None) -> str | None:
    """``value`` resolved against ``base``, if it is then an http(s) URL (or, with no base, a relative one); else None.

    Pages name their canonical URL, lead image and images themselves: a ``javascript:`` or ``data:`` URL there
    would go out as a feed's link or an image URL."""
    if not value or not value.strip():
        return None
    try:
        resolved = urljoin(base, value.strip()) if base else value.strip()
    except ValueError:  # http://[oops: not a URL
        return None
    scheme = resolved.split(":", 1)[0].lower() if ":" in resolved.split("/", 1)[0] else ""
    if scheme in ("http", "https") or (not scheme and not base):
        return resolved
    return None


def finish(meta: Meta, lines: list[str], credits: list[str] = ()) -> None:
    """Authors and source need the body: a Chinese byline sits in the first or last lines of the story."""
    if meta.chinese:
        header = ""
        if meta.title and (at := meta.page_text.find(meta.title)) >= 0:
            header = meta.page_text[at + len(meta.title): at + len(meta.title) + HEADER_SIZE]
        footer = ""
        if lines and (at := meta.page_text.find(lines[-1])) >= 0:
            footer = meta.page_text[at + len(lines[-1]): at + len(lines[-1]) + FOOTER_SIZE]
        names = zh_authors(lines, header, credits, footer)
        if names:
            meta.authors = names
        meta.source_name = source_name(lines, meta.page_text)
