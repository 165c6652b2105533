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
# Characters of the standard Chinese transliteration of foreign names (库克, 基里延科, 内塔尼亚胡, 科连特斯):
# a run of them is most often a foreign person or place the dictionary lacks.
TRANSLITERATION = set(
    "阿埃艾安昂奥巴贝本比彼波布达德迪蒂多恩尔法菲芬弗伏福盖冈戈格古哈海汉赫亨胡华霍基吉加贾杰金卡凯坎克肯库拉莱赖"
    "兰朗劳勒雷里利莉列林琳隆卢鲁伦罗洛马迈曼梅蒙米明莫姆穆纳娜内尼涅努诺帕佩蓬皮珀普奇齐恰乔切萨塞桑瑟森沙舍什斯"
    "松苏索塔泰坦特滕提图托瓦万威韦维温沃乌西希谢辛休雅亚扬耶伊因英尤约扎泽詹兹佐夫娃科茨"
)


@dataclass(frozen=True)
class Mention:
    text: str
    type: str  # PER, LOC, ORG, MISC
    start: int
    end: int


# ---------------------------------------------------------------- features


_SHAPE = str.maketrans({**{chr(c): "X" for c in range(65, 91)}, **{chr(c): "x" for c in range(97, 123)},
                        **{chr(c): "d" for c in range(48, 58)}})


def _shape(word: str) -> str:
    """Xxxx, dd-dd ...: capitals X, small letters x, digits d, runs of one kind cut to two."""
    if word.isascii():
        shape = word.translate(_SHAPE)
    else:
        shape = re.sub(r"\d", "d", re.sub(r"[a-z]", "x", re.sub(r"[A-Z]", "X", word)))
    out, previous, run = [], "", 0
    for char in shape:
        run = run + 1 if char == previous else 1
        previous = char
        if run <= 2:
            out.append(char)
    return "".join(out)


def en_tokens(text: str) -> list[tuple[str, int, int]]:
    return [(m.group(), m.start(), m.end()) for m in _EN_TOKEN.finditer(text)]


_EN_WORD_CACHE: dict[str, tuple[str, ...]] = {}


def _en_word(word: str) -> tuple[str, ...]:
    """A word's own features and the strings its neighbours read (kept per word: text repeats words)."""
    cached = _EN_WORD_CACHE.get(word)
    if cached is None:
        lower, shape = word.lower(), _shape(word)
        case = "T" if word.istitle() else "U" if word.isupper() else "L"
        cached = (lower, shape, "w=" + lower, "s=" + shape, "p3=" + lower[:3], "x3=" + lower[-3:], "x2=" + lower[-2:],
                  "t=" + case, "-2w=" + lower, "-2s=" + shape, "-1w=" + lower, "-1s=" + shape,
                  "1w=" + lower, "1s=" + shape, "2w=" + lower, "2s=" + shape)
        if len(_EN_WORD_CACHE) > 200_000:
            _EN_WORD_CACHE.clear()
        _EN_WORD_CACHE[word] = cached
    return cached


def en_features(words: list[str]) -> list[list[str]]:
    """CoNLL-style token features: the word, its shape, affixes and case, its neighbours' words and shapes."""
    info = [_en_word(word) for word in words]
    n = len(words)
    feats: list[list[str]] = []
    for i in range(n):
        own = info[i]
        f = ["b", *own[2:8]]
        if i == 0:
            f.append("BOS")
        # neighbours at -2, -1, +1, +2: the word and shape as seen from here
        f.extend(info[i - 2][8:10] if i >= 2 else ("-2pad",))
        f.extend(info[i - 1][10:12] if i >= 1 else ("-1pad",))
        f.extend(info[i + 1][12:14] if i + 1 < n else ("1pad",))
        f.extend(info[i + 2][14:16] if i + 2 < n else ("2pad",))
        if i > 0:
            f.append(f"-1w|w={info[i - 1][0]}|{own[0]}")
        if i + 1 < n:
            f.append(f"w|+1w={own[0]}|{info[i + 1][0]}")
        feats.append(f)
    return feats


def _jieba():  # noqa: ANN202
    """jieba (its dictionary loaded once per process) and its dictionary's part of speech per word."""
    from services.enrich import segment

    return segment.tokenizer(), segment.word_tags()


