"""Main-text rules on small pages made here (not copies of the evaluation pages)."""

from __future__ import annotations

from services.clean.content import extract_body, weight
from services.clean.extract import parse

ZH_PARAGRAPHS = [
    "近日，家住花园街社区的李大爷谈起智慧楼院建设时赞不绝口，说院里的居民感到很安全、很安心。",
    "该区先后多次召开动员会研究部署创建工作，形成纵向到底、横向到边、环环相扣的工作格局。",
    "下一步，全区将持续巩固创建成果，推动城市管理向精细化、常态化、长效化转变，让群众有更多获得感。",
]
EN_PARAGRAPHS = [
    "The city council approved a new budget for public transport on Monday, after a debate that lasted most of the day.",
    "Bus fares will stay the same for at least two years, the mayor said, while three new routes open in the spring.",
    "Opponents argued that the plan, which costs more than any before it, leaves the northern districts behind.",
]


def body_of(html: str, title: str | None = None) -> list[str]:
    return extract_body(parse(html), title).lines


def nav(n: int = 8) -> str:
    return "<ul>" + "".join(f'<li><a href="/c{i}">频道{i}</a></li>' for i in range(n)) + "</ul>"


def test_cjk_characters_weigh_double() -> None:
    assert weight("新闻") == 4 and weight("news") == 4 and weight("  ") == 0


def test_br_separated_chinese_text_in_a_table_cell_is_the_story() -> None:
    html = (f"<html><body><table><tr><td>{nav()}</td><td>{'<br>'.join(ZH_PARAGRAPHS)}</td></tr></table>"
            "</body></html>")
    assert body_of(html) == ZH_PARAGRAPHS


def test_navigation_related_links_and_copyright_are_left_out() -> None:
    related = "".join(f'<li><a href="/n{i}">相关新闻标题第{i}条很长很长的标题</a></li>' for i in range(6))
    html = (f'<html><body><div class="header">{nav()}</div><div class="article">'
            + "".join(f"<p>{p}</p>" for p in ZH_PARAGRAPHS)
            + f'<p>相关推荐</p><ul>{related}</ul><p>未经授权禁止转载，违者必究</p></div>'
            '<div class="footer">版权所有 © 2022 某某网 豫ICP备12345号</div></body></html>')
    lines = body_of(html)
    assert lines == ZH_PARAGRAPHS


def test_a_related_heading_cuts_what_follows_once_the_story_is_in() -> None:
    html = ("<html><body><div>" + "".join(f"<p>{p}</p>" for p in EN_PARAGRAPHS)
            + "<h3>Related Articles</h3><p>Another story entirely, with its own long sentence about other things.</p>"
            + "</div></body></html>")
    assert body_of(html) == EN_PARAGRAPHS


def test_teasers_inside_links_never_win() -> None:
    teaser = "".join(f'<li><a href="/t{i}"><div class="content">{ZH_PARAGRAPHS[0]}{ZH_PARAGRAPHS[1]}</div></a></li>'
                     for i in range(3))
    html = (f"<html><body><div class='main'><p>{ZH_PARAGRAPHS[2]}</p><p>{ZH_PARAGRAPHS[2][::-1]}</p></div>"
            f"<ul class='list'>{teaser}</ul></body></html>")
    assert body_of(html)[0] == ZH_PARAGRAPHS[2]


def test_a_story_split_into_sections_around_a_figure_comes_out_whole() -> None:
    more = [f"Part {n}: " + p for n, p in enumerate(EN_PARAGRAPHS)]
    section = '<section><div><div class="post-content">{}</div></div></section>'
    first = section.format("".join(f"<p>{p}</p>" for p in EN_PARAGRAPHS))
    second = section.format("".join(f"<p>{p}</p>" for p in more))
    html = (f"<html><body><article>{first}<figure><img src='a.jpg'><figcaption>A bus</figcaption></figure>"
            f"{second}</article></body></html>")
    assert body_of(html) == EN_PARAGRAPHS + more


