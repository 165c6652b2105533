"""Reading time: words for space-separated scripts, characters for Chinese and Japanese."""

from __future__ import annotations

import re

from shared.payload import ArticlePayload, EnrichPart

VERSION = "reading-1"
WORDS_PER_MINUTE = 230
CJK_CHARS_PER_MINUTE = 400
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_WORD = re.compile(r"[^\W\d_]+(?:['’-][^\W\d_]+)*|\d+", re.UNICODE)


def count_words(text: str) -> int:
    cjk = len(_CJK.findall(text))
    other = len(_WORD.findall(_CJK.sub(" ", text)))
    return cjk + other


def reading_minutes(text: str) -> float:
    cjk = len(_CJK.findall(text))
    other = len(_WORD.findall(_CJK.sub(" ", text)))
    return round(cjk / CJK_CHARS_PER_MINUTE + other / WORDS_PER_MINUTE, 1)


def enrich_reading_time(payload: ArticlePayload, part: EnrichPart) -> None:
    assert payload.clean is not None
    part.word_count = count_words(payload.clean.text)
    part.reading_time_minutes = reading_minutes(payload.clean.text)
