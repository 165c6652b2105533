"""The registry: versions, budgets, and a failing or slow enricher never stops the article."""

from __future__ import annotations

import time

import pytest

from services.enrich.registry import Enricher, enrichers, run_enrichers, time_budget, EnricherTimeout
from shared.payload import ArticlePayload, CleanPart, EnrichPart


def _article(title: str = "City council approves new bus budget",
             text: str = "The city council approved a new budget for public transport on Monday. " * 5) -> ArticlePayload:
    payload = ArticlePayload.new("https://example.com/a")
    payload.clean = CleanPart(title=title, text=text, html="")
    return payload


def _raises(payload: ArticlePayload, part: EnrichPart) -> None:
    part.summary = "half written"
    raise RuntimeError("model file is corrupt")


def _sleeps(payload: ArticlePayload, part: EnrichPart) -> None:
    part.keywords = ["half", "written"]
    time.sleep(5)


def test_every_enricher_has_a_version_and_a_budget() -> None:
    names = [item.name for item in enrichers()]
    assert names[0] == "language"
    assert len(set(names)) == len(names)
    part = run_enrichers(_article())
    assert set(part.versions) == set(names)
    assert all(item.version and item.budget > 0 for item in enrichers())
    assert part.errors == {}


def test_a_raising_enricher_records_its_error_and_the_others_run() -> None:
    chain = [Enricher("broken", "b-1", _raises)] + enrichers()
    part = run_enrichers(_article(), chain=chain)
    assert part.errors == {"broken": "RuntimeError: model file is corrupt"}
    assert part.versions["broken"] == "b-1"
    assert part.language == "en"
    assert part.summary and part.summary != "half written"  # the summary enricher ran after it


def test_a_slow_enricher_is_stopped_at_its_budget_and_its_half_work_taken_back() -> None:
    chain = enrichers()[:1] + [Enricher("slow", "s-1", _sleeps, budget=0.3)]
    start = time.monotonic()
    part = run_enrichers(_article(), chain=chain)
    assert time.monotonic() - start < 3
    assert "slow" in part.errors and "budget" in part.errors["slow"]
    assert part.keywords == []
    assert part.language == "en"


def test_a_cold_model_load_is_not_charged_to_the_budget() -> None:
    loads: list[str] = []

    def slow_load() -> None:  # a first article in a process that did not preload
        loads.append("load")
        time.sleep(0.6)

    def quick(payload: ArticlePayload, part: EnrichPart) -> None:
        part.summary = "done"

    chain = [Enricher("cold-start", "c-1", quick, budget=0.3, load=slow_load)]
    part = run_enrichers(_article(), chain=chain)
    assert part.errors == {} and part.summary == "done"
    run_enrichers(_article(), chain=chain)
    assert loads == ["load"]  # once per process


def test_budgets_come_from_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    from shared.settings import get_settings

    monkeypatch.setenv("NEWSWIRE_ENRICH_BUDGETS", '{"slow": 0.2}')
    get_settings.cache_clear()
    try:
        chain = [Enricher("slow", "s-1", _sleeps, budget=60)]
        start = time.monotonic()
        part = run_enrichers(_article(), chain=chain)
        assert time.monotonic() - start < 3
        assert "slow" in part.errors
    finally:
        monkeypatch.delenv("NEWSWIRE_ENRICH_BUDGETS")
        get_settings.cache_clear()


def test_time_budget_leaves_fast_code_alone() -> None:
    with time_budget(1.0, "fast"):
        total = sum(range(1000))
    assert total == 499500
    with pytest.raises(EnricherTimeout):
        with time_budget(0.05, "slow"):
            time.sleep(1)


def test_empty_article_gets_no_errors() -> None:
    part = run_enrichers(_article(title="", text=""))
    assert part.errors == {}
    assert part.language is None
    assert part.summary is None