def test_captions_are_kept_apart_and_credit_lines_dropped() -> None:
    html = ("<html><body><div class='content'><figure><img src='/p.jpg' width='600'>"
            "<figcaption>焦作市解放区花园街社区一角</figcaption></figure>"
            + "".join(f"<p>{p}</p>" for p in ZH_PARAGRAPHS)
            + "<p>责任编辑：王小明</p><p>Photo: Jane Doe, AP</p></div></body></html>")
    body = extract_body(parse(html))
    assert body.lines == ZH_PARAGRAPHS
    assert body.captions == ["焦作市解放区花园街社区一角"]
    assert body.images == [("/p.jpg", "焦作市解放区花园街社区一角")]
    assert "责任编辑：王小明" in body.credits


def test_a_page_whose_content_sits_in_head_is_still_read() -> None:
    # A <script> before <html> makes libxml2 put the whole page under <head>.
    html = "<script>var a = 1;</script><html><body><div>" + "".join(f"<p>{p}</p>" for p in ZH_PARAGRAPHS) + "</div>"
    assert body_of(html) == ZH_PARAGRAPHS


def test_the_headline_repeated_as_first_line_is_not_body() -> None:
    html = "<html><body><div><h1>市议会通过公交预算</h1>" + "".join(f"<p>{p}</p>" for p in ZH_PARAGRAPHS) + "</div>"
    assert body_of(html, "市议会通过公交预算") == ZH_PARAGRAPHS


def test_widget_lines_photo_credits_and_meta_lines_are_dropped() -> None:
    html = ("<html><body><div class='content'>" + "".join(f"<p>{p}</p>" for p in EN_PARAGRAPHS)
            + "<p>Advert</p><p>A man loads trims into his truck outside a store. (AP Photo/Alan Diaz, File)</p>"
            + "<p>Marcus De Guzman 2019-11-20 17:27:46</p><p>Tell us what YOU think...</p></div></body></html>")
    assert body_of(html) == EN_PARAGRAPHS


def test_chinese_captions_and_bare_credits_are_not_prose() -> None:
    html = ("<html><body><div class='content'>" + "".join(f"<p>{p}</p>" for p in ZH_PARAGRAPHS)
            + "<p>10月4日，旅游专列开往襄阳。 通讯员刘娟 摄</p><p>南湖公园一角（视频截图）</p>"
            + "<p>新京报记者 陆一夫</p><p>编辑 刘晓阳 校对 李铭</p></div></body></html>")
    assert body_of(html) == ZH_PARAGRAPHS


def test_a_long_comment_thread_under_a_short_post_is_not_the_story() -> None:
    replies = "".join(f"<h4>re: 新年快乐 #{i}</h4><p>{ZH_PARAGRAPHS[i % 3][::-1]}，说得好，支持一下！</p>"
                      for i in range(30))
    html = ('<html><body><div id="main"><div class="post"><h2>新年快乐</h2>'
            + "".join(f"<p>{p}</p>" for p in ZH_PARAGRAPHS)
            + f'</div><div id="comments"><h3>评论</h3>{replies}</div></div></body></html>')
    assert body_of(html, "新年快乐") == ZH_PARAGRAPHS


def test_a_page_listing_several_dated_posts_gives_the_first_post() -> None:
    posts = [
        ("周末去海边", "2021-05-03 20:11", ZH_PARAGRAPHS),
        ("读书笔记", "2021-04-28 09:30", [p[::-1] * 3 for p in ZH_PARAGRAPHS]),  # the longest post is not the story
        ("春天来了", "2021-04-02 18:45", [p[::-1] for p in ZH_PARAGRAPHS]),
    ]
    html = "<html><body><div class='blog'>" + "".join(
        f"<div class='entry'><div class='entry-head'><span>{title}</span> <span>{stamp}</span></div>"
        f"<div class='entry-text'>{'<br>'.join(lines)}</div><div class='entry-foot'>阅读(12) 评论(0)</div></div>"
        for title, stamp, lines in posts) + "</div></body></html>"
    assert body_of(html) == ZH_PARAGRAPHS


