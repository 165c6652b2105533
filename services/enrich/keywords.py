"""Keywords: ranked key terms, free of stop words and boilerplate.

- Chinese: TF-IDF with jieba's words and IDF table over nouns, verbs and names, without boilerplate terms.
- English and other Latin-script text: words and short phrases scored by frequency (stems merged),
  inverse document frequency and first position; the IDF table is the English topic model's, learnt
  from news on train/ (services/enrich/models/topics_en.npz). Phrases of two or three words count when
  they recur. Stop words are YAKE's lists (shipped in the yake package) for the article's language.
  Measured against YAKE itself on 500N-KPCrowd (benchmarks/enrich_eval.py:keyphrase).
"""

from __future__ import annotations

import math
import re
from functools import lru_cache
from importlib import resources

from shared.payload import ArticlePayload, EnrichPart

VERSION = "keywords-2"
TOP_K = 10
_CJK = re.compile(r"[\u4e00-\u9fff]")
_TOKEN = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)?|\d+(?:[.,]\d+)?|[^\w\s]", re.UNICODE)
_WORD = re.compile(r"[^\W\d_]{2,}", re.UNICODE)
BOILERPLATE_ZH = {"记者", "编辑", "责任编辑", "来源", "原标题", "图片", "点击", "转载", "版权", "声明", "网友", "本文", "日电",
                  "通讯员", "摄影", "大河网", "新华社", "今天", "近日", "目前", "进行", "表示", "一个", "工作", "我们"}
BOILERPLATE_EN = {"said", "says", "told", "reuters", "ap", "afp", "copyright", "click", "subscribe", "newsletter",
                  "photo", "image", "getty", "images", "read", "share", "comments", "advertisement", "mr", "mrs", "ms",
                  "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday", "year", "years", "week",
                  "would", "could", "also", "one", "two", "new", "last", "first", "like", "just", "get", "make", "us"}


@lru_cache(maxsize=1)
def _jieba():  # noqa: ANN202
    import jieba.analyse

    from services.enrich import segment

    segment.load()
    return jieba.analyse


@lru_cache(maxsize=16)
def stopwords(language: str) -> frozenset[str]:
    try:
        text = resources.files("yake").joinpath(f"core/StopwordsList/stopwords_{language}.txt").read_text(
            encoding="utf-8", errors="ignore")
    except (FileNotFoundError, OSError):
        text = resources.files("yake").joinpath("core/StopwordsList/stopwords_noLang.txt").read_text(
            encoding="utf-8", errors="ignore")
    return frozenset(line.strip().lower() for line in text.splitlines() if line.strip())


@lru_cache(maxsize=1)
def _idf() -> tuple[dict[str, float], float]:
    from services.enrich.topics import model

    classifier = model("en")
    if classifier is None:
        return {}, 1.0
    idf = {term: float(classifier.idf[i]) for term, i in classifier.index.items() if " " not in term}
    return idf, max(idf.values()) if idf else 1.0


def load() -> None:
    _jieba()
    _idf()
    stopwords("en")


