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


# -- the candidate with the fewest problems wins; lying charsets lose to the content ------------------------------
ZH = "焦作市文明办九月三十日召开全市创建全国文明城市工作推进会议，总结前一阶段的工作，安排部署下一步的重点任务。"
BIG5_TEXT = "台北市議會星期二在經過一場持續到深夜的長時間辯論後，通過了新的交通計畫，官員在表決後發表的聲明中表示。"
FRENCH = "Le conseil municipal a approuvé mardi le nouveau plan de transport après un long débat à Genève, l'été dernier."


def _chosen(decoded) -> dict:  # noqa: ANN001
    [chosen] = [candidate for candidate in decoded.candidates if candidate["chosen"]]
    return chosen


def test_an_http_latin1_header_over_gbk_bytes_loses_to_the_content() -> None:
    decoded = decode_html(page(ZH * 3).encode("gbk"), "ISO-8859-1")
    assert ZH in decoded.text and decoded.charset == "gb18030"
    assert "HTTP charset ISO-8859-1 reads worse" in decoded.reason, decoded.reason
    http = next(c for c in decoded.candidates if c["source"].startswith("HTTP"))
    assert http["charset"] == "cp1252" and http["signs"].get("utf8_as_latin") and not http["chosen"]
    assert http["score"] > _chosen(decoded)["score"] == 0
    assert decoded.flag is None


def test_a_meta_saying_utf8_over_gb18030_bytes_loses_to_the_content() -> None:
    decoded = decode_html(page(ZH * 3 + " 䶮", '<meta charset="utf-8">').encode("gb18030"))
    assert ZH in decoded.text and "䶮" in decoded.text and decoded.charset == "gb18030"
    utf8 = next(c for c in decoded.candidates if c["charset"] == "utf-8")
    assert utf8["errors"] > 0 and not utf8["chosen"]
    assert "\ufffd" not in decoded.text and decoded.replaced == 0


def test_big5_bytes_in_a_page_declared_gb2312_are_read_as_big5() -> None:
    """GB18030 decodes Big5 bytes without a single error: only the improbable characters give it away."""
    decoded = decode_html(page(BIG5_TEXT * 2, '<meta charset="gb2312">').encode("big5"))
    assert BIG5_TEXT in decoded.text and decoded.charset == "big5hkscs"
    gb = next(c for c in decoded.candidates if c["charset"] == "gb18030")
    assert gb["errors"] == 0 and gb["signs"]["improbable_cjk"] > 10
    assert "declared charset gb2312 reads worse" in decoded.reason


def test_utf8_bytes_under_a_gbk_header_and_a_gb2312_meta_stay_utf8() -> None:
    decoded = decode_html(page(ZH, '<meta charset="gb2312">').encode("utf-8"), "gbk")
    assert ZH in decoded.text and decoded.charset == "utf-8"
    assert decoded.reason.startswith("strict UTF-8; HTTP charset gbk reads worse")


def test_latin1_bytes_declared_gbk_are_not_read_as_chinese() -> None:
    decoded = decode_html(page(FRENCH * 3, '<meta charset="gbk">').replace("<html>", '<html lang="fr">')
                          .encode("cp1252"))
    assert FRENCH in decoded.text and decoded.charset == "cp1252"


def test_a_tie_goes_to_the_source_with_the_better_claim() -> None:
    """Windows-1252 and Latin-9 read "café" alike: the HTTP charset comes before the page's own declaration."""
    decoded = decode_html(page("Un café à Genève", '<meta charset="iso-8859-15">').encode("cp1252"), "windows-1252")
    assert "Un café à Genève" in decoded.text and decoded.charset == "cp1252"
    assert decoded.reason == "HTTP charset windows-1252"


def test_a_single_byte_reading_of_utf8_is_mojibake_in_any_single_byte_charset() -> None:
    """Detection on a short page may say Mac Latin-2 or KOI8-R: every valid UTF-8 sequence counts against it."""
    raw = page("新闻 Genève", '<meta charset="utf-8">').encode("utf-8").replace(b"<p>", b"<p>\xff\xfe\xff")
    decoded = decode_html(raw, "koi8-r")
    assert "新闻 Genève" in decoded.text and decoded.charset == "utf-8"


