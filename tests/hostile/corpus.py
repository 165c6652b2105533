"""The hostile corpus as data: cases from cases/*.yaml, bodies built from their specs, and the invariants every
case and every fuzz example must keep (no script, event handler or javascript: URL in sanitised HTML)."""

from __future__ import annotations

import gzip
import json
import random
import re
import zlib
from functools import lru_cache
from pathlib import Path
from typing import Any

import lxml.html
import yaml

HERE = Path(__file__).resolve().parent
CASES = HERE / "cases"
DATA = HERE / "data"

# What sanitised HTML may hold (services/clean/extract.py ALLOWED_TAGS, and the fragment wrapper).
SAFE_TAGS = {
    "div", "p", "br", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "li", "blockquote", "pre", "code",
    "em", "strong", "b", "i", "u", "s", "del", "sub", "sup", "a", "img", "figure", "figcaption",
    "table", "thead", "tbody", "tr", "th", "td", "hr",
}
SAFE_ATTRIBUTES = {"href", "title", "src", "alt", "rel"}
URL_ATTRIBUTES = {"href", "src"}
SAFE_SCHEMES = {"http", "https", "mailto"}
_SCHEME = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*):")


def unsafe_url(url: str | None, schemes: set[str] = SAFE_SCHEMES) -> bool:
    """A URL whose scheme, as a browser reads it (WHATWG URL: C0 controls and spaces stripped at both ends, tabs and
    newlines removed everywhere), is not allowed. Anything else before a colon makes the URL relative."""
    if not url:
        return False
    squeezed = re.sub(r"[\t\n\r]", "", url.strip("".join(map(chr, range(0x21)))))
    match = _SCHEME.match(squeezed)
    return match is not None and match.group(1).lower() not in schemes


