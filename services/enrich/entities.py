"""Named entities: people, places and organisations, with mentions and salience.

Both languages use a linear-chain CRF (python-crfsuite) trained offline on ../shared/eval/enrich/train/
by ``services/enrich/train/train_ner.py``; the model files ship in ``services/enrich/models/``.

- Chinese is tagged per character. Beside the characters and their neighbours, each character carries
  jieba's segmentation (its word's position B/M/E/S) and the part of speech jieba's dictionary gives
  that word (nr person, ns place, nt organisation ...), a surname flag and place/organisation suffixes.
- English (and other Latin-script text) is tagged per token with the word, its shape, affixes and
  neighbours (CoNLL-2003 style features).

Entities are found in the title and the first ``NEWSWIRE_ENRICH_MAX_CHARS`` characters (the lead holds
who and where); mentions are then counted over the whole text. Salience: in the title, in the lead,
how often.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from shared.payload import ArticlePayload, EnrichPart, Entity

VERSION = "ner-crf-1"
MODELS = Path(__file__).parent / "models"
KINDS = {"PER": "person", "LOC": "place", "ORG": "organisation"}

_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")
_EN_TOKEN = re.compile(r"(?:[A-Za-z]\.){2,}|\w+(?:[-'’&.]\w+)*|[^\w\s]", re.UNICODE)

SURNAMES = set(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔"
    "钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤常温康施文牛樊葛"
    "邢安齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿关兰焦俞左柳甘祝包宁尚符舒阮柯纪梅童凌毕单季裴霍涂成苗谷盛曲翁冉骆蓝"
    "路游辛靳管柴蒙鲍华喻祁蒲房滕屈饶解牟艾尤阳时穆农司卓古吉缪简车项连芦麦褚娄窦戚岑景党宫费卜冷晏席卫米柏宗瞿桂"
    "全佟应臧闵苟邬边卞姬师和仇栾隋商刁沙荣巫寇桑郎甄丛仲虞敖巩明佘池查麻苑迟邝"
)
PLACE_SUFFIX = set("省市县区镇乡村州国山江河湖岛洲港湾峡路街道")
ORG_SUFFIX = set("部委会局院校队厂司行社团党报台所馆署办处组军协企")


@dataclass(frozen=True)
class Mention:
    text: str
    type: str  # PER, LOC, ORG, MISC
    start: int
    end: int


# ---------------------------------------------------------------- features


def _shape(word: str) -> str:
    shape = re.sub(r"[A-Z]", "X", word)
    shape = re.sub(r"[a-z]", "x", shape)
    shape = re.sub(r"\d", "d", shape)
    return re.sub(r"(.)\1+", r"\1\1", shape)


def en_tokens(text: str) -> list[tuple[str, int, int]]:
    return [(m.group(), m.start(), m.end()) for m in _EN_TOKEN.finditer(text)]


def en_features(words: list[str]) -> list[list[str]]:
    lowered = [w.lower() for w in words]
    shapes = [_shape(w) for w in words]
    feats: list[list[str]] = []
    n = len(words)
    for i, word in enumerate(words):
        f = [
            "b", "w=" + lowered[i], "s=" + shapes[i], "p3=" + lowered[i][:3], "x3=" + lowered[i][-3:],
            "x2=" + lowered[i][-2:], "t=" + ("T" if word.istitle() else "U" if word.isupper() else "L"),
        ]
        if i == 0:
            f.append("BOS")
        for offset in (-2, -1, 1, 2):
            j = i + offset
            if 0 <= j < n:
                f.append(f"{offset}w={lowered[j]}")
                f.append(f"{offset}s={shapes[j]}")
            else:
                f.append(f"{offset}pad")
        if i > 0:
            f.append(f"-1w|w={lowered[i - 1]}|{lowered[i]}")
        if i + 1 < n:
            f.append(f"w|+1w={lowered[i]}|{lowered[i + 1]}")
        feats.append(f)
    return feats


@lru_cache(maxsize=1)
def _jieba():  # noqa: ANN202
    import logging

    import jieba
    import jieba.posseg

    jieba.setLogLevel(logging.WARNING)
    jieba.initialize()
    return jieba, jieba.posseg.dt.word_tag_tab


def _char_class(char: str) -> str:
    if _HAN.match(char):
        return "H"
    if char.isdigit():
        return "D"
    if char.isalpha():
        return "A"
    return "P"


def _segment(text: str) -> list[tuple[str, str]]:
    """jieba's words (its HMM joins the words its dictionary lacks, names mostly) and the part of speech
    its dictionary gives them ("unk" for a new word). jieba.posseg's own HMM tagging measured no better
    and 1.6 times slower."""
    jieba, tags = _jieba()
    return [(word, tags.get(word, "unk" if _HAN.search(word) else "x")) for word in jieba.cut(text, HMM=True)]


# People's Daily text (the training data) writes punctuation, digits and Latin letters full-width; the web
# mostly writes them ASCII. Features read the full-width form (one character for one: offsets hold).
_FULL_WIDTH = {code: code + 0xFEE0 for code in range(0x21, 0x7F)}


def zh_features(text: str) -> list[list[str]]:
    text = text.translate(_FULL_WIDTH)
    pos: list[str] = [""] * len(text)
    word_of: list[str] = [""] * len(text)
    start = 0
    for word, tag in _segment(text):
        length = len(word)
        for k in range(length):
            place = "S" if length == 1 else "B" if k == 0 else "E" if k == length - 1 else "M"
            pos[start + k] = f"{tag}_{place}"
            word_of[start + k] = word if length <= 6 else ""
        start += length
    n = len(text)
    padded = "\x02\x02" + text + "\x03\x03"
    feats: list[list[str]] = []
    for i in range(n):
        c = padded[i + 2]
        prev, prev2, nxt, nxt2 = padded[i + 1], padded[i], padded[i + 3], padded[i + 4]
        f = [
            "b", "c=" + c, "-1=" + prev, "+1=" + nxt, "-2=" + prev2, "+2=" + nxt2,
            "-1c=" + prev + c, "c+1=" + c + nxt, "-1+1=" + prev + nxt,
            "k=" + _char_class(c), "p=" + pos[i], "tag=" + pos[i].split("_")[0],
        ]
        if i > 0:
            f.append("p-1=" + pos[i - 1])
        if i + 1 < n:
            f.append("p+1=" + pos[i + 1])
        if word_of[i]:
            f.append("wd=" + word_of[i])
        if c in SURNAMES:
            f.append("sur")
        if prev in SURNAMES:
            f.append("sur-1")
        if c in PLACE_SUFFIX:
            f.append("locsuf")
        if c in ORG_SUFFIX:
            f.append("orgsuf")
        feats.append(f)
    return feats


# ---------------------------------------------------------------- tagging


@lru_cache(maxsize=2)
def _tagger(lang: str):  # noqa: ANN202
    import pycrfsuite

    tagger = pycrfsuite.Tagger()
    tagger.open(str(MODELS / f"ner_{lang}.crfsuite"))
    return tagger


def load() -> None:
    _jieba()
    _tagger("zh")
    _tagger("en")


def _spans(labels: list[str], offsets: list[tuple[int, int]]) -> list[tuple[str, int, int]]:
    """BIO labels over units with (start, end) offsets -> (type, start, end) spans."""
    spans: list[tuple[str, int, int]] = []
    current: list = []
    for label, (start, end) in zip(labels, offsets):
        if label.startswith("B-") or (label.startswith("I-") and (not current or current[0] != label[2:])):
            if current:
                spans.append(tuple(current))
            current = [label[2:], start, end]
        elif label.startswith("I-"):
            current[2] = end
        else:
            if current:
                spans.append(tuple(current))
            current = []
    if current:
        spans.append(tuple(current))
    return spans


def _split_sentences(text: str, cjk: bool) -> list[tuple[int, int]]:
    """Cut the text into pieces of at most a few hundred characters, at sentence ends, keeping offsets."""
    ends = re.compile(r"[。！？!?；;\n]+" if cjk else r"(?<=[.!?])\s+|\n+")
    pieces, start = [], 0
    for match in ends.finditer(text):
        if match.end() - start >= 1:
            pieces.append((start, match.end()))
        start = match.end()
    if start < len(text):
        pieces.append((start, len(text)))
    return pieces


def extract_entities(text: str, lang: str | None) -> list[Mention]:
    """Mentions of PER/LOC/ORG (and MISC in English) in order of appearance."""
    if not text.strip():
        return []
    cjk = lang in ("zh",) or (lang is None and len(_HAN.findall(text[:500])) > len(text[:500]) / 3)
    if lang in ("ja", "ko"):
        return []
    mentions: list[Mention] = []
    for start, end in _split_sentences(text, cjk):
        piece = text[start:end]
        if not piece.strip():
            continue
        if cjk:
            labels = _tagger("zh").tag(zh_features(piece))
            offsets = [(i, i + 1) for i in range(len(piece))]
        else:
            tokens = en_tokens(piece)
            if not tokens:
                continue
            labels = _tagger("en").tag(en_features([t for t, _s, _e in tokens]))
            offsets = [(s, e) for _t, s, e in tokens]
        for kind, s, e in _spans(labels, offsets):
            surface = piece[s:e].strip()
            if surface and not (cjk and len(surface) < 2):
                mentions.append(Mention(surface, kind, start + s, start + e))
    return mentions


def entities_for(title: str, text: str, lang: str | None, max_chars: int) -> list[Entity]:
    """The article's entities, most salient first: found in the title and lead, counted over the whole text."""
    lead = text[:max_chars]
    found = extract_entities(title, lang) + extract_entities(lead, lang)
    seen: dict[tuple[str, str], Mention] = {}
    for mention in found:
        if mention.type in KINDS:
            seen.setdefault((mention.text, mention.type), mention)
    lead_window = text[:300]
    whole = f"{title}\n{text}"
    out: list[Entity] = []
    for (name, kind), _mention in seen.items():
        mentions = max(1, whole.count(name))
        in_title, in_lead = name in title, name in lead_window
        salience = min(1.0, 0.4 * in_title + 0.25 * in_lead + 0.35 * min(1.0, mentions / 5))
        out.append(Entity(name=name, kind=KINDS[kind], mentions=mentions, salience=round(salience, 3)))
    # Drop a name that is part of a longer one of the same kind with no mention of its own (赵海 in 赵海燕).
    names = [(e.name, e.kind) for e in out]
    out = [e for e in out if not any(e.kind == k and e.name != n and e.name in n and whole.count(e.name) <= whole.count(n)
                                     for n, k in names)]
    # A name the gazetteer holds as a Chinese administrative division is a place, whatever the tagger said.
    from services.enrich.places import gazetteer

    divisions = gazetteer().by_name
    for entity in out:
        if _HAN.match(entity.name) and any(c.key.startswith("cn:") for c in divisions.get(entity.name, [])):
            entity.kind = "place"
    out.sort(key=lambda e: (-e.salience, -e.mentions, e.name))
    return out


def enrich_entities(payload: ArticlePayload, part: EnrichPart) -> None:
    from shared.settings import get_settings

    assert payload.clean is not None
    part.entities = entities_for(payload.clean.title, payload.clean.text, part.language,
                                 get_settings().enrich_max_chars)