# People's Daily text (the training data) writes punctuation, digits and Latin letters full-width; the web
# mostly writes them ASCII. Characters are read in the full-width form, words are cut from the ASCII form
# (one character for one: offsets hold), so training and web text look alike to the tagger.
_FULL_WIDTH = {code: code + 0xFEE0 for code in range(0x21, 0x7F)}
_HALF_WIDTH = {code + 0xFEE0: code for code in range(0x21, 0x7F)}
_ZH_CHAR_CACHE: dict[str, tuple[str, ...]] = {}
_TRANSLITERATED = re.compile("[" + "".join(sorted(TRANSLITERATION)) + "]+")

# Parts of speech of jieba's dictionary that name things, grouped: person, transliterated name, place,
# organisation, other proper noun; everything else is N.
_NAME_GROUPS = {"nr": "P", "nrfg": "P", "nrt": "T", "ns": "L", "nt": "O", "nz": "Z"}


@lru_cache(maxsize=1)
def name_affinity() -> dict[str, tuple[str, ...]]:
    """What each character tends to be in the names of jieba's dictionary (349,000 words with their part
    of speech): for each kind of name and each place in the word (B first, M inside, E last), the share of
    the character's dictionary words (of two or more characters) that are such a name with the character
    there, in three bands (above 0.1, 0.3, 0.6). E.g. 斯 is mostly inside or at the end of transliterated
    names, 省 at the end of places. This carries the dictionary's knowledge of names to names it lacks."""
    from services.enrich import segment

    counts: dict[str, dict[str, int]] = {}
    totals: dict[str, int] = {}
    for word, tag in segment.word_tags().items():
        if len(word) < 2:
            continue
        group = _NAME_GROUPS.get(tag, "N")
        last = len(word) - 1
        for i, char in enumerate(word):
            key = group + ("B" if i == 0 else "E" if i == last else "M")
            mine = counts.setdefault(char, {})
            mine[key] = mine.get(key, 0) + 1
            totals[char] = totals.get(char, 0) + 1
    table: dict[str, tuple[str, ...]] = {}
    for char, mine in counts.items():
        if totals[char] < 3:
            continue
        bands = []
        for key, count in mine.items():
            if key[0] == "N":
                continue
            share = count / totals[char]
            band = 3 if share > 0.6 else 2 if share > 0.3 else 1 if share > 0.1 else 0
            if band:
                bands.append(f"{key}{band}")
        if bands:
            table[char] = tuple(bands)
    return table


def _zh_char(char: str) -> tuple[str, ...]:
    """A character's own features: the character, surname and suffix flags, its name affinity."""
    cached = _ZH_CHAR_CACHE.get(char)
    if cached is None:
        own = ["c=" + char]
        if char in SURNAMES:
            own.append("sur")
        if char in PLACE_SUFFIX:
            own.append("locsuf")
        if char in ORG_SUFFIX:
            own.append("orgsuf")
        own.extend(name_affinity().get(char.translate(_HALF_WIDTH), ()))
        cached = tuple(own)
        if len(_ZH_CHAR_CACHE) > 100_000:
            _ZH_CHAR_CACHE.clear()
        _ZH_CHAR_CACHE[char] = cached
    return cached


def _words(text: str) -> list[tuple[str, str]]:
    """jieba's words of the text, each with the part of speech jieba's dictionary gives it ("unk" for a
    word it lacks: its HMM joined it, mostly a name). Words are cut from the ASCII form of the text."""
    from services.enrich import segment

    tags = segment.word_tags()
    return [(word, tags.get(word) or ("unk" if _HAN.search(word) else "x"))
            for word in segment.cut(text.translate(_HALF_WIDTH))]


