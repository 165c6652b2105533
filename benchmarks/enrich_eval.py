"""Predictors for ../shared/eval/enrich/score_enrich.py, each calling the enrich stage's own code.

    python ../shared/eval/enrich/score_enrich.py --task ner --predictor benchmarks.enrich_eval:ner \
        --data ../shared/eval/enrich
"""

from __future__ import annotations


def langid(text: str, lang: str | None = None) -> dict:
    from services.enrich.language import detect_language, detect_script

    language, _confidence = detect_language(text)
    return {"lang": language, "script": detect_script(text) if language == "zh" else None}


def ner(text: str, lang: str) -> list[dict]:
    from services.enrich.entities import extract_entities

    return [{"text": mention.text, "type": mention.type} for mention in extract_entities(text, lang)]


def topic(text: str, lang: str) -> str:
    from services.enrich.topics import classify

    topics = classify(text, lang)
    return topics[0].code if topics else ""


def keyphrase(text: str, lang: str) -> list[str]:
    from services.enrich.keywords import keywords_for

    return keywords_for("", text, lang)