def test_a_story_in_several_blocks_of_one_class_without_dates_stays_whole() -> None:
    html = ("<html><body><div class='story'>"
            + "".join(f"<div class='chunk'><p>{p} {p}</p></div>" for p in EN_PARAGRAPHS)
            + "</div></body></html>")
    assert body_of(html) == [f"{p} {p}" for p in EN_PARAGRAPHS]


def test_a_sentence_citing_its_sources_in_links_is_kept_a_link_line_is_not() -> None:
    cited = ('Officials <a href="/a">closed the schools</a> and <a href="/b">cancelled the flights</a> on Friday, '
             'citing <a href="/c">a report from the weather service</a>, as the storm moved in.')
    teaser = '<a href="/d">Another story about the weather</a> and <a href="/e">a second one about the floods</a>'
    html = ("<html><body><div class='story'>" + "".join(f"<p>{p}</p>" for p in EN_PARAGRAPHS)
            + f"<p>{cited}</p><p>{teaser}</p></div></body></html>")
    lines = body_of(html)
    assert lines[-1] == ("Officials closed the schools and cancelled the flights on Friday, citing a report from the "
                         "weather service, as the storm moved in.")
    assert lines[:-1] == EN_PARAGRAPHS


def test_english_furniture_lines_credits_contributors_and_promotions_are_dropped() -> None:
    furniture = [
        "Jane Roe and John Doe, Associated Press", "Image copyright Example Pictures", "Photo 2 of 7",
        "Chat with us on WhatsApp for the latest from City Hall.", "Sharing is caring!",
        "Sam Poe contributed reporting from Lisbon.", "Reporting by Jane Roe; Editing by John Doe",
        "Get the morning briefing in your inbox. Sign up for our newsletter.",
        "Follow @CityDesk on Twitter for the latest on the budget.",
        "Citation: Council approves budget (2021, May 3) retrieved 4 May 2021 from https://example.org/n/1",
        "Cite this page: Roe, J. Council approves budget. Retrieved May 4, 2021, from https://example.org/n/1",
        "This article and its pictures are subject to copyright. No part may be reproduced without permission.",
        "Reading time: 3 minutes", "City Archive via AP", "jane.roe@example.org", "twitter.com/janeroe",
    ]
    story = [f"<p>{EN_PARAGRAPHS[0]}</p>", *(f"<p>{line}</p>" for line in furniture[:5]),
             *(f"<p>{p}</p>" for p in EN_PARAGRAPHS[1:]), *(f"<p>{line}</p>" for line in furniture[5:])]
    html = "<html><body><div class='content'>" + "".join(story) + "</div></body></html>"
    assert body_of(html) == EN_PARAGRAPHS


def test_a_more_great_stories_heading_closes_the_story() -> None:
    more = "".join(f"<p>Another headline {i}</p>" for i in range(3))
    html = ("<html><body><div class='content'>" + "".join(f"<p>{p}</p>" for p in EN_PARAGRAPHS)
            + f"<h3>More Great Example Stories</h3>{more}</div></body></html>")
    assert body_of(html) == EN_PARAGRAPHS


def test_a_block_named_as_a_caption_is_kept_apart_from_the_story() -> None:
    caption = "The mayor, left, speaks to reporters outside the town hall on Monday, May 3, 2021."
    html = ("<html><body><div class='content'><div class='media'><img src='/m.jpg' width='640'>"
            f"<div class='image-caption'><span>{caption}</span></div></div>"
            + "".join(f"<p>{p}</p>" for p in EN_PARAGRAPHS)
            + f"<div class='inlineImageCaption'>{caption} Second picture.</div></div></body></html>")
    body = extract_body(parse(html))
    assert body.lines == EN_PARAGRAPHS
    assert body.captions == [caption, f"{caption} Second picture."]


