"""Reading time: words for space-separated scripts, characters for Chinese and Japanese."""

from __future__ import annotations

import re

from shared.payload import ArticlePayload, EnrichPart

VERSION = "reading-1"
WORDS_PER_MINUTE = 230
CJK_CHARS_PER_MINUTE = 400
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_WORD = re.compile(r"[^\W\d_]+(?:['’-][^\W\d_]+)*|\d+", re.UNICODE)


def counts(text: str) -> tuple[int, int]:
    """CJK characters and other words, counted apart."""
    runs = _CJK.findall(text)
    cjk = sum(map(len, runs))
    other = len(_WORD.findall(_CJK.sub(" ", text) if runs else text))
    return cjk, other


def count_words(text: str) -> int:
    return sum(counts(text))


def reading_minutes(text: str) -> float:
    cjk, other = counts(text)
    return _minutes(cjk, other)


def _minutes(cjk: int, other: int) -> float:
    return round(cjk / CJK_CHARS_PER_MINUTE + other / WORDS_PER_MINUTE, 1)


def enrich_reading_time(payload: ArticlePayload, part: EnrichPart) -> None:
    assert payload.clean is not None
    cjk, other = counts(payload.clean.text)
    part.word_count = cjk + other
    part.reading_time_minutes = _minutes(cjk, other)