def zh_features(text: str, words: list[tuple[str, str]] | None = None) -> list[list[str]]:
    """Per character: the character, its neighbours within two (and the pairs it forms with the next and
    previous one, and those two together), surname
    and suffix flags; the word jieba puts it in (the word, its part of speech, the character's place in
    it) and the places of its neighbours. Built column by column (list comprehensions: this runs on every
    character of every Chinese lead)."""
    words = _words(text) if words is None else words
    text = text.translate(_FULL_WIDTH)
    n = len(text)
    if not n:
        return []
    place: list[str] = []
    shared: list[tuple[str, ...]] = []
    for word, tag in words:
        length = len(word)
        common = ("tag=" + tag, "wd=" + word) if length <= 6 else ("tag=" + tag,)
        if length == 1:
            place.append(f"{tag}_S")
            shared.append(common)
            continue
        place.extend([f"{tag}_B"] + [f"{tag}_M"] * (length - 2) + [f"{tag}_E"])
        shared.extend([common] * length)
    padded = "\x02\x02" + text + "\x03\x03"
    pairs = [a + b for a, b in zip(padded, padded[1:])]  # pairs[k] = padded[k:k + 2]
    skips = [a + b for a, b in zip(padded, padded[2:])]  # skips[k] = padded[k] + padded[k + 2]
    columns = [
        ["-2=" + c for c in padded[: n]],
        ["-1=" + c for c in padded[1: n + 1]],
        ["+1=" + c for c in padded[3: n + 3]],
        ["+2=" + c for c in padded[4: n + 4]],
        ["-1c=" + p for p in pairs[1: n + 1]],
        ["c+1=" + p for p in pairs[2: n + 2]],
        ["-1+1=" + p for p in skips[1: n + 1]],
        ["p=" + p for p in place],
        ["p-1=<s>"] + ["p-1=" + p for p in place[:-1]],
        ["p+1=" + p for p in place[1:]] + ["p+1=</s>"],
    ]
    own = [_zh_char(c) for c in text]
    surname_before = [False] + [c in SURNAMES for c in text[:-1]]
    feats = [[*mine, *row, *common] for mine, common, row in zip(own, shared, zip(*columns))]
    for i in (i for i, flag in enumerate(surname_before) if flag):
        feats[i].append("sur-1")
    for match in _TRANSLITERATED.finditer(text):  # each character of a run: in a run, and the run's length
        run = ("tl", f"tlr={min(5, match.end() - match.start())}")
        for i in range(match.start(), match.end()):
            feats[i].extend(run)
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
    name_affinity()
    _tagger("zh")
    _tagger("en")


def _spans(labels: list[str], offsets: list[tuple[int, int]]) -> list[tuple[str, int, int]]:
    """BIOES labels over units with (start, end) offsets -> (type, start, end) spans. B-/S- begin an entity,
    I-/E- continue one of the same type (or begin one after O or another type), E-/S- end it."""
    spans: list[tuple[str, int, int]] = []
    current: list | None = None
    for label, (start, end) in zip(labels, offsets):
        if label == "O":
            if current:
                spans.append(tuple(current))
            current = None
            continue
        prefix, kind = label[0], label[2:]
        if prefix in "BS" or current is None or current[0] != kind:
            if current:
                spans.append(tuple(current))
            current = [kind, start, end]
        else:
            current[2] = end
        if prefix in "ES":
            spans.append(tuple(current))
            current = None
    if current:
        spans.append(tuple(current))
    return spans


def join_organisations(spans: list[tuple[str, int, int]]) -> list[tuple[str, int, int]]:
    """A place or organisation right before an organisation (no character between) is the start of that
    organisation's name: 加拿大 + 海军舰艇编队, 中国检察日报社 + 影视部. People's Daily writes such names whole
    (in its training sentences a place directly before an organisation is rare, an organisation directly
    before another never happens)."""
    out: list[tuple[str, int, int]] = []
    for kind, start, end in spans:
        if kind == "ORG" and out and out[-1][2] == start and out[-1][0] in ("LOC", "ORG"):
            out[-1] = ("ORG", out[-1][1], end)
        else:
            out.append((kind, start, end))
    return out


_OPENERS = {"《": "》", "（": "）", "(": ")", "“": "”", "「": "」", "『": "』", "【": "】", "〈": "〉", "[": "]"}
_CLOSERS = {close: open_ for open_, close in _OPENERS.items()}