def test_a_line_that_is_only_a_written_out_date_is_not_prose() -> None:
    stamps = ["Tuesday, March 2, 2021, 09:15 am ET", "quarta-feira, 3 de março de 2021 às 10:40"]
    kept = "The festival runs from 3 March 2021 to 9 March 2022, its organisers said."
    html = ("<html><body><div class='content'>" + "".join(f"<p>{s}</p>" for s in stamps)
            + "".join(f"<p>{p}</p>" for p in EN_PARAGRAPHS) + f"<p>{kept}</p></div></body></html>")
    assert body_of(html) == [*EN_PARAGRAPHS, kept]


def test_a_quoted_tweet_in_a_social_embed_wrapper_stays_in_the_story() -> None:
    tweet = ('<div class="social-embed"><blockquote class="twitter-tweet"><p>The new bus routes start on Monday, '
             'and the fares stay the same for two years.</p>— City Hall (@cityhall) <a href="/s/1">May 3, 2021</a>'
             '</blockquote></div>')
    share = '<div class="social-share"><a href="/fb">Facebook</a> <a href="/tw">Twitter</a></div>'
    html = ("<html><body><div class='content'>" + share + f"<p>{EN_PARAGRAPHS[0]}</p>{tweet}"
            + "".join(f"<p>{p}</p>" for p in EN_PARAGRAPHS[1:]) + "</div></body></html>")
    lines = body_of(html)
    assert "The new bus routes start on Monday, and the fares stay the same for two years." in lines
    assert not any("Facebook" in line for line in lines)


def test_a_hover_card_inside_a_sentence_is_not_read_into_it() -> None:
    card = ('<span class="person-tooltip"><a href="/p/1">Jane Roe</a> <a href="/n/2">Council passes budget after '
            'long debate</a> <a href="/n/3">Mayor promises new bus routes</a> MORE</span>')
    html = ("<html><body><div class='content'>"
            f"<p>The mayor, <a href='/p/1'>Jane Roe</a>{card}, said the budget was the largest in a decade.</p>"
            + "".join(f"<p>{p}</p>" for p in EN_PARAGRAPHS) + "</div></body></html>")
    assert body_of(html)[0] == "The mayor, Jane Roe, said the budget was the largest in a decade."


def test_a_lead_paragraph_in_its_own_wrapper_beside_the_story_is_kept() -> None:
    lead = ("LISBON (Example News) The city council approved the largest transport budget in its history on Monday "
            "evening.")
    rest = "".join(f"<div class='para'>{p} {p}</div>" for p in EN_PARAGRAPHS)
    html = (f"<html><body><div class='wrap'><div class='lead-media'><p class='para'>{lead}</p></div>"
            f"<div class='read-all'>{rest}</div></div></body></html>")
    assert body_of(html) == [lead, *(f"{p} {p}" for p in EN_PARAGRAPHS)]


def test_comment_moderation_notes_and_post_meta_lines_are_dropped() -> None:
    notes = ["Posted by Jane Roe on May 3, 2021 - Category: City - Tags: budget, buses",
             "Note: comments are reviewed by a moderator before they appear.",
             "AVISO: comentários ofensivos não serão aprovados pela moderação."]
    html = ("<html><body><div class='content'>" + f"<p>{notes[0]}</p>"
            + "".join(f"<p>{p}</p>" for p in EN_PARAGRAPHS) + "".join(f"<p>{n}</p>" for n in notes[1:])
            + "</div></body></html>")
    assert body_of(html) == EN_PARAGRAPHS


