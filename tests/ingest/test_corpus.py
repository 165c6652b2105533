"""The real-world feeds of ../shared/eval/feeds: parsed, and served over HTTP and ingested as sources."""

from __future__ import annotations

import sys

from conftest import ROOT, SHARED

sys.path.insert(0, str(ROOT / "benchmarks"))
import feeds_eval  # noqa: E402

CORPUS = SHARED / "eval" / "feeds"


def test_every_labelled_entry_parsed_with_title_link_and_date() -> None:
    result = feeds_eval.score(CORPUS)
    assert result["total"]["entries"] >= 1900
    assert {fmt: c["share"] for fmt, c in result["per_format"].items()} == {
        fmt: 1.0 for fmt in result["per_format"]}, result["misses"][:5]


def test_served_feeds_become_source_articles_with_title_link_and_date(ingest_env) -> None:  # noqa: ANN001
    result = feeds_eval.score_served(CORPUS, verbose=True)
    assert result["total"]["reached"] == result["total"]["entries"], result["misses"][:5]
