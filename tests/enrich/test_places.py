"""Places resolved by the gazetteers, ambiguity settled by the other places in the text."""

from __future__ import annotations

from services.enrich.places import places_for


def test_chinese_division_resolved_to_its_hierarchy() -> None:
    places, main = places_for("焦作解放区推进文明城市创建", "近日，焦作市解放区召开会议。解放区各街道参加。", [], 6000)
    assert main is not None and main.name == "解放区"
    assert main.hierarchy == ["河南省", "焦作市", "解放区"]
    assert main.latitude and main.longitude
    assert "焦作市" in {p.name for p in places}


def test_ambiguous_district_resolved_by_its_city() -> None:
    _places, main = places_for("朝阳区新闻", "长春市朝阳区今天举行活动。", [], 6000)
    assert main.hierarchy[:2] == ["吉林省", "长春市"]
    _places, main = places_for("朝阳区新闻", "北京市朝阳区今天举行活动。", [], 6000)
    assert main.hierarchy[0] == "北京市"


def test_world_cities_by_country_and_common_words_left_alone() -> None:
    places, main = places_for("Police in Paris arrest suspect", "French police said in Paris, France that a man was held.",
                              ["Paris"], 6000)
    assert main.name == "Paris" and main.country == "FR"
    assert "Police" not in {p.name for p in places}  # a Polish town, and a word
    _places, main = places_for("Flooding hits Paris, Texas", "Residents of Paris in Texas were evacuated.", ["Paris"], 6000)
    assert main.country == "US" and main.hierarchy == ["United States", "Texas", "Paris"]


def test_foreign_places_in_chinese() -> None:
    places, _main = places_for("美国总统访问巴黎", "美国总统今天抵达巴黎。", [], 6000)
    names = {(p.name, p.country) for p in places}
    assert ("United States", "US") in names
    assert ("Paris", "FR") in names


def test_no_places() -> None:
    assert places_for("", "", [], 6000) == ([], None)