def test_prose_about_comments_and_a_large_block_named_caption_stay() -> None:
    kept = "In public comments, the mayor said the plan was approved by the council."
    html = ("<html><body><div class='story with-captions'>" + "".join(f"<p>{p} {p}</p>" for p in EN_PARAGRAPHS)
            + f"<p>{kept}</p></div></body></html>")
    assert body_of(html) == [*(f"{p} {p}" for p in EN_PARAGRAPHS), kept]


def test_an_interviewers_questions_are_story_not_credits() -> None:
    qa = ["记者：请问今年的社区改造工作进展如何，居民有哪些新的期待？", ZH_PARAGRAPHS[0],
          "记者：下一步还有什么打算？", ZH_PARAGRAPHS[2]]
    html = ("<html><body><div class='content'>" + "".join(f"<p>{p}</p>" for p in [ZH_PARAGRAPHS[1], *qa])
            + "<p>记者：王小明</p></div></body></html>")
    assert body_of(html) == [ZH_PARAGRAPHS[1], *qa]


def test_a_line_with_a_bracketed_call_to_action_is_a_promotion() -> None:
    promo = "“年度人物评选”正在火热进行中，快来为你心目中的榜样加油！【点击投票】选出你的年度人物"
    html = ("<html><body><div class='content'>" + "".join(f"<p>{p}</p>" for p in ZH_PARAGRAPHS)
            + f"<p>{promo}</p></div></body></html>")
    assert body_of(html) == ZH_PARAGRAPHS


def test_a_data_table_beside_the_text_in_a_layout_table_is_part_of_the_story() -> None:
    subjects = "考试科目：英语、社会学概论、城市规划原理、公共管理学、统计学基础"
    rows = "".join(f"<tr><td>01{i:02d}</td><td>专业方向{i}</td><td>{subjects}（第{i}组）</td></tr>" for i in range(16))
    html = ("<html><body><table><tr><td>" + nav() + "</td><td>"
            f"<table><tr><td>{'<br>'.join(ZH_PARAGRAPHS * 3)}</td></tr></table>"
            f"<table><tr><th>代码</th><th>专业方向</th><th>考试科目</th></tr>{rows}</table>"
            "</td></tr></table></body></html>")
    lines = body_of(html)
    assert lines[:9] == ZH_PARAGRAPHS * 3
    assert "0109 专业方向9 " + f"{subjects}（第9组）" in lines


def test_chinese_source_and_page_notes_are_not_story() -> None:
    notes = ["（原题为《社区改造的新变化》）", "(本文来自某某新闻，更多资讯请下载客户端)", "图片均来自网络",
             "——《城市周刊》2001年3月号", "(本文发表于首页, 已被阅读178次)", "第1页/共1页 << 上一页 | 下一页 >>"]
    html = ("<html><body><div class='content'>" + "".join(f"<p>{p}</p>" for p in ZH_PARAGRAPHS)
            + "".join(f"<p>{n}</p>" for n in notes) + "</div></body></html>")
    assert body_of(html) == ZH_PARAGRAPHS


def test_a_data_table_reads_one_line_per_row() -> None:
    table = ("<table><tr><th>Route</th><th>Stops</th><th>Opens</th></tr>"
             "<tr><td>North Loop</td><td>14</td><td>March</td></tr><tr><td>Harbour Line</td><td>9</td><td>April</td></tr>"
             "</table>")
    html = ("<html><body><div class='content'>" + "".join(f"<p>{p}</p>" for p in EN_PARAGRAPHS) + table
            + "</div></body></html>")
    assert body_of(html) == [*EN_PARAGRAPHS, "Route Stops Opens", "North Loop 14 March", "Harbour Line 9 April"]