def test_icon_fonts_and_a_stray_control_do_not_flag_a_page() -> None:
    icons = "".join(f"<i>{chr(0xE600 + n)}</i>" for n in range(12))
    decoded = decode_html(page(ZH * 30 + icons + "\x01").encode("utf-8"))
    assert decoded.charset == "utf-8" and decoded.reason == "strict UTF-8" and decoded.flag is None


def test_a_page_every_candidate_reads_with_errors_is_decoded_with_the_fewest_and_flagged() -> None:
    raw = bytearray(page(ZH * 4, '<meta charset="utf-8">').encode("utf-8"))
    for at in range(80, len(raw) - 40, 53):  # a stray byte every 53: no charset reads these bytes whole
        raw[at:at] = b"\xff"
    decoded = decode_html(bytes(raw))
    assert decoded.charset == "utf-8" and "\ufffd" not in decoded.text
    assert decoded.replaced > 0 and decoded.flag and "no charset reads cleanly" in decoded.flag
    assert len(decoded.candidates) >= 3 and all(c["errors"] > 0 for c in decoded.candidates)
    assert decoded.reason.endswith("(the fewest problems of every candidate)")


def test_gbk_read_as_latin1_and_saved_as_utf8_is_undone() -> None:
    text = page(ZH * 3, "")
    stored = text.encode("gb18030").decode("latin-1").encode("utf-8")
    decoded = decode_html(stored)
    assert ZH in decoded.text and decoded.charset == "utf-8"
    assert "GB18030 text read as Latin and saved again: undone" in decoded.reason


def test_a_body_alone_double_encoded_is_mended_around_real_characters() -> None:
    """The markup has a real 中 and a real “quote”; only the paragraph was saved twice."""
    body = "Le conseil a approuvé mardi le plan après un long débat à Genève.".encode("utf-8").decode("cp1252")
    decoded = decode_html(f"<html><head><title>中 “Plan”</title></head><body><p>{body}</p></body></html>".encode())
    assert "approuvé mardi le plan après un long débat à Genève" in decoded.text and "中 “Plan”" in decoded.text


def test_the_article_carries_the_candidates_and_the_verdict_flags_a_garbled_decode() -> None:
    from services.clean import quality
    from services.clean.extract import extract

    story = "".join(f"<p>{ZH}{n}</p>" for n in range(6))
    raw = f'<html><head><meta charset="gb2312"><title>会议</title></head><body><article>{story}</article></body></html>'
    part = extract(raw.encode("gb18030"), "https://example.com/n/2.html", "iso-8859-1")
    assert part.charset == "gb18030" and ZH in part.text
    assert [c["chosen"] for c in part.charset_candidates].count(True) == 1
    assert {c["charset"] for c in part.charset_candidates} >= {"cp1252", "gb18030"}
    assert "charset" not in part.quality["measures"]

    garbled = bytearray(raw.encode("utf-8"))
    for at in range(120, len(garbled) - 60, 9):
        garbled[at:at] = b"\xfe"
    part = extract(bytes(garbled), "https://example.com/n/3.html")
    assert "\ufffd" not in part.text
    assert part.quality["measures"]["charset"].startswith("no charset reads cleanly")
    assert any(reason.startswith("no charset reads cleanly") for reason in part.quality["reasons"])
    import pytest

    with pytest.raises(quality.QuarantinedError, match="garbled"):
        quality.enforce(quality.Verdict(**part.quality), 0.5, "https://example.com/n/3.html")


def test_codecs_no_web_page_is_in_are_not_candidates() -> None:
    """Python decodes escapes (unicode_escape), host names (idna) and UTF-7: a page declaring one is not read so."""
    for declared in ("unicode_escape", "idna", "utf-7", "raw_unicode_escape"):
        raw = page("Genève \\x3cscript\\x3e +ADw-b+AD4-", f'<meta charset="{declared}">').encode("utf-8")
        decoded = decode_html(raw, declared)
        assert "Genève \\x3cscript\\x3e +ADw-b+AD4-" in decoded.text and decoded.charset == "utf-8", declared
        assert all(c["charset"] == "utf-8" for c in decoded.candidates)
