"""Quality verdict: what gets an article quarantined, and what does not."""

from __future__ import annotations

import pytest

from services.clean import quality

GOOD = "该区先后多次召开动员会研究部署创建工作，形成纵向到底、横向到边、环环相扣的工作格局。" * 8


def test_a_plain_story_passes() -> None:
    verdict = quality.judge(GOOD, page_chars=len(GOOD) * 3, link_density=0.05)
    assert verdict.score == 1.0 and verdict.reasons == []
    quality.enforce(verdict, 0.5, "test")


@pytest.mark.parametrize(
    ("text", "link_density", "dropped", "reason"),
    [
        ("太短了", 0.0, 0, "too short"),
        (GOOD, 0.8, 0, "link-heavy"),
        (GOOD[:200] + "\ue000\ue001\ufffd" * 20, 0.0, 0, "garbled"),
        (GOOD, 0.0, 40, "garbled"),
        (GOOD + "欧易OKX交易所注册送空投，币安Binance合约交易。", 0.0, 0, "spam markers"),
    ],
)
def test_bad_articles_are_quarantined_with_the_reason(text: str, link_density: float, dropped: int, reason: str) -> None:
    verdict = quality.judge(text, page_chars=5000, link_density=link_density, dropped_bytes=dropped)
    assert any(reason in r for r in verdict.reasons), verdict.reasons
    with pytest.raises(quality.QuarantinedError, match=reason):
        quality.enforce(verdict, 0.5, "https://example.com/a")


def test_the_verdict_travels_as_a_dict() -> None:
    verdict = quality.judge(GOOD, page_chars=10000, link_density=0.1)
    again = quality.Verdict(**verdict.as_dict())
    assert again.score == verdict.score and again.measures["chars"] == len(GOOD)


def test_sample_page_passes_and_its_exchange_ads_do_not_count(sample) -> None:  # noqa: ANN001
    from services.clean.extract import extract

    raw, truth = sample
    part = extract(raw, truth["url"])
    assert part.quality["score"] >= 0.9 and part.quality["measures"]["spam"] == []


def test_hostile_bytes_end_as_a_clear_error_or_a_quarantine() -> None:
    import random

    from services.clean.extract import extract
    from shared.errors import ExtractionError

    with pytest.raises(ExtractionError):
        extract(b"")
    with pytest.raises(ExtractionError):
        extract(b"\x00\x01\x02" * 1000)
    noise = random.Random(4).randbytes(50_000)
    part = extract(noise)
    assert "\ufffd" not in part.text and "\ufffd" not in part.title
    with pytest.raises(quality.QuarantinedError, match="garbled"):
        quality.enforce(quality.Verdict(**part.quality), 0.5, "noise")
