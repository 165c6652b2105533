"""Entities on small texts of our own, through the shipped CRF models."""

from __future__ import annotations

from services.enrich.entities import MODELS, entities_for, extract_entities


def _found(text: str, lang: str) -> set[tuple[str, str]]:
    return {(m.text, m.type) for m in extract_entities(text, lang)}


def test_english_people_places_organisations() -> None:
    found = _found("German Chancellor Angela Merkel met Microsoft executives in Paris on Tuesday .", "en")
    assert ("Angela Merkel", "PER") in found
    assert ("Paris", "LOC") in found
    assert ("Microsoft", "ORG") in found


def test_english_raw_text_with_attached_punctuation() -> None:
    found = _found("Officials in Washington said Reuters had reported the talks, led by John Smith.", "en")
    assert ("Washington", "LOC") in found
    assert ("John Smith", "PER") in found


def test_chinese_with_ascii_punctuation() -> None:
    found = _found("北京市委书记王伟在上海会见了华为公司董事长,双方讨论了合作。", "zh")
    assert ("王伟", "PER") in found
    assert ("上海", "LOC") in found


def test_salience_mentions_and_kinds() -> None:
    title = "Merkel visits Paris"
    text = ("German Chancellor Angela Merkel arrived in Paris on Monday. Merkel met the French president. "
            "Later Merkel left Paris for Berlin.")
    entities = entities_for(title, text, "en", 6000)
    by_name = {e.name: e for e in entities}
    assert by_name["Paris"].kind == "place" and by_name["Paris"].mentions == 3
    assert by_name["Paris"].salience > by_name["Berlin"].salience
    assert entities[0].name in ("Paris", "Merkel")


def test_models_are_small_and_shipped() -> None:
    total = sum(path.stat().st_size for path in MODELS.iterdir())
    assert {"ner_zh.crfsuite", "ner_en.crfsuite"} <= {path.name for path in MODELS.iterdir()}
    assert total <= 50 * 1024 * 1024
    assert extract_entities("", "en") == []


def test_bioes_and_bio_labels_make_the_same_spans() -> None:
    from services.enrich.entities import _spans

    offsets = [(i, i + 1) for i in range(7)]
    bioes = ["B-PER", "I-PER", "E-PER", "O", "S-LOC", "B-ORG", "E-ORG"]
    bio = ["B-PER", "I-PER", "I-PER", "O", "B-LOC", "B-ORG", "I-ORG"]
    assert _spans(bioes, offsets) == _spans(bio, offsets) == [("PER", 0, 3), ("LOC", 4, 5), ("ORG", 5, 7)]
    # An entity ended (E-) and a new one of the same type right after it stay two entities.
    assert _spans(["B-LOC", "E-LOC", "B-LOC", "E-LOC"], offsets[:4]) == [("LOC", 0, 2), ("LOC", 2, 4)]


def test_one_character_names_are_found_in_sentences_but_not_kept_for_the_article() -> None:
    text = "中美两国领导人在北京会谈，美方代表团团长张明出席。"
    entities = entities_for("", text, "zh", 6000)
    assert all(len(e.name) >= 2 for e in entities)
    assert any(e.name == "北京" for e in entities)


def test_chinese_words_are_cut_once_for_every_enricher() -> None:
    import jieba

    from services.enrich import segment

    text = "焦作市解放区召开创建全国文明城市推进会。\n 会议由区委书记主持, 共有120人参加"
    assert "".join(segment.cut(text)) == text
    assert segment.cut(text) == list(jieba.cut(text))  # jieba-rs gives jieba's own words


def test_chinese_features_mark_transliterated_runs_and_name_affinity() -> None:
    from services.enrich.entities import name_affinity, zh_features

    affinity = name_affinity()
    assert any(f.startswith("TE") or f.startswith("TM") for f in affinity["斯"])  # inside/end of foreign names
    assert any(f.startswith("LE") for f in affinity["省"])  # the end of places
    assert "的" not in affinity
    feats = zh_features("阿拉法特说")
    assert all("tl" in f and "tlr=4" in f for f in feats[:4])
    assert "tl" not in feats[4]


