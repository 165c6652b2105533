"""Language and script on small texts of our own."""

from __future__ import annotations

from services.enrich.language import detect_language, detect_script, enrich_language
from shared.payload import ArticlePayload, CleanPart, EnrichPart


def test_languages_by_script_and_model() -> None:
    assert detect_language("焦作市解放区举行文明城市创建工作推进会，会议要求各单位提高认识。")[0] == "zh"
    assert detect_language("東京都は新しい交通計画を発表しました。")[0] == "ja"
    assert detect_language("서울시는 새로운 교통 계획을 발표했다.")[0] == "ko"
    assert detect_language("The city council approved a new budget on Monday.")[0] == "en"
    assert detect_language("Le conseil municipal a approuvé un nouveau budget lundi.")[0] == "fr"
    assert detect_language("Der Stadtrat hat am Montag einen neuen Haushalt beschlossen.")[0] == "de"
    assert detect_language("Городской совет утвердил новый бюджет в понедельник.")[0] == "ru"
    assert detect_language("12345 !!! ---") == (None, None)


def test_a_foreign_name_does_not_change_the_language() -> None:
    language, confidence = detect_language("The son of former German President Richard von Weizsäcker was stabbed")
    assert language == "en"
    assert 0 < confidence <= 1


def test_script_and_simplified_rendering() -> None:
    assert detect_script("焦作市解放区发展经济") == "Hans"
    assert detect_script("台北市政府發展經濟，這個計劃") == "Hant"
    assert detect_script("中文") is None  # no character tells

    payload = ArticlePayload.new("https://example.com/tw")
    payload.clean = CleanPart(title="台北市發展", text="台北市政府今天宣布新的經濟發展計劃，這個計劃將會幫助許多企業。" * 10, html="")
    part = EnrichPart()
    enrich_language(payload, part)
    assert (part.language, part.script) == ("zh", "Hant")
    assert part.simplified_text and "经济发展" in part.simplified_text
    assert "經濟發展" in payload.clean.text  # the original is kept


def test_mixed_text_is_judged_by_its_body() -> None:
    payload = ArticlePayload.new("https://example.com/mixed")
    payload.clean = CleanPart(title="Breaking: Apple launches iPhone in China",
                              text="苹果公司今天在北京发布了新款手机，这款手机将在中国市场销售。" * 10, html="")
    part = EnrichPart()
    enrich_language(payload, part)
    assert part.language == "zh" and part.script == "Hans" and part.simplified_text is None