def test_a_hover_card_with_a_picture_is_dropped_whatever_its_class_name() -> None:
    card = ('<span class="pp-block"><span><img src="/i/roe.jpg" width="100" height="100"><a href="/p/1">Jane Q. Roe</a>'
            '<a href="/n/2">Council passes budget after long debate</a> <a href="/n/3">Mayor promises new bus '
            'routes</a> <a href="/p/1">MORE</a></span></span>')
    html = ("<html><body><div class='content'>"
            f"<p>The mayor, <span class='pp'><a href='/p/1'>Jane Roe</a>{card}</span>, said the budget was the "
            "largest in a decade.</p>" + "".join(f"<p>{p}</p>" for p in EN_PARAGRAPHS) + "</div></body></html>")
    assert body_of(html)[0] == "The mayor, Jane Roe, said the budget was the largest in a decade."


def test_a_linked_picture_inside_a_sentence_with_one_link_stays() -> None:
    html = ("<html><body><div class='content'>"
            "<p>The mayor, <a href='/p/1'><img src='/i/roe.jpg' width='120'> Jane Roe</a>, said the budget was the "
            "largest in a decade.</p>" + "".join(f"<p>{p}</p>" for p in EN_PARAGRAPHS) + "</div></body></html>")
    assert body_of(html)[0] == "The mayor, Jane Roe, said the budget was the largest in a decade."


def test_a_line_the_story_repeats_is_kept_each_time() -> None:
    repeated = "Lunch: one cup of rice, grilled chicken with lemon, a green salad and a glass of water to drink."
    days = [f"<h3>Day {i}</h3><p>{repeated}</p><p>{EN_PARAGRAPHS[i % 3]}</p>" for i in range(3)]
    html = "<html><body><div class='content'>" + "".join(days) + "</div></body></html>"
    assert body_of(html).count(repeated) == 3


def story_with(lines: list[str], paragraphs: list[str] = EN_PARAGRAPHS) -> str:
    """A story container: the paragraphs, then the given lines (each its own <p>)."""
    return ("<html><body><div class='content'>" + "".join(f"<p>{p}</p>" for p in paragraphs)
            + "".join(f"<p>{line}</p>" for line in lines) + "</div></body></html>")


def test_paywall_notices_are_not_story_in_any_of_our_languages() -> None:
    notices = ["This article is for subscribers only.", "Subscribe now to continue reading.",
               "Already a subscriber? Log in", "この記事は会員限定です。登録すると続きをお読みいただけます。",
               "本文为会员专享内容，订阅后阅读全文", "Dieser Artikel ist nur für Abonnenten."]
    assert body_of(story_with(notices)) == EN_PARAGRAPHS


def test_typo_report_widgets_comment_rules_and_opinion_notes_are_dropped() -> None:
    notes = ["Нашли ошибку?", "Выделите текст и нажмите Ctrl+Enter, чтобы сообщить редакции.",
             "Комментарии проходят модерацию перед публикацией.",
             "نرجو الالتزام بقواعد النقاش، إذ تتم مراجعة التعليقات قبل نشرها على الموقع.",
             "الآراء الواردة أدناه لا تعبر عن رأي الموقع، بل تعكس وجهات نظر أصحابها فقط.",
             "The views expressed in the comments do not necessarily reflect those of this newspaper."]
    assert body_of(story_with(notes)) == EN_PARAGRAPHS


def test_prose_about_opinions_and_subscribers_stays() -> None:
    kept = ["Readers expressed strong views at the meeting, and the council promised to reflect on them.",
            "The streaming service said it had gained two million subscribers in the last quarter alone."]
    assert body_of(story_with(kept)) == [*EN_PARAGRAPHS, *kept]


def test_zoned_time_stamps_social_links_and_pagers_are_furniture() -> None:
    furniture = ["Mittwoch, 28. August 2013, aktualisiert 14:00 (GMT+0200)",
                 "الأربعاء، 28 آب 2013، آخر تحديث 14:00 (GMT+0400)",
                 "Facebook https://fb.me/exampletimes", "Twitter: twitter.com/exampletimes", "1 2 3 … >>", "8"]
    assert body_of(story_with(furniture)) == EN_PARAGRAPHS