def balanced(text: str, start: int, end: int) -> tuple[int, int]:
    """The span ``text[start:end]`` without a bracket or quotation mark whose partner is outside it: a name
    ends before an opening mark left open (国家杜马（议会下院 -> 国家杜马) and starts after a closing mark
    whose opening is not in it (天津日报》 -> 天津日报); 美国《时代》周刊 stays whole."""
    stack: list[int] = []
    for i in range(start, end):
        char = text[i]
        if char in _OPENERS:
            stack.append(i)
        elif char in _CLOSERS:
            if stack and text[stack[-1]] == _CLOSERS[char]:
                stack.pop()
            elif stack:  # a mark of another kind left open: the name ends there
                return start, stack[0]
            elif i - start >= end - i - 1:  # closing mark in the second half: the name ends before it
                return start, i
            else:
                start = i + 1
    if stack:
        end = stack[0]
    return start, max(start, end)


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


def extract_entities(text: str, lang: str | None, tagger=None) -> list[Mention]:  # noqa: ANN001
    """Mentions of PER/LOC/ORG (and MISC in English) in order of appearance. ``tagger``: a pycrfsuite
    Tagger to use instead of the shipped model (cross-validation while training)."""
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
            labels = (tagger or _tagger("zh")).tag(zh_features(piece))
            offsets = [(i, i + 1) for i in range(len(piece))]
        else:
            tokens = en_tokens(piece)
            if not tokens:
                continue
            labels = (tagger or _tagger("en")).tag(en_features([t for t, _s, _e in tokens]))
            offsets = [(s, e) for _t, s, e in tokens]
        spans = _spans(labels, offsets)
        if cjk:
            spans = join_organisations(spans)
        for kind, s, e in spans:
            s, e = balanced(piece, s, e)
            surface = piece[s:e].strip()
            if surface:
                mentions.append(Mention(surface, kind, start + s, start + e))
    return propagate(text, mentions) if cjk else mentions


def propagate(text: str, mentions: list[Mention]) -> list[Mention]:
    """A Chinese name the tagger found once is that name at its other places in the text too, where no other
    mention covers them (the tagger sees a sentence at a time and may miss it in a poorer context). Names of
    one character and names found with two types are left as they are."""
    kinds: dict[str, set[str]] = {}
    for mention in mentions:
        if len(mention.text) >= 2:
            kinds.setdefault(mention.text, set()).add(mention.type)
    taken = bytearray(len(text))
    for mention in mentions:
        taken[mention.start:mention.end] = b"\x01" * (mention.end - mention.start)
    added: list[Mention] = []
    for name in sorted((n for n, k in kinds.items() if len(k) == 1), key=len, reverse=True):
        kind = next(iter(kinds[name]))
        at = text.find(name)
        while at >= 0:
            end = at + len(name)
            if not any(taken[at:end]):
                added.append(Mention(name, kind, at, end))
                taken[at:end] = b"\x01" * len(name)
            at = text.find(name, end)
    if not added:
        return mentions
    return sorted(mentions + added, key=lambda m: m.start)


def entities_for(title: str, text: str, lang: str | None, max_chars: int) -> list[Entity]:
    """The article's entities, most salient first: found in the title and lead, counted over the whole text."""
    lead = text[:max_chars]
    found = extract_entities(title, lang) + extract_entities(lead, lang)
    seen: dict[tuple[str, str], Mention] = {}
    for mention in found:
        # One-character names are abbreviations the tagger finds in context (美 for the United States, 京 for
        # Beijing): right for the sentence, too ambiguous to stand alone as an article's entity.
        if mention.type in KINDS and len(mention.text) >= 2:
            seen.setdefault((mention.text, mention.type), mention)
    lead_window = text[:300]
    whole = f"{title}\n{text}"
    counts = {name: whole.count(name) for name, _kind in seen}
    # Drop a name that is part of a longer one of the same kind with no mention of its own (赵海 in 赵海燕).
    by_kind: dict[str, list[str]] = {}
    for name, kind in seen:
        by_kind.setdefault(kind, []).append(name)
    out: list[Entity] = []
    for name, kind in seen:
        if any(len(other) > len(name) and name in other and counts[name] <= counts[other] for other in by_kind[kind]):
            continue
        mentions = max(1, counts[name])
        in_title, in_lead = name in title, name in lead_window
        salience = min(1.0, 0.4 * in_title + 0.25 * in_lead + 0.35 * min(1.0, mentions / 5))
        out.append(Entity(name=name, kind=KINDS[kind], mentions=mentions, salience=round(salience, 3)))
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
