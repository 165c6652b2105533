"""The enrichers, in the order they run. Each adds to the enrich part and never touches another stage's."""

from __future__ import annotations

from typing import Callable

from shared.payload import ArticlePayload, EnrichPart
from services.enrich.keywords import enrich_keywords
from services.enrich.language import enrich_language
from services.enrich.reading_time import enrich_reading_time

Enricher = Callable[[ArticlePayload, EnrichPart], None]

ENRICHERS: list[tuple[str, Enricher]] = [
    ("language", enrich_language),  # first: the others read part.language
    ("keywords", enrich_keywords),
    ("reading_time", enrich_reading_time),
]


def run_enrichers(payload: ArticlePayload) -> EnrichPart:
    part = EnrichPart()
    for _name, enricher in ENRICHERS:
        enricher(payload, part)
    return part
