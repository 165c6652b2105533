"""The end-to-end sample (../shared/samples/jiaozuo-wenming.html) through clean's extraction and every enricher."""

from __future__ import annotations

import pytest

from services.clean.extract import extract
from services.enrich.registry import run_enrichers
from shared.payload import ArticlePayload


@pytest.fixture(scope="module")
def enriched(sample, enrich_database):  # noqa: ANN001, ANN201
    from newswire.embedded import override_environment

    raw, truth = sample
    payload = ArticlePayload.new(truth["url"])
    payload.clean = extract(raw, truth["url"])
    with override_environment({"DATABASE_URL": enrich_database}):
        return run_enrichers(payload)


def test_sample_language_script_and_no_errors(enriched) -> None:  # noqa: ANN001
    assert enriched.errors == {}
    assert enriched.language == "zh"
    assert enriched.language_confidence > 0.9
    assert enriched.script == "Hans"
    assert enriched.simplified_text is None


def test_sample_summary_and_reading_time(enriched) -> None:  # noqa: ANN001
    assert enriched.summary and "文明" in enriched.summary and "解放区" in enriched.summary
    assert 2 < enriched.reading_time_minutes < 10


def test_sample_people_and_places(enriched) -> None:  # noqa: ANN001
    people = {e.name for e in enriched.entities if e.kind == "person"}
    assert {"吴军", "赵海燕"} <= people
    assert {"焦作市", "解放区"} <= {p.name for p in enriched.places}
    assert enriched.main_place.name == "解放区"
    assert enriched.main_place.hierarchy == ["河南省", "焦作市", "解放区"]


def test_sample_topic(enriched) -> None:  # noqa: ANN001
    assert enriched.topics[0].code in ("medtop:11000000", "medtop:14000000")  # politics or society


def test_sample_keywords(enriched) -> None:  # noqa: ANN001
    assert "文明典范城市" in enriched.keywords or "文明城市" in enriched.keywords
    assert enriched.story_id
