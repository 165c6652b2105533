"""Fuzz targets (hypothesis) for feed parsing, extraction and sanitising, with the corpus's invariants: only our
errors (or parse_feed's documented "not a feed" ValueError) escape; no script, event handler or javascript: URL
in sanitised HTML or in a published URL.

Examples are derandomised (the same ones every run: no flaky CI) and bounded: NEWSWIRE_FUZZ_EXAMPLES (default 200
per target) says how many; set it high, with a random seed (HYPOTHESIS_SEED), for a long local run. atheris, a
coverage-guided fuzzer, is not used.
"""

from __future__ import annotations

import os
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.errors import NewswireError
from tests.hostile.corpus import feed_problems, unsafe_url, xss_problems

EXAMPLES = int(os.environ.get("NEWSWIRE_FUZZ_EXAMPLES", "200"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None, print_blob=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

# -- HTML ------------------------------------------------------------------------------------------------------------
TAGS = ["p", "div", "article", "section", "span", "a", "img", "script", "style", "iframe", "svg", "math", "b",
        "figure", "figcaption", "h1", "h2", "ul", "li", "table", "td", "form", "object", "embed", "noscript",
        "template", "title", "meta", "link", "base", "textarea", "xmp", "plaintext", "select", "option"]
ATTRIBUTES = ["href", "src", "onerror", "onload", "onclick", "style", "class", "id", "srcdoc", "data-src",
              "formaction", "xlink:href", "background", "content", "property", "rel", "name", "alt", "title"]
URLS = st.sampled_from([
    "javascript:alert(1)", "JaVaScRiPt:alert(1)", " javascript:alert(1)", "java\tscript:alert(1)",
    "jav&#x09;ascript:alert(1)", "&#106;avascript:alert(1)", "vbscript:msgbox(1)",
    "data:text/html,<script>alert(1)</script>", "https://news.example/a.jpg", "/relative/path", "//evil.example/x",
    "mailto:desk@news.example", "http://127.0.0.2/inside", "",
])
WORDS = st.sampled_from([
    "The council approved the new transport plan on Tuesday after a long debate.", "alert(1)", "<script>",
    "&lt;script&gt;", "&amp;", "&#0;", "\u0000", "焦作市文明办召开会议", "\u202e", "\ufeff", "]]>", "<!--", "-->",
    "javascript:", "\"", "'", "`", "\r\n", "Ã©", "</p>", "<![CDATA[",
]) | st.text(max_size=40)


@st.composite
def attributes(draw) -> str:  # noqa: ANN001
    pairs = draw(st.lists(st.tuples(st.sampled_from(ATTRIBUTES), URLS | WORDS), max_size=4))
    quote = draw(st.sampled_from(['"', "'", ""]))
    return "".join(f" {name}={quote}{value}{quote}" for name, value in pairs)


def elements(depth: int = 3) -> st.SearchStrategy[str]:
    leaf = WORDS
    return st.recursive(
        leaf,
        lambda children: st.builds(
            lambda tag, attrs, inner, close: f"<{tag}{attrs}>{''.join(inner)}" + (f"</{tag}>" if close else ""),
            st.sampled_from(TAGS), attributes(), st.lists(children, max_size=4), st.booleans()),
        max_leaves=20,
    )


ARTICLE = ("<p>The city council approved the new transport plan on Tuesday after a long debate that lasted well into "
           "the evening, officials said in a statement published after the vote.</p><p>Under the plan the city will "
           "add three new bus lines and extend the tram network by twelve kilometres over the next five years.</p>")


@st.composite
def pages(draw) -> bytes:  # noqa: ANN001
    head = draw(st.lists(elements(), max_size=3))
    before = draw(st.lists(elements(), max_size=3))
    after = draw(st.lists(elements(), max_size=3))
    with_story = draw(st.booleans())
    text = (f"<html><head>{''.join(head)}</head><body><article>{''.join(before)}"
            f"{ARTICLE if with_story else ''}{''.join(after)}</article></body></html>")
    encoding = draw(st.sampled_from(["utf-8", "gb18030", "utf-16", "latin-1", "cp1252"]))
    return text.encode(encoding, "replace")


def check_article(part) -> None:  # noqa: ANN001
    problems = xss_problems(part.html)
    assert not problems, f"unsafe sanitised HTML: {problems}\n{part.html[:2000]}"
    problems = feed_problems(part, "https://news.example/2026/story.html")
    assert not problems, problems
    for url in [part.canonical_url, part.lead_image, *(image.url for image in part.images)]:
        assert not unsafe_url(url, {"http", "https"}), url


def clean_or_refuse(raw: bytes, url: str | None, charset: str | None) -> None:
    from services.clean.extract import extract

    try:
        part = extract(raw, url, charset)
    except NewswireError:
        return  # a refusal with its reason: a dead letter
    check_article(part)


@FUZZ
@given(raw=pages() | st.binary(max_size=3000),
       charset=st.sampled_from([None, "utf-8", "gbk", "big5", "iso-8859-1", "utf-16", "x-unknown", "utf-7"]))
def test_extraction_never_crashes_nor_lets_script_through(raw: bytes, charset: str | None) -> None:
    clean_or_refuse(raw, "https://news.example/2026/story.html", charset)


@FUZZ
@given(html=st.lists(elements() | WORDS, max_size=8).map("".join))
def test_sanitiser_output_is_safe(html: str) -> None:
    from services.clean.extract import sanitize_html

    problems = xss_problems(sanitize_html(html))
    assert not problems, problems


# -- feeds -----------------------------------------------------------------------------------------------------------
FEED_TEXT = WORDS | st.sampled_from(["&lol;", "&xxe;", "&amp;", "&#x3C;script&#x3E;", "&nbsp;", "%remote;"])


@st.composite
def feeds(draw) -> bytes:  # noqa: ANN001
    doctype = draw(st.sampled_from([
        "", '<!DOCTYPE rss [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>',
        '<!DOCTYPE rss [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>', '<!DOCTYPE rss SYSTEM "http://127.0.0.2/x.dtd">',
        "<!DOCTYPE rss [", '<!DOCTYPE rss [<!ENTITY % p SYSTEM "http://127.0.0.2/p"> %p;]>',
    ]))
    items = draw(st.lists(st.tuples(FEED_TEXT, URLS | FEED_TEXT, st.lists(elements(), max_size=3), st.booleans(),
                                    FEED_TEXT), max_size=4))
    atom = draw(st.booleans())
    if atom:
        body = "".join(
            f"<entry><title>{title}</title><link href='{link}'/><id>{guid}</id>"
            f"<content type='html'>{'<![CDATA[' + ''.join(content) + ARTICLE + ']]>' if cdata else ''.join(content)}"
            f"</content><updated>{guid}</updated></entry>" for title, link, content, cdata, guid in items)
        text = f"<?xml version='1.0'?>{doctype}<feed xmlns='http://www.w3.org/2005/Atom'><title>F</title>{body}</feed>"
    else:
        body = "".join(
            f"<item><title>{title}</title><link>{link}</link><guid>{guid}</guid><pubDate>{guid}</pubDate>"
            f"<description>{'<![CDATA[' + ''.join(content) + ARTICLE + ']]>' if cdata else ''.join(content)}"
            f"</description></item>" for title, link, content, cdata, guid in items)
        text = f"<?xml version='1.0'?>{doctype}<rss version='2.0'><channel><title>F</title>{body}</channel></rss>"
    cut = draw(st.integers(min_value=0, max_value=len(text)))
    if draw(st.booleans()):
        text = text[:cut]  # truncated anywhere
    return text.encode(draw(st.sampled_from(["utf-8", "utf-16", "gb18030"])), "replace")


@st.composite
def json_feeds(draw) -> bytes:  # noqa: ANN001
    import json

    value = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | FEED_TEXT,
                         lambda inner: st.lists(inner, max_size=3) | st.dictionaries(FEED_TEXT, inner, max_size=3),
                         max_leaves=10)
    keys = st.sampled_from(["id", "url", "external_url", "title", "content_html", "content_text", "summary",
                            "date_published", "date_modified", "authors", "author", "image"])
    items = draw(st.lists(st.dictionaries(keys, value | URLS, max_size=6), max_size=4))
    document = {"version": "https://jsonfeed.org/version/1.1", "title": draw(value), "items": items,
                "feed_url": draw(URLS), "hubs": draw(value), "language": draw(value)}
    return json.dumps(document).encode()


@FUZZ
@given(raw=feeds() | json_feeds() | st.binary(max_size=2000),
       charset=st.sampled_from([None, "utf-8", "gb2312", "utf-16", "iso-8859-1", "x-unknown"]))
def test_feed_parsing_never_crashes_and_entries_clean_safely(raw: bytes, charset: str | None) -> None:
    from services.ingest import feeds as feed_module
    from services.ingest.items import entry_page

    try:
        listing = feed_module.listing(raw, "https://news.example/feed.xml", charset)
    except ValueError as exc:
        assert re.match(r"not a ", str(exc)), f"not the documented refusal: {type(exc).__name__}: {exc}"
        return
    for item in listing.items:
        assert "root:" not in (item.title or "") + (item.content or "") + (item.summary or ""), "a local file was read"
        if item.content or item.summary:
            clean_or_refuse(entry_page(item), item.url, "utf-8")


def test_the_checker_finds_what_it_looks_for() -> None:
    """The invariant itself can fail: each of these outputs is caught."""
    for unsafe in ['<script>alert(1)</script>', '<p onclick="x">a</p>', '<a href="javascript:alert(1)">a</a>',
                   '<a href=" JaVa&#x09;Script:alert(1)">a</a>', '<img src="vbscript:x">', '<iframe src="x"></iframe>',
                   '<p style="x:y">a</p>', '<svg><a xlink:href="x">a</a></svg>', '<!-- c --><p>a</p>']:
        assert xss_problems(unsafe), unsafe
    for safe in ['<p>a &lt;script&gt;</p>', '<a href="https://x.example/" rel="noopener">x</a>', '<img src="/a.jpg">',
                 '<a href="mailto:a@b.example">m</a>', '<p>javascript:alert(1) as text</p>']:
        assert not xss_problems(safe), safe
    assert unsafe_url("java\nscript:alert(1)") and not unsafe_url("`javascript:x`") and not unsafe_url("/a:b")


@pytest.mark.parametrize("url", ["javascript:alert(1)", "data:text/html,x", "vbscript:x"])
def test_published_urls_are_checked_too(url: str) -> None:
    assert unsafe_url(url, {"http", "https"})
