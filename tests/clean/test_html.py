"""Sanitised HTML output: structure kept, anything executable gone."""

from __future__ import annotations

from services.clean.extract import render_html
from shared.payload import Image


def test_blocks_become_headings_lists_quotes_and_figures() -> None:
    html = render_html(
        [("p", "First <b>para</b>"), ("h3", "A subheading"), ("li", "one"), ("li", "two"), ("blockquote", "said")],
        [Image(url="https://example.com/a.jpg", caption='A "bus" <script>')],
    )
    assert html.startswith("<p>First &lt;b&gt;para&lt;/b&gt;</p><h3>A subheading</h3><ul><li>one</li><li>two</li></ul>")
    assert "<blockquote><p>said</p></blockquote>" in html
    assert '<figure><img src="https://example.com/a.jpg"' in html and "<figcaption>" in html
    assert "<script" not in html


def test_hostile_image_urls_are_dropped() -> None:
    html = render_html([("p", "x")], [Image(url="javascript:alert(1)", caption=None)])
    assert "javascript" not in html