def test_mention_replacement_keeps_offsets_and_types() -> None:
    from services.enrich.train.train_ner import replace_mentions

    records = [
        {"text": "王伟在北京会见李明。", "lang": "zh", "entities": [
            {"text": "王伟", "type": "PER", "start": 0, "end": 2}, {"text": "北京", "type": "LOC", "start": 3, "end": 5},
            {"text": "李明", "type": "PER", "start": 7, "end": 9}]},
        {"text": "张华到上海市。", "lang": "zh", "entities": [
            {"text": "张华", "type": "PER", "start": 0, "end": 2}, {"text": "上海市", "type": "LOC", "start": 3, "end": 6}]},
        {"text": "没有名字。", "lang": "zh", "entities": []},
    ]
    copies = replace_mentions(records, 3, share=1.0)
    assert len(copies) == 6 and copies == replace_mentions(records, 3, share=1.0)  # fixed seed
    names = {"PER": {"王伟", "李明", "张华"}, "LOC": {"北京", "上海市"}}
    for copy in copies:
        for entity in copy["entities"]:
            assert copy["text"][entity["start"]:entity["end"]] == entity["text"]
            assert entity["text"] in names[entity["type"]]
    assert {c["text"] for c in copies} - {r["text"] for r in records}  # some names were swapped


def test_a_place_or_organisation_right_before_an_organisation_starts_its_name() -> None:
    from services.enrich.entities import join_organisations

    # 加拿大|海军舰艇编队 and 中国检察日报社|影视部 are one name each; a gap or a person keeps them apart.
    assert join_organisations([("LOC", 0, 3), ("ORG", 3, 9)]) == [("ORG", 0, 9)]
    assert join_organisations([("ORG", 0, 7), ("ORG", 7, 10)]) == [("ORG", 0, 10)]
    assert join_organisations([("LOC", 0, 2), ("LOC", 2, 4), ("ORG", 4, 7)]) == [("LOC", 0, 2), ("ORG", 2, 7)]
    assert join_organisations([("LOC", 0, 3), ("ORG", 4, 9)]) == [("LOC", 0, 3), ("ORG", 4, 9)]
    assert join_organisations([("PER", 0, 2), ("ORG", 2, 5)]) == [("PER", 0, 2), ("ORG", 2, 5)]
    assert join_organisations([("ORG", 0, 3), ("LOC", 3, 5)]) == [("ORG", 0, 3), ("LOC", 3, 5)]


def test_a_name_keeps_no_bracket_whose_partner_is_outside_it() -> None:
    from services.enrich.entities import balanced

    def cut(text: str) -> str:
        start, end = balanced(text, 0, len(text))
        return text[start:end]

    assert cut("天津日报》") == "天津日报"
    assert cut("》天津日报") == "天津日报"
    assert cut("国家杜马（议会下院") == "国家杜马"
    assert cut("美国《时代》周刊") == "美国《时代》周刊"
    assert cut("《人民日报》") == "《人民日报》"
    assert cut("Acme (UK") == "Acme "


def test_a_chinese_name_found_once_is_marked_at_its_other_places() -> None:
    from services.enrich.entities import Mention, propagate

    text = "张海燕说，会后张海燕和李明去了北京。北京很冷，燕说。"
    found = [Mention("张海燕", "PER", 0, 3), Mention("北京", "LOC", 15, 17), Mention("燕", "PER", 23, 24)]
    out = propagate(text, found)
    assert [(m.text, m.type, m.start) for m in out] == [
        ("张海燕", "PER", 0), ("张海燕", "PER", 7), ("北京", "LOC", 15), ("北京", "LOC", 18), ("燕", "PER", 23)]
    # a name found with two types is left alone
    both = [Mention("北京", "LOC", 15, 17), Mention("北京", "ORG", 18, 20)]
    assert propagate(text, both) == both