def test_a_year_or_a_numbered_item_alone_is_not_a_pager() -> None:
    from services.clean.boilerplate import is_pager

    assert is_pager("12") and is_pager("< 1 | 2 | 3 >") and is_pager("1 2 3 … 10 »")
    assert not is_pager("2015") and not is_pager("1、") and not is_pager("Chapter 3")


def test_related_headings_close_the_story_in_more_languages() -> None:
    for heading in ("الأكثر تصفحاً", "مواضيع ذات صلة", "เรื่องที่เกี่ยวข้อง", "À lire aussi", "Baca juga"):
        assert body_of(story_with([heading, "Another story, about something else."])) == EN_PARAGRAPHS, heading


def test_previous_and_next_are_words_inside_a_sentence_and_labels_on_their_own() -> None:
    sentence = "至于编辑器与终端的分工，可以参考我的上一篇文章。它们各有特点，不是替代关系，而是互补关系。"
    html = story_with([sentence, "上一篇：某区召开城市管理工作推进会议", "下一篇：社区志愿服务活动丰富多彩"], ZH_PARAGRAPHS)
    assert body_of(html) == [*ZH_PARAGRAPHS, sentence]


def test_a_link_heading_between_paragraphs_is_kept_a_teaser_is_not() -> None:
    html = ("<html><body><div class='content'><h2>科技动态</h2>"
            f"<p>1、<a href='https://example.org/a'>AI 授课</a></p><p>{ZH_PARAGRAPHS[0]}</p>"
            f"<p>2、<a href='https://example.org/b'>螃蟹椅</a></p><p>{ZH_PARAGRAPHS[1]}</p>"
            f"<p><a href='/r'>Related: Another story from the archive</a></p><p>{ZH_PARAGRAPHS[2]}</p>"
            f"<p><a href='/s'>SEE THE PICTURES FROM THE PARADE</a></p><p>{ZH_PARAGRAPHS[2][::-1]}</p>"
            "<p><a href='/t'>A teaser for another story at the end</a></p></div></body></html>")
    assert body_of(html) == ["科技动态", "1、AI 授课", ZH_PARAGRAPHS[0], "2、螃蟹椅", ZH_PARAGRAPHS[1],
                             ZH_PARAGRAPHS[2], ZH_PARAGRAPHS[2][::-1]]


def test_a_list_of_links_a_sentence_introduces_is_the_storys_own() -> None:
    mentioned = ["User experience design", "The city archive", "Jane Roe"]
    related = ["Another story about the weather", "A second one about the floods"]
    html = ("<html><body><div class='content'>" + "".join(f"<p>{p}</p>" for p in EN_PARAGRAPHS)
            + "<p>Some other people, places and things mentioned in this episode:</p><ul>"
            + "".join(f"<li><a href='/m{i}'>{m}</a></li>" for i, m in enumerate(mentioned))
            + "</ul><p>More on this:</p><ul>"
            + "".join(f"<li><a href='/r{i}'>{r}</a></li>" for i, r in enumerate(related))
            + "</ul></div></body></html>")
    assert body_of(html) == [*EN_PARAGRAPHS, "Some other people, places and things mentioned in this episode:",
                             *mentioned]


def test_a_short_sentence_with_most_of_its_words_in_a_link_is_prose() -> None:
    html = story_with(['Over in the capital, the bakery is <a href="/n">no longer allowed to call its bread '
                       '“sourdough”</a>.'])
    assert body_of(html)[-1] == "Over in the capital, the bakery is no longer allowed to call its bread “sourdough”."


def test_a_web_address_ending_in_a_social_networks_name_is_not_a_social_link() -> None:
    from services.clean.boilerplate import SOCIAL_URL

    assert SOCIAL_URL.match("YouTube: https://www.youtube.com/c/exampletimes")
    assert not SOCIAL_URL.match("max.com/shows") and not SOCIAL_URL.match("netflix.com/title/80100172")
