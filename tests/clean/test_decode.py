"""Decoding with provenance: every rule on bytes made here."""

from __future__ import annotations

import codecs

from services.clean.decode import decode_html

PAGE = "<html><head>{meta}</head><body><p>{text}</p></body></html>"


def page(text: str, meta: str = "") -> str:
    return PAGE.format(meta=meta, text=text)


def test_byte_order_mark_wins() -> None:
    raw = codecs.BOM_UTF8 + page("新闻", '<meta charset="gbk">').encode("utf-8")
    decoded = decode_html(raw, "iso-8859-1")
    assert "新闻" in decoded.text and decoded.charset == "utf-8" and decoded.reason == "byte order mark"


def test_gb2312_is_read_as_gb18030() -> None:
    text = "焦作解放区 䶮"  # the last character is outside GB2312 and GBK
    decoded = decode_html(page(text, '<meta charset="gb2312">').encode("gb18030"))
    assert text in decoded.text
    assert decoded.charset == "gb18030" and "declared charset gb2312 read as gb18030" in decoded.reason


def test_valid_utf8_beats_a_stale_legacy_declaration() -> None:
    text = "人民网 北京9月30日电"
    decoded = decode_html(page(text, '<meta http-equiv="Content-Type" content="text/html; charset=gb2312">').encode())
    assert text in decoded.text and decoded.charset == "utf-8" and decoded.reason == "strict UTF-8"


def test_http_charset_is_used_when_utf8_fails() -> None:
    text = "記者 陳大文 香港報道"
    decoded = decode_html(page(text).encode("big5"), "Big5")
    assert text in decoded.text
    assert decoded.charset == "big5hkscs" and decoded.reason.startswith("HTTP charset Big5")


def test_latin1_label_is_read_as_windows_1252() -> None:
    decoded = decode_html(page("“quoted” – café").encode("cp1252"), "ISO-8859-1")
    assert "“quoted” – café" in decoded.text and decoded.charset == "cp1252"


def test_chinese_bytes_mislabelled_as_latin_are_not_taken_as_latin() -> None:
    text = "这是一段很长的中文新闻正文，用来检验错误的字符集声明。" * 5
    decoded = decode_html(page(text).encode("gb18030"), "iso-8859-1")
    assert "中文新闻正文" in decoded.text, decoded.tried
    assert "mojibake" in " ".join(decoded.tried)


def test_undecodable_bytes_are_dropped_and_counted() -> None:
    raw = page("新闻", '<meta charset="utf-8">').encode("utf-8").replace(b"<p>", b"<p>\xff\xfe\xff")
    decoded = decode_html(raw)
    assert "\ufffd" not in decoded.text and "新闻" in decoded.text
    assert decoded.replaced > 0 and "undecodable" in decoded.reason


def test_no_declaration_falls_back_to_detection() -> None:
    text = "国务院新闻办公室今天举行新闻发布会，介绍有关情况。记者从会上获悉，相关工作进展顺利。" * 4
    decoded = decode_html(page(text).encode("gb18030"))
    assert text in decoded.text and decoded.reason == "detected"


def test_the_cleaned_article_records_every_encoding_tried() -> None:
    from services.clean.extract import extract

    story = "".join(f"<p>{line}</p>" for line in (
        "近日，家住花园街社区的李大爷谈起智慧楼院建设时赞不绝口，说院里的居民感到很安全、很安心。",
        "该区先后多次召开动员会研究部署创建工作，形成纵向到底、横向到边、环环相扣的工作格局。",
        "下一步，全区将持续巩固创建成果，推动城市管理向精细化、常态化、长效化转变，让群众有更多获得感。"))
    raw = ('<html><head><meta charset="gb2312"><title>社区建设</title></head><body><div class="content">'
           f"{story}</div></body></html>").encode("gbk")
    part = extract(raw, "https://example.com/n/1.html")
    assert "智慧楼院" in part.text
    assert part.charset == "gb18030" and part.charset_reason == "declared charset gb2312 read as gb18030"
    assert part.charset_tried[0].startswith("utf-8: ") and "undecodable" in part.charset_tried[0]
    assert part.charset_tried[-1] == "gb18030: ok"


def test_utf8_read_as_windows_1252_and_saved_again_is_undone() -> None:
    text = page("Le conseil a approuvé mardi le plan après un long débat à Genève, l’été dernier.")
    twice = text.encode("utf-8").decode("cp1252").encode("utf-8")
    decoded = decode_html(twice)
    assert "approuvé mardi le plan après un long débat à Genève, l’été" in decoded.text
    assert decoded.charset == "utf-8" and "double-encoded" in decoded.reason


def test_a_page_that_only_quotes_mojibake_is_left_as_it_is() -> None:
    text = page("Broken sites show Ã© where é belongs, Ã¨ for è, Ã  for à and â€™ for ’: 4 marks, 1 real é.")
    decoded = decode_html(text.encode("utf-8"))
    assert decoded.text == text and decoded.reason == "strict UTF-8"