def xss_problems(html: str) -> list[str]:
    """What in sanitised HTML could run script: a tag, attribute or URL scheme outside the allowed sets."""
    problems = []
    if re.search(r"<\s*/?\s*(script|style|iframe|object|embed|svg|math|base|form|meta|link)\b", html, re.I):
        problems.append("a dangerous tag in the raw output")
    if not html.strip():
        return problems
    try:  # control characters cannot make a tag, and lxml refuses them
        root = lxml.html.fragment_fromstring(re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", " ", html), create_parent="div")
    except Exception as exc:  # noqa: BLE001  (unparseable output is itself a finding)
        return problems + [f"output does not parse: {exc}"]
    for element in root.iter():
        tag = element.tag if isinstance(element.tag, str) else "#comment"
        if tag == "#comment":
            problems.append("a comment survived")
            continue
        if tag.lower() not in SAFE_TAGS:
            problems.append(f"tag <{tag}>")
        for name, value in element.attrib.items():
            if name.lower().startswith("on") or name.lower() not in SAFE_ATTRIBUTES:
                problems.append(f"attribute {name}={value[:60]!r} on <{tag}>")
            elif name.lower() in URL_ATTRIBUTES and unsafe_url(value):
                problems.append(f"URL {value[:60]!r} in {name} of <{tag}>")
    return problems


def feed_problems(part: Any, url: str) -> list[str]:
    """The article as the public feeds publish it (services/publish/formats/feeds.py): Atom and RSS must parse as
    XML (one character XML cannot carry would break the whole feed for every reader), JSON Feed must serialise."""
    from datetime import datetime, timezone

    from lxml import etree

    from services.publish.formats.feeds import Channel, atom_feed, json_feed, rss_feed

    item = {"id": "00000000-0000-0000-0000-000000000001", "version": 1, "url": url,
            "canonical_url": part.canonical_url or url, "title": part.title, "text": part.text, "html": part.html,
            "authors": part.authors, "published": part.published.isoformat() if part.published else None,
            "summary": part.summary, "lead_image": part.lead_image, "updated": datetime.now(timezone.utc).isoformat()}
    problems = []
    channel = Channel("all", "Newswire", "http://127.0.0.1:8000")
    for name, render in (("Atom", lambda: atom_feed([item], base_url=channel.base_url, updated=None)),
                         ("RSS", lambda: rss_feed([item], channel=channel, updated=None))):
        try:
            etree.fromstring(render())
        except etree.XMLSyntaxError as exc:
            problems.append(f"the {name} feed is not well-formed: {exc}")
    json.dumps(json_feed([item], base_url=channel.base_url))
    return problems


# -- bodies -------------------------------------------------------------------------------------------------
ARTICLE_PARAGRAPHS = [
    "The city council approved the new transport plan on Tuesday after a long debate that lasted well into the "
    "evening, officials said in a statement published after the vote.",
    "Under the plan the city will add three new bus lines and extend the tram network by twelve kilometres over "
    "the next five years, at a cost the council put at about 400 million euros.",
    "Residents who spoke at the meeting were divided: some welcomed faster connections to the suburbs, while "
    "others worried about construction noise and rising rents near the new stations.",
    "The first of the new lines is due to open next spring, the transport authority said, with the others "
    "following at intervals of about a year as the work on the depots goes on.",
]

ZH_PARAGRAPHS = [
    "焦作市文明办九月三十日召开全市创建全国文明城市工作推进会议，总结前一阶段的工作，安排部署下一步的重点任务。",
    "会议指出，各单位要进一步提高认识，压实责任，对照测评体系逐项查找问题，确保各项指标全面达到要求。",
    "会议要求，要坚持问题导向，加大督导检查力度，对发现的问题建立台账，限期整改，做到件件有落实。",
    "会议还对志愿服务、公益广告宣传和未成年人思想道德建设等工作作了具体安排，市直有关单位负责人参加会议。",
]


def article_page(title: str = "Council approves the transport plan", inject: str = "", head: str = "",
                 paragraphs: int = 4, lang: str = "en", charset: str = "utf-8") -> str:
    texts = ZH_PARAGRAPHS if lang == "zh" else ARTICLE_PARAGRAPHS
    body = "".join(f"<p>{text}</p>" for text in (texts * 3)[:paragraphs])
    meta = f"<meta charset='{charset}'>" if charset else ""
    return (f"<!doctype html><html lang='{lang}'><head>{meta}<title>{title}</title>{head}</head>"
            f"<body><nav><a href='/'>Home</a></nav><article><h1>{title}</h1>{body[:len(body) // 2]}{inject}"
            f"{body[len(body) // 2:]}</article><footer>Example News</footer></body></html>")


def rss(items: list[dict[str, str]], title: str = "Hostile feed") -> str:
    entries = "".join(
        f"<item><title>{item.get('title', 'An entry')}</title><link>{item.get('link', 'https://news.example/a')}"
        f"</link><guid>{item.get('guid', item.get('link', 'g'))}</guid>"
        f"<description><![CDATA[{item.get('description', '')}]]></description></item>"
        for item in items)
    return f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>{title}</title>{entries}' \
           f"</channel></rss>"


@lru_cache(maxsize=8)
def _zeros_compressed(size: int, wbits: int) -> bytes:
    """``size`` zero bytes compressed (gzip for wbits 31, zlib deflate for 15), built a megabyte at a time."""
    compressor = zlib.compressobj(1, zlib.DEFLATED, wbits)  # level 1: 0.4 s for 100 MB, still 1:200
    chunk = b"\0" * (1 << 20)
    out = []
    left = size
    while left > 0:
        out.append(compressor.compress(chunk[:left]))
        left -= min(left, len(chunk))
    out.append(compressor.flush())
    return b"".join(out)


def body_of(spec: Any) -> bytes:
    """Bytes from a body spec (see README.md): text, a file, a repetition, an article page, compression..."""
    if spec is None:
        return b""
    if isinstance(spec, bytes):
        return spec
    if isinstance(spec, str):
        return spec.encode("utf-8")
    if isinstance(spec, list):
        return b"".join(body_of(part) for part in spec)
    if not isinstance(spec, dict):
        return json.dumps(spec).encode()
    if "text" in spec:
        return spec["text"].encode(spec.get("charset", "utf-8"), spec.get("errors", "strict"))
    if "file" in spec:
        raw = (DATA / spec["file"]).read_bytes()
        if "pad" in spec:  # a comment of this many bytes after the XML declaration (past a parser's look-ahead)
            head, _, rest = raw.partition(b"?>")
            raw = head + b"?><!--" + b"x" * int(spec["pad"]) + b"-->" + rest
        if "charset" in spec:
            raw = raw.decode("utf-8").encode(spec["charset"])
        return raw
    if "hex" in spec:
        return bytes.fromhex(spec["hex"])
    if "repeat" in spec:
        return body_of(spec.get("before")) + body_of(spec["repeat"]) * int(spec["times"]) + body_of(spec.get("after"))
    if "article" in spec:
        options = spec["article"] or {}
        text = article_page(options.get("title", "Council approves the transport plan"), options.get("inject", ""),
                            options.get("head", ""), options.get("paragraphs", 4), options.get("lang", "en"),
                            options.get("declare", "utf-8"))
        return text.encode(options.get("encode", "utf-8"), "strict")
    if "rss" in spec:
        return rss(spec["rss"], spec.get("title", "Hostile feed")).encode("utf-8")
    if "json" in spec:
        return json.dumps(spec["json"], ensure_ascii=spec.get("ascii", False)).encode("utf-8")
    if "random" in spec:
        return random.Random(spec.get("seed", 8)).randbytes(int(spec["random"]))
    if "gzip_zeros" in spec:
        return _zeros_compressed(int(spec["gzip_zeros"]), 31)
    if "deflate_zeros" in spec:
        return _zeros_compressed(int(spec["deflate_zeros"]), 15)
    if "gzip" in spec:
        return gzip.compress(body_of(spec["gzip"]), mtime=0)
    if "deflate" in spec:
        return zlib.compress(body_of(spec["deflate"]))
    if "attributes" in spec:  # " a0="0" a1="1" ...": that many distinct attributes (for one start tag)
        quote = spec.get("quote", '"')
        return "".join(f" a{n}={quote}{n}{quote}" for n in range(int(spec["attributes"]))).encode()
    if "recode" in spec:  # UTF-8 bytes of a spec, encoded again in another charset
        return body_of(spec["of"]).decode("utf-8").encode(spec["recode"])
    if "mojibake" in spec:  # text encoded in one charset, read as another, encoded again (what broken CMSs store)
        inner = body_of(spec["mojibake"])
        return inner.decode(spec.get("read_as", "cp1252"), "replace").encode("utf-8")
    if "truncate" in spec:
        return body_of(spec["of"])[: int(spec["truncate"])]
    if "nested_json" in spec:
        depth = int(spec["nested_json"])
        return b'{"url": "https://news.example/a", "x": ' + b"[" * depth + b"]" * depth + b"}"
    raise ValueError(f"unknown body spec {spec!r}")


def _vectors(name: str) -> list[str]:
    """One XSS vector a line; '# ' lines are comments; {TAB} {NL} {CR} {NUL} stand for those characters."""
    vectors = []
    for line in (DATA / name).read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("# "):
            continue
        for token, char in (("{TAB}", "\t"), ("{NL}", "\n"), ("{CR}", "\r"), ("{NUL}", "\0")):
            line = line.replace(token, char)
        vectors.append(line)
    return vectors


def load_cases() -> list[dict[str, Any]]:
    """Every case of cases/*.yaml; an entry with ``vectors`` becomes one case per vector and per stage."""
    cases: list[dict[str, Any]] = []
    for path in sorted(CASES.glob("*.yaml")):
        for entry in yaml.safe_load(path.read_text(encoding="utf-8")) or []:
            entry.setdefault("category", path.stem)
            if "vectors" not in entry:
                cases.append(entry)
                continue
            for number, vector in enumerate(_vectors(entry["vectors"]), 1):
                for stage in entry["stages"]:
                    cases.append({"id": f"{entry['id']}-{stage}-{number:03d}", "stage": stage, "vector": vector,
                                  "category": entry["category"], "expect": entry.get("expect", {}).get(stage, {})})
    ids = [f"{case['category']}:{case['id']}" for case in cases]
    duplicated = sorted({i for i in ids if ids.count(i) > 1})
    assert not duplicated, f"case ids used twice: {duplicated}"
    return cases
