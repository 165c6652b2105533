"""Language of the body text (py3langid: its model ships inside the package)."""

from __future__ import annotations

from functools import lru_cache

from shared.payload import ArticlePayload, EnrichPart


@lru_cache(maxsize=1)
def _identifier():  # noqa: ANN202
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def detect_language(text: str) -> tuple[str | None, float | None]:
    sample = text[:5000].strip()
    if not sample:
        return None, None
    language, confidence = _identifier().classify(sample)
    return language, round(float(confidence), 4)


def enrich_language(payload: ArticlePayload, part: EnrichPart) -> None:
    assert payload.clean is not None
    # Judged by the body, not the title alone.
    part.language, part.language_confidence = detect_language(payload.clean.text or payload.clean.title)
