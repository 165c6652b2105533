"""Language and script.

The language is judged by the body (the title only when there is no body): a script rule
first (kana means Japanese, hangul Korean, mostly Han characters Chinese), then py3langid,
whose model ships inside the package, over the languages news in our sources is written in.
For Chinese the script (Hans/Hant) comes from OpenCC: a text with more Traditional-only
characters than Simplified-only ones is Hant, and gets a Simplified rendering for matching
(``simplified_text``) beside the original, never replacing it.
"""

from __future__ import annotations

import re
from functools import lru_cache

from shared.payload import ArticlePayload, EnrichPart

VERSION = "lang-2"
SAMPLE_CHARS = 1000  # a language shows in its first lines; the script rule reads twice as much

_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_KANA = re.compile(r"[\u3040-\u30ff]+")
_HANGUL = re.compile(r"[\uac00-\ud7af\u1100-\u11ff]+")
_LETTER = re.compile(r"[^\W\d_]+", re.UNICODE)
# A capitalised word that does not start a sentence.
_NAME = re.compile(r"(?<=[^\s.!?:\"“]\s)[A-ZÀ-Þ][\w'’-]*")
_URL = re.compile(r"https?://\S+|www\.\S+|\S+@\S+")

# ISO 639-1 codes py3langid may answer with: the languages of the news we take in.
LANGUAGES = [
    "af", "ar", "bg", "bn", "ca", "cs", "cy", "da", "de", "el", "en", "es", "et", "eu", "fa", "fi", "fr", "ga",
    "gl", "he", "hi", "hr", "hu", "hy", "id", "is", "it", "ja", "ka", "kk", "ko", "lt", "lv", "mk", "ms", "mn", "no",
    "ne", "nl", "pl", "pt", "ro", "ru", "sk", "sl", "sq", "sr", "sv", "sw", "ta", "te", "th", "tl", "tr",
    "uk", "ur", "vi", "zh",
]

# Prior odds over the model's uniform prior: Newswire's sources are English and Chinese first,
# so a short or mixed text that could be English about as well as something else is English.
PRIOR = {"en": 5.0}


@lru_cache(maxsize=1)
def _identifier():  # noqa: ANN202
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    identifier.set_languages(LANGUAGES)
    return identifier


@lru_cache(maxsize=2)
def _opencc(config: str):  # noqa: ANN202
    import opencc

    return opencc.OpenCC(config)


def load() -> None:
    _identifier().classify("warm up the model")
    _opencc("s2t").convert("汉")
    _opencc("t2s").convert("漢")


def _count(pattern: re.Pattern, text: str) -> int:
    """Characters of ``text`` in runs matching ``pattern`` (counted by runs: far fewer matches than characters)."""
    return sum(map(len, pattern.findall(text)))


def detect_language(text: str) -> tuple[str | None, float | None]:
    """ISO 639-1 code and a confidence in [0, 1], or (None, None) when there are no letters."""
    sample = _URL.sub(" ", text[:SAMPLE_CHARS])
    letters = _count(_LETTER, sample)
    if not letters:
        return None, None
    kana, hangul, han = _count(_KANA, sample), _count(_HANGUL, sample), _count(_HAN, sample)
    if kana and kana >= 0.1 * letters:
        return "ja", round(min(1.0, 0.5 + (kana + han) / letters / 2), 4)
    if hangul and hangul >= 0.3 * letters:
        return "ko", round(min(1.0, 0.5 + hangul / letters / 2), 4)
    if han >= 0.3 * letters:
        return "zh", round(min(1.0, 0.5 + han / letters / 2), 4)
    sample = _HAN.sub(lambda run: " " * len(run.group()), sample) if han else sample
    # Names tell little about the language around them (a German name in an English sentence):
    # read the text without its mid-sentence capitalised words when enough is left.
    unnamed = _NAME.sub(" ", sample)
    if _count(_LETTER, unnamed) >= 20:
        sample = unnamed
    ranked = _identifier().rank(sample)
    scored = sorted(((p * PRIOR.get(code, 1.0), code) for code, p in ranked), reverse=True)
    total = sum(score for score, _code in scored) or 1.0
    return scored[0][1], round(scored[0][0] / total, 4)


def detect_script(text: str) -> str | None:
    """Hans, Hant, or None when no character tells (the same rule as the eval labels)."""
    sample = "".join(_HAN.findall(text[: SAMPLE_CHARS * 2]))
    if not sample:
        return None
    to_traditional = _changed(sample, _opencc("s2t").convert(sample))
    to_simplified = _changed(sample, _opencc("t2s").convert(sample))
    if to_simplified > to_traditional:
        return "Hant"
    if to_traditional > to_simplified:
        return "Hans"
    return None


def _changed(sample: str, converted: str) -> int:
    """Characters the conversion changed, position by position."""
    if converted == sample:
        return 0
    if len(converted) == len(sample):
        import numpy as np

        one = np.frombuffer(sample.encode("utf-32-le"), dtype=np.uint32)
        other = np.frombuffer(converted.encode("utf-32-le"), dtype=np.uint32)
        return int((one != other).sum())
    return sum(1 for a, b in zip(sample, converted) if a != b)


def simplified(text: str) -> str:
    return _opencc("t2s").convert(text)


def enrich_language(payload: ArticlePayload, part: EnrichPart) -> None:
    assert payload.clean is not None
    body = payload.clean.text.strip()
    # Judged by the main body, not the title alone; a short body is read with its title.
    text = body if len(body) >= 200 else f"{payload.clean.title}\n{body}"
    part.language, part.language_confidence = detect_language(text)
    if part.language == "zh":
        part.script = detect_script(f"{payload.clean.title}\n{body}")
        if part.script == "Hant":
            part.simplified_text = simplified(body)
