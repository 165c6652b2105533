"""Topics: IPTC Media Topic top-level codes with scores.

A TF-IDF + linear classifier per language (for Chinese, the average of three: logistic regression, NB-weighted
logistic regression and multinomial naive Bayes; for English, of two: logistic regression and complement naive
Bayes), trained offline by ``services/enrich/train/train_topics.py``
on ``../shared/eval/enrich/train/topic_train.jsonl`` (scikit-learn at training time only). The
vocabulary, IDF weights and class weights ship as ``models/topics_<lang>.npz`` and are applied here
with numpy: no scikit-learn at run time. Chinese text is read as jieba words plus character 1- to 3-grams,
English as lower-cased words and word bigrams. Languages without a model get the English one when
written in Latin script, nothing otherwise.
"""

from __future__ import annotations

import re
from collections import Counter
from functools import lru_cache
from pathlib import Path

import numpy as np

from shared.payload import ArticlePayload, EnrichPart, Topic

VERSION = "topics-1"
MODELS = Path(__file__).parent / "models"
MAX_CHARS = 3000
TOP = 3

# IPTC Media Topic top level: code -> (English, Chinese) labels.
IPTC = {
    "medtop:01000000": ("arts, culture, entertainment and media", "艺术、文化、娱乐和媒体"),
    "medtop:02000000": ("crime, law and justice", "犯罪、法律和司法"),
    "medtop:03000000": ("disaster, accident and emergency incident", "灾难、事故和紧急事件"),
    "medtop:04000000": ("economy, business and finance", "经济、商业和金融"),
    "medtop:05000000": ("education", "教育"),
    "medtop:06000000": ("environment", "环境"),
    "medtop:07000000": ("health", "健康"),
    "medtop:08000000": ("human interest", "人情味"),
    "medtop:09000000": ("labour", "劳工"),
    "medtop:10000000": ("lifestyle and leisure", "生活方式和休闲"),
    "medtop:11000000": ("politics", "政治"),
    "medtop:12000000": ("religion", "宗教"),
    "medtop:13000000": ("science and technology", "科学和技术"),
    "medtop:14000000": ("society", "社会"),
    "medtop:15000000": ("sport", "体育"),
    "medtop:16000000": ("conflict, war and peace", "冲突、战争与和平"),
    "medtop:17000000": ("weather", "天气"),
}

_WORD = re.compile(r"[a-z0-9]+(?:['’][a-z]+)?")
_HAN = re.compile(r"[\u4e00-\u9fff]")
_PUNCT = re.compile(r"[\s\W_]+", re.UNICODE)


def features(text: str, lang: str) -> list[str]:
    """The terms the classifier reads (shared with the training script)."""
    text = text[:MAX_CHARS]
    if lang == "zh":
        from services.enrich import segment

        words = [w for w in segment.cut(text) if not _PUNCT.fullmatch(w)]
        han = "".join(_HAN.findall(text))
        return words + list(han) + [han[i:i + 2] for i in range(len(han) - 1)] + [han[i:i + 3] for i in range(len(han) - 2)]
    words = _WORD.findall(text.lower())
    return words + [f"{a} {b}" for a, b in zip(words, words[1:])]


def _softmax(logits: np.ndarray) -> np.ndarray:
    exp = np.exp(logits - logits.max())
    return exp / exp.sum()


class Model:
    def __init__(self, path: Path) -> None:
        data = np.load(path, allow_pickle=False)
        self.index = {term: i for i, term in enumerate(data["vocabulary"].tolist())}
        self.idf = data["idf"].astype(np.float64)
        self.coef = data["coef"].astype(np.float64)  # classes x terms
        self.intercept = data["intercept"].astype(np.float64)
        self.classes = data["classes"].tolist()
        # A model may be trained on finer classes than IPTC's (THUCNews' 财经, 房产 and 股票 are all
        # economy): ``iptc`` maps each class to its code, and the codes' probabilities are the sums.
        self.codes = data["iptc"].tolist() if "iptc" in data.files else self.classes
        # Optionally more linear models over the same terms, their probabilities averaged with the first:
        # ``_nb`` an NB-weighted one-vs-rest logistic regression (Wang & Manning 2012), ``_mnb`` a multinomial
        # naive Bayes (log priors and log term probabilities), ``_cnb`` a complement naive Bayes (Rennie et al.
        # 2003: each class's weights learnt from the other classes' term counts; no prior).
        self.more = [(data["coef" + suffix].astype(np.float64), data["intercept" + suffix].astype(np.float64))
                     for suffix in ("_nb", "_mnb", "_cnb") if "coef" + suffix in data.files]

    def scores(self, terms: list[str]) -> dict[str, float]:
        index = self.index
        counts = {index[term]: count for term, count in Counter(terms).items() if term in index}
        cols = np.fromiter(counts.keys(), dtype=np.int64, count=len(counts))
        tf = np.fromiter(counts.values(), dtype=np.float64, count=len(counts))
        values = (1.0 + np.log(tf)) * self.idf[cols]  # sublinear tf x idf
        values /= np.linalg.norm(values) or 1.0
        probabilities = _softmax(self.intercept + self.coef[:, cols] @ values)
        for coef, intercept in self.more:
            probabilities = probabilities + _softmax(intercept + coef[:, cols] @ values)
        probabilities /= 1 + len(self.more)
        scores: dict[str, float] = {}
        for code, p in zip(self.codes, probabilities):
            scores[code] = scores.get(code, 0.0) + float(p)
        return scores


@lru_cache(maxsize=4)
def model(lang: str) -> Model | None:
    path = MODELS / f"topics_{lang}.npz"
    return Model(path) if path.exists() else None


def load() -> None:
    from services.enrich import segment

    segment.load()
    model("zh")
    model("en")


def classify(text: str, lang: str | None) -> list[Topic]:
    """Topics, best first (at most three, those scoring at least a third of the best)."""
    lang = "zh" if lang == "zh" or (lang is None and len(_HAN.findall(text[:300])) > 30) else lang
    if lang not in ("zh", "en"):
        lang = "en" if lang and not _HAN.search(text[:300]) else None
    classifier = model(lang) if lang else None
    if classifier is None:
        return []
    terms = features(text, lang)
    if not terms:
        return []
    scores = classifier.scores(terms)
    ranked = sorted(scores.items(), key=lambda item: -item[1])
    best = ranked[0][1] if ranked else 0.0
    return [Topic(code=code, label=IPTC[code][0], label_zh=IPTC[code][1], score=round(score, 4))
            for code, score in ranked[:TOP] if score >= best / 3]


def enrich_topics(payload: ArticlePayload, part: EnrichPart) -> None:
    assert payload.clean is not None
    from shared.settings import get_settings

    # The lead the other enrichers read (its words are cut once for all of them).
    text = payload.clean.text[:get_settings().enrich_max_chars]
    part.topics = classify(f"{payload.clean.title}\n{text}", part.language)
