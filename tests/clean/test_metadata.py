"""Metadata rules: title, published time, bylines in both languages, original source."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from services.clean import metadata
from services.clean.extract import extract, parse

CHINA = timezone(timedelta(hours=8))
FILLER = "该区始终坚持问题导向、效率导向、结果导向、目标导向的工作方针，开展全方位督导，建立问题台账，实行动态管理。"


def page(head: str = "", body: str = "") -> str:
    return f"<html><head>{head}</head><body>{body}</body></html>"


def read(html: str, url: str | None = None) -> metadata.Meta:
    return metadata.read(parse(html), url)


def test_title_is_the_headline_that_the_title_tag_repeats_without_the_site() -> None:
    meta = read(page("<title>Council approves bus budget | The Daily Example</title>",
                     "<h1>Council approves bus budget</h1><p>text</p>"))
    assert meta.title == "Council approves bus budget"


@pytest.mark.parametrize("title", ["焦作解放区:全力推进全国文明典范城市创建_大河网", "焦作解放区:全力推进全国文明典范城市创建-大河网",
                                   "焦作解放区:全力推进全国文明典范城市创建 - 河南频道 - 大河网"])
def test_chinese_title_loses_its_site_suffix(title: str) -> None:
    meta = read(page(f"<title>{title}</title>", f"<p>{FILLER * 3}</p>"))
    assert meta.title == "焦作解放区:全力推进全国文明典范城市创建"


def test_json_ld_date_and_authors_come_first() -> None:
    ld = ('<script type="application/ld+json">{"@type": "NewsArticle", "headline": "A", '
          '"datePublished": "2019-11-20T05:27:00-06:00", "author": [{"@type": "Person", "name": "Robert Burns"}, '
          '{"name": "Jane Roe"}]}</script>')
    meta = read(page(ld + '<meta property="article:published_time" content="2001-01-01">', "<h1>A</h1>"))
    assert meta.published == datetime(2019, 11, 20, 5, 27, tzinfo=timezone(timedelta(hours=-6)))
    assert meta.authors == ["Robert Burns", "Jane Roe"]


def test_meta_author_drops_by_and_wire_titles() -> None:
    meta = read(page('<meta name="author" content="By Tom Krisher, AP Auto Writer">', "<p>x</p>"))
    assert meta.authors == ["Tom Krisher"]


def test_visible_time_under_the_headline_is_read_in_the_sites_zone() -> None:
    body = (f"<p>2020年1月1日 星期三</p><h1>焦作解放区全力推进创建</h1><p>2022-09-30 21:55:06 来源：大河网</p>"
            f"<p>{FILLER * 4}</p><p>另据2019-01-02报道</p>")
    meta = read(page("<title>焦作解放区全力推进创建</title>", body))
    assert meta.published == datetime(2022, 9, 30, 21, 55, 6, tzinfo=CHINA)


def test_chinese_date_with_characters() -> None:
    meta = read(page("<title>标题很长的一条新闻</title>", f"<h1>标题很长的一条新闻</h1><p>2004年7月16日08:19 来源：国际金融报</p><p>{FILLER * 4}</p>"))
    assert meta.published == datetime(2004, 7, 16, 8, 19, tzinfo=CHINA)


def test_date_from_url_when_the_page_shows_none() -> None:
    meta = read(page("<title>t</title>", "<p>x</p>"), "https://example.com/news/2019/11/25/story.html")
    assert meta.published is not None and meta.published.date().isoformat() == "2019-11-25"


@pytest.mark.parametrize(
    ("lines", "header", "authors"),
    [
        (["新京报讯（记者 陆一夫）11月25日，新京报记者登录拼多多全球购页面发现。", FILLER], "", ["陆一夫"]),
        (["据新华社拉萨电（记者 格桑边觉）记者近日从西藏自治区农业农村厅获悉。", FILLER], "", ["格桑边觉"]),
        (["澎湃新闻记者 贺梨萍", FILLER], "", ["贺梨萍"]),
        ([FILLER, "过一个平安、祥和的新春佳节。(马强 刘相宜)"], "", ["马强", "刘相宜"]),
        ([FILLER, "这样的说法没有道理。（姚峰 上海报道）"], "", ["姚峰"]),
        ([FILLER], " 时间：2004年10月21日14:18 作者：郭励弘 我来说两句", ["郭励弘"]),
        ([FILLER], " 本报实习生 刘国栋 周　炜 本报记者 王燕平", ["刘国栋", "周炜", "王燕平"]),
        ([FILLER], " 石佳/中国青年报 2019-09-24 09:10", ["石佳"]),
        ([FILLER, "采写：南都见习记者 林子沛"], "", ["林子沛"]),
        ([FILLER], "", []),
    ],
)
def test_chinese_bylines(lines: list[str], header: str, authors: list[str]) -> None:
    assert metadata.zh_authors(lines, header) == authors


def test_editor_is_the_last_resort() -> None:
    assert metadata.zh_authors([FILLER], "", ["（ 责任编辑：魏喆 ）"]) == ["魏喆"]
    assert metadata.zh_authors(["（记者 陆一夫）" + FILLER], "", ["责任编辑：魏喆"]) == ["陆一夫"]


@pytest.mark.parametrize(
    ("first", "source"),
    [("大河网讯 “全天24小时值班的监控系统”", "大河网"), ("新华社北京9月30日电 国务院新闻办公室今天举行发布会", "新华社"),
     ("新京报快讯（记者 裴剑飞）今日有网友爆料", "新京报"), ("本报讯 今天", None)],
)
def test_original_source(first: str, source: str | None) -> None:
    assert metadata.source_name([first, FILLER], "") == source


def test_source_from_a_laid_out_line() -> None:
    assert metadata.source_name([FILLER], "2005年3月11日12:12 来源：[ 人民网 ]") == "人民网"


def test_whole_page_metadata_end_to_end() -> None:
    html = page(
        '<title>市议会通过公交预算_新闻中心_示例网</title><link rel="canonical" href="/news/1.html">'
        '<meta property="og:image" content="/img/lead.jpg"><meta name="description" content="三条新线路明年开通">',
        "<div class='nav'><a href='/'>首页</a></div><h1>市议会通过公交预算</h1><p>2022-09-30 21:55:06 来源：示例网</p>"
        f"<div class='article'><p>示例网讯（记者 王小明）{FILLER}</p><p>{FILLER}</p></div>",
    )
    part = extract(html.encode("utf-8"), "https://example.com/news/1.html?from=rss")
    assert part.title == "市议会通过公交预算"
    assert part.authors == ["王小明"] and part.source_name == "示例网"
    assert part.published == datetime(2022, 9, 30, 21, 55, 6, tzinfo=CHINA)
    assert part.canonical_url == "https://example.com/news/1.html"
    assert part.lead_image == "https://example.com/img/lead.jpg" and part.summary == "三条新线路明年开通"
    assert part.charset == "utf-8" and part.quality is not None


def test_us_date_line_counts_only_with_a_time() -> None:
    body = f"<p>归档 12/01/2004 - 01/01/2005</p><p>发布日期： 9/17/2004 5:54:13 AM</p><p>{FILLER * 3}</p>"
    meta = read(page("<title>某站</title>", body))
    assert meta.published == datetime(2004, 9, 17, 5, 54, 13, tzinfo=CHINA)


def test_a_line_of_names_under_the_headline_is_the_byline() -> None:
    assert metadata.zh_authors(["犬儒病(上)", "胡平", FILLER], "") == ["胡平"]
    assert metadata.zh_authors(["前言部分的标题", FILLER], "") == []


def test_a_title_the_page_never_shows_loses_to_the_opening_headline() -> None:
    html = page("<title>谢谢您访问本站</title>",
                f"<div class='nav'><a href='/'>首页</a></div><div><p>我是怎样卷入这件事的</p><p>茉莉</p>"
                f"<p>{FILLER}</p><p>{FILLER[::-1]}</p></div>")
    part = extract(html.encode("utf-8"))
    assert part.title == "我是怎样卷入这件事的" and part.authors == ["茉莉"]
    assert not part.text.startswith(("我是怎样", "茉莉"))


def test_a_byline_ends_at_the_next_fields_label() -> None:
    # An empty 作者 field followed by other labels names nobody; the name under the headline does.
    header = " 作者： 来源： 发布日期： 2021-05-03 新年随笔 李冬梅 今年的春节来得早，"
    assert metadata.zh_authors(["李冬梅", FILLER], header) == ["李冬梅"]


def test_names_run_together_with_role_words_and_dates_are_split() -> None:
    header = " 本报实习生 张晓 王磊本报记者 陈一鸣 周正2021-5-3 晚报讯 "
    assert metadata.zh_authors([FILLER], header) == ["张晓", "王磊", "陈一鸣", "周正"]


def test_a_slash_after_the_role_and_an_ampersand_between_names() -> None:
    assert metadata.zh_authors(["执笔/王小明、李大海&张三丰", FILLER], "") == ["王小明", "李大海", "张三丰"]


def test_who_posted_a_blog_or_forum_post_is_its_author() -> None:
    assert metadata.zh_authors([FILLER], "", [], " 由山间小溪发表 @ 2021-05-03 20:11 (阅读 12) ") == ["山间小溪"]
    assert metadata.zh_authors([FILLER], "", ["〓 发布时间 2021/05/03 20:11:00 by river_cat 〓"]) == ["river_cat"]
    assert metadata.zh_authors([FILLER], "", [], " 阅读全文 (12) 评论 (3) ") == []


def test_role_words_in_the_plural_are_prose_not_a_byline() -> None:
    assert metadata.zh_authors(["照这些作者们看来，社区的变化很大。", FILLER], "") == []
