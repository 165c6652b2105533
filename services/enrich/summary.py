"""Extractive summary: one to three sentences of the article, in its own language.

Sentences are scored by how many of the article's key terms they carry, weighted towards
the lead (news puts what matters first); the best are returned in their original order,
within about 120 Chinese characters or 60 words.
"""

from __future__ import annotations

import re

from shared.payload import ArticlePayload, EnrichPart

VERSION = "summary-1"
MAX_SENTENCES = 3
MAX_CJK_CHARS = 120
MAX_WORDS = 60

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")
# A sentence ends at 。！？!? (with the closing quotes after it), or at a full stop before a space and a capital.
_END = re.compile(r"[。！？!?]+[”」』\"'’）)]*|\.[”\"'’)]*(?=\s+[\"“'‘(A-Z0-9])")
_ABBREVIATION = re.compile(r"(?:\b(?:Mr|Mrs|Ms|Dr|Prof|St|Jr|Sr|Gen|Gov|Sen|Rep|Lt|Col|Capt|Inc|Co|Corp|Ltd|No|vs|etc)|\b[A-Z])$")
_BYLINE = re.compile(r"^(?:\(|（|【)?(?:记者|通讯员|编辑|责任编辑|来源|图片来源|Photo|Reuters|AP|AFP)\b", re.I)
# A dateline before the lead: 大河网讯, 本报讯, 新华社北京3月1日电, （记者 张三）, "WASHINGTON (Reuters) -".
_DATELINE = re.compile(r"^(?:[\u4e00-\u9fff]{1,8}(?:网|报|社)讯|本报讯|新华社[\u4e00-\u9fff]{0,6}\d{0,2}月?\d{0,2}日?电|"
                       r"[A-Z][A-Z .,]{2,40}\((?:Reuters|AP|AFP|AP Photo)\)\s*[-—–]+)\s*(?:（[^）]{0,30}）|\([^)]{0,30}\))?\s*")
_QUOTE_START = re.compile(r"^[“\"「『‘']")


def sentences(text: str) -> list[str]:
    out: list[str] = []
    for paragraph in text.split("\n"):
        start = 0
        for end in _END.finditer(paragraph):
            if end.group().startswith(".") and _ABBREVIATION.search(paragraph[start:end.start()]):
                continue
            piece = paragraph[start:end.end()].strip()
            if piece:
                out.append(piece)
            start = end.end()
        if paragraph[start:].strip():
            out.append(paragraph[start:].strip())
    return out


def _size(sentence: str) -> int:
    cjk = len(_CJK.findall(sentence))
    return cjk if cjk > len(sentence) / 3 else len(sentence.split())


def _grams(text: str, cjk: bool) -> set[str]:
    text = text.lower()
    if cjk:
        han = "".join(_CJK.findall(text))
        return {han[i:i + 2] for i in range(len(han) - 1)}
    return {word for word in re.findall(r"[^\W\d_]{3,}", text)}


def summarise(text: str, keywords: list[str], cjk: bool, title: str = "") -> str | None:
    pieces = [_DATELINE.sub("", s) for s in sentences(text)[:40]]
    candidates = [s for s in pieces if len(s) >= (15 if cjk else 30) and not _BYLINE.match(s)]
    if not candidates:
        return None
    terms = [k.lower() for k in keywords[:10]]
    title_grams = _grams(title, cjk)
    scored = []
    for index, sentence in enumerate(candidates):
        lower = sentence.lower()
        coverage = sum(1.0 / (rank + 1) ** 0.5 for rank, term in enumerate(terms) if term in lower)
        grams = _grams(sentence, cjk)
        title_share = len(grams & title_grams) / len(title_grams) if title_grams else 0.0
        position = 1.0 / (1 + index) ** 0.7
        score = 0.4 * coverage + 2.0 * title_share + 1.5 * position
        if _QUOTE_START.match(sentence):  # a quotation opens a story well but rarely says what it is about
            score *= 0.5
        scored.append((score, index))
    scored.sort(reverse=True)
    budget = MAX_CJK_CHARS if cjk else MAX_WORDS
    chosen: list[int] = []
    used = 0
    for _score, index in scored:
        size = _size(candidates[index])
        if chosen and used + size > budget:
            continue
        chosen.append(index)
        used += size
        if len(chosen) == MAX_SENTENCES or used >= budget:
            break
    joiner = "" if cjk else " "
    return joiner.join(candidates[i] for i in sorted(chosen))


def enrich_summary(payload: ArticlePayload, part: EnrichPart) -> None:
    assert payload.clean is not None
    cjk = part.language in ("zh", "ja") or len(_CJK.findall(payload.clean.text[:500])) > 100
    part.summary = summarise(payload.clean.text, part.keywords, cjk, payload.clean.title)
