"""Sanitised HTML output: structure kept, anything executable gone."""

from __future__ import annotations

from services.clean.extract import extract, render_html
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


def test_a_byline_line_with_its_role_word_and_ampersand_is_dropped_from_the_text() -> None:
    paragraphs = "".join(f"<p>{p}</p>" for p in [
        "近日，家住花园街社区的李大爷谈起智慧楼院建设时赞不绝口，说院里的居民感到很安全、很安心。",
        "该区先后多次召开动员会研究部署创建工作，形成纵向到底、横向到边、环环相扣的工作格局。"] * 2)
    page = f"<html><head><title>社区新变化</title></head><body><h1>社区新变化</h1><div class='content'>" \
           f"<p>执笔/王小明、李大海&张三丰</p>{paragraphs}</div></body></html>"
    part = extract(page.encode("utf-8"))
    assert part.authors == ["王小明", "李大海", "张三丰"]
    assert not part.text.startswith("执笔")


def test_links_inside_paragraphs_are_kept_with_nofollow_and_unsafe_ones_lose_their_target() -> None:
    story = ("<p>The council <a href='/budget/2021.pdf'>published the budget</a> on Monday, and the mayor "
             "<a href='javascript:alert(1)'>answered questions</a> for most of the afternoon at City Hall.</p>"
             "<p>Bus fares will stay the same for at least two years, while three new routes open in the spring, "
             "<a href='https://transit.example.org/routes'>the transit office</a> said in a statement.</p>"
             "<p>Opponents argued that the plan, which costs more than any before it, leaves the north behind.</p>")
    page = f"<html><head><title>Budget</title></head><body><div class='content'>{story}</div></body></html>"
    part = extract(page.encode("utf-8"), "https://news.example.com/city/1.html")
    assert ('<a href="https://news.example.com/budget/2021.pdf" rel="noopener noreferrer nofollow">published the '
            'budget</a>') in part.html
    assert '<a href="https://transit.example.org/routes" rel="noopener noreferrer nofollow">' in part.html
    assert "javascript" not in part.html and "answered questions" in part.html
    assert part.text.startswith("The council published the budget on Monday")


def test_a_story_whose_every_line_is_a_link_is_read_by_the_second_engine() -> None:
    episode = ("<p><a href='https://cdn.example.org/ep12.mp3'>Dr. Jane Roe speaks with Professor John Doe, a surgeon "
               "who has trained hundreds of doctors in the technique over thirty years of practice.</a><br><br>"
               "<a href='https://cdn.example.org/ep12.mp3'>He holds fourteen patents and has written three books and "
               "more than three hundred papers on the subject of ear surgery.</a></p>")
    page = f"<html><head><title>Episode 12</title></head><body><article>{episode}</article></body></html>"
    part = extract(page.encode("utf-8"), "https://podcast.example.org/ep12")
    assert part.text.startswith("Dr. Jane Roe speaks with Professor John Doe")
    assert "three hundred papers" in part.text
    assert part.extractor.endswith("(trafilatura fallback)")


def test_the_second_engine_is_not_asked_to_read_mojibake() -> None:
    import pytest

    from shared.errors import ExtractionError

    # Mojibake the decoder cannot undo (each run ends in a lead byte whose continuation was lost).
    garbled = "Le conseil a approuvÃ©Ã mardi le plan aprÃ¨Ã un long dÃ©Ã bat Ã  GenÃ¨Ã ve, dÃ©Ã clarent les Ã©Ã lus (中)."
    page = ("<html><head><title>Plan</title></head><body><article>"
            + "".join(f"<p>{garbled} {i}</p>" for i in range(3)) + "</article></body></html>")
    with pytest.raises(ExtractionError, match="no article text"):
        extract(page.encode("utf-8"))