@lru_cache(maxsize=65536)
def _stem(word: str) -> str:
    """A light stemmer to merge plural and verb forms when counting (film/films, elect/elected)."""
    for suffix in ("ies", "ing", "ed", "es", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3 and not word.endswith("ss"):
            return word[: -len(suffix)] + ("y" if suffix == "ies" else "")
    return word


def keywords_latin(title: str, text: str, language: str) -> list[str]:
    stop = stopwords(language) | BOILERPLATE_EN
    idf, idf_max = _idf() if language == "en" else ({}, 1.0)
    tokens = [m.group() for m in _TOKEN.finditer(f"{title}\n{text}")]
    total = max(1, len(tokens))
    counts: dict[str, float] = {}
    first: dict[str, int] = {}
    surface: dict[str, dict[str, int]] = {}
    phrases: dict[tuple[str, ...], int] = {}
    title_words = {w.lower() for w in _WORD.findall(title)}
    run: list[str] = []
    for position, token in enumerate(tokens + ["."]):
        lower = token.lower()
        if _WORD.fullmatch(token) and lower not in stop:
            key = _stem(lower)
            counts[key] = counts.get(key, 0) + 1
            first.setdefault(key, position)
            forms = surface.setdefault(key, {})
            forms[token] = forms.get(token, 0) + 1
            run.append(lower)
            continue
        for n in (2, 3):
            for i in range(len(run) - n + 1):
                gram = tuple(run[i:i + n])
                phrases[gram] = phrases.get(gram, 0) + 1
        run = []
    scored: dict[str, float] = {}
    for key, count in counts.items():
        word = max(surface[key], key=surface[key].get)
        weight = idf.get(word.lower(), idf.get(key, idf_max)) / idf_max if idf else 1.0
        position = 1.0 + 1.0 / (1.0 + first[key] / 50)
        in_title = 1.5 if word.lower() in title_words else 1.0
        scored[word] = (1.0 + math.log(count)) * weight * position * in_title
    for gram, count in phrases.items():
        if count < 2:
            continue
        parts = [scored.get(max(surface[_stem(w)], key=surface[_stem(w)].get), 0.0) for w in gram]
        scored[" ".join(gram)] = (sum(parts) / len(parts)) * (1.0 + math.log(count)) * 0.9
    ranked = sorted(scored.items(), key=lambda item: -item[1])
    out: list[str] = []
    for term, _score in ranked:
        if any(term.lower() == kept.lower() for kept in out):
            continue
        out.append(term)
        if len(out) == TOP_K:
            break
    return out


_ZH_POS = ("n", "nr", "ns", "nt", "nz", "vn", "v", "an", "l", "i", "j")


def keywords_chinese(title: str, text: str) -> list[str]:
    """jieba's TF-IDF, its IDF table, over nouns, verbs, names and idioms (the part of speech from jieba's
    dictionary, not its slower HMM tagger; a word the dictionary lacks is mostly a name and is kept)."""
    from services.enrich import segment

    tags = segment.word_tags()
    analyse = _jieba()
    idf, median = analyse.default_tfidf.idf_freq, analyse.default_tfidf.median_idf
    counts: dict[str, float] = {}
    compounds: dict[tuple[str, ...], int] = {}
    title_words = set(segment.cut(title)) if title else set()
    run: list[str] = []
    for word in segment.cut(f"{title}\n{text}") + ["。"]:
        tag = tags.get(word)
        if len(word) < 2 or word in BOILERPLATE_ZH or not _CJK.search(word) or (
                tag is not None and not tag.startswith(_ZH_POS)):
            # A run of two or three content words that recurs is a term of its own (文明 典范 城市).
            for n in (2, 3):
                for i in range(len(run) - n + 1):
                    gram = tuple(run[i:i + n])
                    compounds[gram] = compounds.get(gram, 0) + 1
            run = []
            continue
        counts[word] = counts.get(word, 0.0) + 1.0
        run.append(word)
    scored = {word: count * idf.get(word, median) * (1.5 if word in title_words else 1.0) for word, count in counts.items()}
    for gram, count in compounds.items():
        if count >= 2 and all(tags.get(w, "n").startswith("n") for w in gram):
            scored["".join(gram)] = sum(scored[w] for w in gram) / len(gram) * (0.8 + 0.1 * len(gram))
    out: list[str] = []
    for word, _score in sorted(scored.items(), key=lambda item: (-item[1], -len(item[0]))):
        # One compound, not its pieces again (文明典范城市, not also 文明典范).
        if any(word in kept and word not in counts for kept in out):
            continue
        out = [kept for kept in out if not (kept in word and kept not in counts)]
        out.append(word)
        if len(out) == TOP_K:
            break
    return out


def keywords_for(title: str, text: str, language: str | None, max_chars: int = 20000) -> list[str]:
    body = text[:max_chars]
    if language in ("zh", "ja") or (language is None and len(_CJK.findall(body[:500])) > 50):
        return keywords_chinese(title, body)
    return keywords_latin(title, body, language or "en")


def enrich_keywords(payload: ArticlePayload, part: EnrichPart) -> None:
    assert payload.clean is not None
    from shared.settings import get_settings

    part.keywords = keywords_for(payload.clean.title, payload.clean.text, part.language, get_settings().enrich_max_chars)
