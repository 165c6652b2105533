"""Keywords: jieba's TF-IDF for Chinese, YAKE for other languages."""

from __future__ import annotations

import re
from functools import lru_cache

from shared.payload import ArticlePayload, EnrichPart

VERSION = "keywords-1"
TOP_K = 10
_CJK = re.compile(r"[\u4e00-\u9fff]")


@lru_cache(maxsize=1)
def _jieba():  # noqa: ANN202
    import logging

    import jieba
    import jieba.analyse

    jieba.setLogLevel(logging.WARNING)
    jieba.initialize()
    return jieba.analyse


@lru_cache(maxsize=16)
def _yake(language: str):  # noqa: ANN202
    import yake

    try:
        return yake.KeywordExtractor(lan=language, n=2, top=TOP_K, dedupLim=0.7)
    except Exception:  # noqa: BLE001  (no stop-word list for this language)
        return yake.KeywordExtractor(lan="en", n=2, top=TOP_K, dedupLim=0.7)


def load() -> None:
    _jieba()
    _yake("en")


def keywords_for(title: str, text: str, language: str | None) -> list[str]:
    body = f"{title}\n{text}"[:20000]
    if language in ("zh", "ja") or (language is None and len(_CJK.findall(body[:500])) > 50):
        tags = _jieba().extract_tags(body, topK=TOP_K * 2)
        return [tag for tag in tags if len(tag) > 1 and not tag.isdigit()][:TOP_K]
    ranked = _yake(language or "en").extract_keywords(body)
    return [phrase for phrase, _score in ranked][:TOP_K]


def enrich_keywords(payload: ArticlePayload, part: EnrichPart) -> None:
    assert payload.clean is not None
    part.keywords = keywords_for(payload.clean.title, payload.clean.text, part.language)
