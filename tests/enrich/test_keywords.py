from __future__ import annotations

from services.enrich.keywords import keywords_for


def test_english_keywords_skip_stop_words_and_boilerplate() -> None:
    text = ("The city council approved the new bus budget on Monday. Council members said the bus budget "
            "adds ten lines. Reuters reported that the council vote passed. Click here to subscribe.")
    keywords = keywords_for("City council approves bus budget", text, "en")
    lowered = [k.lower() for k in keywords]
    assert lowered[0] in ("council", "budget", "bus", "bus budget")
    assert "bus budget" in lowered
    assert not {"the", "on", "said", "reuters", "click", "subscribe", "monday"} & set(lowered)
    assert len(keywords) <= 10


def test_chinese_keywords_without_boilerplate() -> None:
    text = "记者 张三 报道：焦作市解放区全力推进文明城市创建工作，文明城市创建成效明显。责任编辑：李四"
    keywords = keywords_for("解放区推进文明城市创建", text, "zh")
    assert "文明城市" in keywords or "创建" in keywords
    assert not {"记者", "责任编辑"} & set(keywords)


def test_empty_text() -> None:
    assert keywords_for("", "", "en") == []
