"""Bytes to text, recording which charset was used and why.

Every candidate is decoded and scored; the one with the fewest problems wins, the source's priority breaking ties.

Candidates, by priority: a byte order mark (final, as browsers do), the HTTP charset, strict UTF-8, the document's
declared charset (<meta charset>, <meta http-equiv>, <?xml encoding?>), each legacy charset read as its superset
(GB2312/GBK -> GB18030, Big5 -> Big5-HKSCS, Latin-1/ASCII -> Windows-1252). A candidate that reads as mojibake is
also tried repaired (text once read in a single-byte charset and saved again: é -> Ã©, 焦作 -> ½¹×÷). When no
candidate reads cleanly, the rescue ones follow: detection (charset-normalizer), GB18030 and Big5-HKSCS.

Each candidate is decoded strictly, and on failure again with replacement, counting the undecodable spans. Its
score adds up the problems a reader would see (``score()``): undecodable spans, replacement characters already in
the text, and signs of mojibake: Latin-1-looking sequences of UTF-8 read as a single-byte charset (Ã©, â€™, ä¸­),
runs of accented capitals no European word has (multi-byte text read as Latin), C0/C1 control characters,
private-use characters, and Chinese characters improbable for the page: outside the common sets (GB2312 level 1,
Big5 level 1, JIS level 1), or any Chinese character on a page claiming a non-CJK language (weighted lightly). So a
lying charset loses to the content: an HTTP header saying ISO-8859-1 over GBK bytes, a <meta> saying UTF-8 over
GB18030 bytes, Big5 bytes in a page declared GB2312.

Valid UTF-8 with non-ASCII bytes scores 0 where a declared legacy charset reading the same bytes finds improbable
characters or errors: a GB2312 page re-saved as UTF-8 keeps its old <meta> (it happens).

The winner's undecodable bytes are dropped (counted in ``replaced`` and the reason), so no U+FFFD reaches the
article. When even the winner reads with problems past tolerance, ``flag`` says so: the quality verdict records it
and counts the problems as garbled text (services/clean/quality.py), which quarantines a page too garbled to publish.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Callable
from dataclasses import dataclass, field

SUPERSETS = {"gb2312": "gb18030", "gbk": "gb18030", "x-gbk": "gb18030", "gb_2312-80": "gb18030",
             "euc-cn": "gb18030", "hz-gb-2312": "gb18030", "big5": "big5hkscs", "cp950": "big5hkscs",
             "iso8859-1": "cp1252", "iso-8859-1": "cp1252", "latin-1": "cp1252", "latin_1": "cp1252",
             "ascii": "cp1252", "us-ascii": "cp1252", "euc_kr": "cp949", "euc-kr": "cp949",
             "shift_jis": "cp932", "sjis": "cp932", "tis-620": "cp874"}
META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([a-zA-Z0-9_\-:.]+)""", re.IGNORECASE)
XML_ENCODING = re.compile(rb"""<\?xml[^>]+encoding\s*=\s*["']([a-zA-Z0-9_\-:.]+)""", re.IGNORECASE)
# Codecs Python has that no web page is in (browsers refuse UTF-7; the rest decode escapes or host names).
NOT_WEB_CHARSETS = {"utf-7", "idna", "punycode", "unicode-escape", "raw-unicode-escape", "charmap", "undefined",
                    "palmos", "mbcs", "oem"}
HTML_LANG = re.compile(rb"""<html[^>]*?\slang\s*=\s*["']?\s*([a-zA-Z]{2,3})""", re.IGNORECASE)
CJK_LANGUAGES = {"zh", "ja", "ko", "yue", "cmn", "wuu", "lzh", "nan", "hak", "jpn", "kor", "zho", "chi"}

# What Windows-1252 makes of bytes 0x80-0xBF (UTF-8 continuation bytes), and C1 controls for 0x81, 0x8D, ...
_CONT = "[\u0080-\u00bf\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u0192\u02c6\u02dc\u2013\u2014\u2018-\u201e" \
        "\u2020-\u2022\u2026\u2030\u2039\u203a\u20ac\u2122]"
_CONT_CHARS = frozenset(ch for ch in map(chr, range(0x80, 0x2200)) if re.fullmatch(_CONT, ch))
# UTF-8 read as a single-byte charset: a lead byte as Â-ß / à-ï / ð-ô followed by its continuation bytes.
_UTF8_AS_LATIN = re.compile(f"[\u00c2-\u00df]{_CONT}|[\u00e0-\u00ef]{_CONT}{{2}}|[\u00f0-\u00f4]{_CONT}{{3}}")
# Multi-byte text (GBK, Big5, Shift-JIS) read as Latin: runs of accented letters no European word has.
_LATIN_RUNS = re.compile("[\u00c0-\u00ff]{3,}")
_CONTROLS = re.compile("[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f]")
_HAN = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\ufe30-\ufe4f]")
_REPLACEMENT_RUNS = re.compile("\ufffd+")
_NON_ASCII = re.compile("[^\x00-\x7f\ufffd]")
_LATIN_1 = re.compile("[\u00a0-\u00ff]")
_LETTER = re.compile("[\u00c0-\u00ff]")
_PRIVATE_USE = re.compile("[\ue000-\uf8ff]")
_REPAIRABLE = re.compile(f"(?:[\u00c0-\u00ff]|{_CONT})+")
SAMPLE = 100_000  # characters of each candidate scored (``sample_of``: a page's charset does not change half-way)


def _common_han() -> frozenset[str]:
    """The Chinese characters of everyday text: GB2312 level 1 (3,755), Big5 level 1 (5,401), JIS level 1 (2,965).

    Built from the codecs at import (no data file): anything else in a candidate's text is improbable, and Big5
    read as GB18030 (or UTF-8 read as GBK) yields mostly such characters."""
    found: set[str] = set()
    for charset, leads, trails in (
        ("gb2312", range(0xB0, 0xD8), range(0xA1, 0xFF)),
        ("big5", range(0xA4, 0xC7), [*range(0x40, 0x7F), *range(0xA1, 0xFF)]),
        ("cp932", range(0x88, 0x99), [*range(0x40, 0x7F), *range(0x80, 0xFD)]),
    ):
        for lead in leads:
            for trail in trails:
                try:
                    found.add(bytes((lead, trail)).decode(charset))
                except UnicodeDecodeError:
                    pass
    return frozenset(found)


COMMON_HAN = _common_han()


def _rare_han() -> str:
    """Ranges (for a character class) of every Chinese character outside ``COMMON_HAN`` (4,400; compiles in ms)."""
    rare = [code for low, high in ((0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF), (0xFE30, 0xFE4F))
            for code in range(low, high + 1) if chr(code) not in COMMON_HAN]
    ranges: list[tuple[int, int]] = []
    for code in rare:
        if ranges and ranges[-1][1] == code - 1:
            ranges[-1] = (ranges[-1][0], code)
        else:
            ranges.append((code, code))
    return "".join(chr(a) if a == b else f"{chr(a)}-{chr(b)}" for a, b in ranges)


# Controls, Latin-1, private use and rare Chinese characters: one character class, one pass.
_SUSPECT = re.compile("[\x00-\x08\x0b\x0e-\x1f\x7f-\u00ff\ue000-\uf8ff" + _rare_han() + "]")


@dataclass
class Candidate:
    """One reading of the bytes: where it came from, what it made of them, and its problems."""

    charset: str
    source: str
    priority: int
    text: str = ""
    errors: int = 0  # undecodable spans
    dropped: int = 0  # undecodable bytes' replacement characters (removed from the text if this one wins)
    replacement: int = 0  # U+FFFD already in the text
    signs: dict[str, float] = field(default_factory=dict)
    score: float = 0.0
    acceptable: bool = True
    single_byte: bool = False  # one character per byte (Windows-1252, KOI8-R...): nothing was "saved again" here

    def summary(self) -> str:
        parts = []
        if self.errors:
            parts.append(f"{self.errors} undecodable")
        if self.replacement:
            parts.append(f"{self.replacement} replacement characters")
        parts += [f"{round(count)} {name.replace('_', ' ')}" for name, count in self.signs.items() if count >= 0.5]
        return ", ".join(parts) or "clean"

    def as_dict(self, chosen: bool) -> dict:
        return {"charset": self.charset, "source": self.source, "errors": self.errors,
                "replacement": self.replacement, "signs": {k: round(v, 2) for k, v in self.signs.items()},
                "score": round(self.score, 2), "chosen": chosen}


@dataclass
class Decoded:
    text: str
    charset: str
    reason: str
    tried: list[str] = field(default_factory=list)
    replaced: int = 0  # undecodable bytes and replacement characters removed from the text
    candidates: list[dict] = field(default_factory=list)  # every candidate scored (``charset_candidates``)
    flag: str | None = None  # set when even the chosen candidate reads with problems past tolerance
    suspects: int = 0  # the chosen candidate's problems when flagged (for the quality verdict's garbled share)


def _canonical(name: str | None) -> str | None:
    if not name:
        return None
    raw = name.strip().strip("\"'").lower()
    if raw in SUPERSETS:
        return SUPERSETS[raw]
    try:
        codec = codecs.lookup(raw).name
    except LookupError:
        return None
    if codec in NOT_WEB_CHARSETS:
        return None
    return SUPERSETS.get(codec, codec)


def declared_charset(raw: bytes) -> str | None:
    head = raw[:8192]
    match = META_CHARSET.search(head) or XML_ENCODING.search(head)
    return match.group(1).decode("ascii", "ignore") if match else None


def claimed_language(raw: bytes) -> str | None:
    match = HTML_LANG.search(raw[:8192])
    return match.group(1).decode("ascii").lower() if match else None


def sample_of(text: str) -> str:
    """What is scored of a long text: its first half-sample (head, title, navigation) and the half-sample around its
    middle (where the story usually is)."""
    if len(text) <= SAMPLE:
        return text
    middle = len(text) // 2
    return text[:SAMPLE // 2] + "\n" + text[middle - SAMPLE // 4:middle + SAMPLE // 4]


def _sequences(sample: str, letters: list[int]) -> tuple[int, int]:
    """UTF-8 read as Latin (a lead byte's letter followed by its continuation bytes' symbols), and runs of three or
    more accented letters, found from the positions of the Latin-1 letters alone (a handful on most pages)."""
    utf8 = runs = 0
    run_end = run_length = -1
    size = len(sample)
    for at in letters:
        code = ord(sample[at])
        follow = 1 if code <= 0xDF else 2 if code <= 0xEF else 3 if code <= 0xF4 else 0
        if code >= 0xC2 and follow and at + follow < size and \
                all(sample[at + k] in _CONT_CHARS for k in range(1, follow + 1)):
            utf8 += 1
        run_length = run_length + 1 if at == run_end + 1 else 1
        run_end = at
        if run_length == 3:
            runs += 1
    return utf8, runs


def _signs(text: str, language: str | None) -> dict[str, float]:
    """Signs of a wrong reading in ``text``, each counted (Chinese characters weighted by how improbable).

    One pass finds the suspect characters (controls, Latin-1, private use, rare Chinese): on most pages a few
    dozen, counted by kind; the sequences are looked for only around Latin-1 letters, when there are any."""
    sample = sample_of(text)
    stats = {"_chars": len(sample), "_han": 0, "_rare": 0, "_non_ascii": 0}
    if sample.isascii():
        return stats
    signs: dict[str, float] = {}
    found = "".join(_SUSPECT.findall(sample))
    controls = len(_CONTROLS.findall(found))
    latin = len(_LATIN_1.findall(found))
    private = len(_PRIVATE_USE.findall(found))
    rare = len(found) - controls - latin - private
    # Latin-1 letters: what UTF-8 lead bytes and multi-byte text read as Latin look like. Their places, if any.
    if _LETTER.search(found):
        utf8, runs = _sequences(sample, [match.start() for match in _LETTER.finditer(sample)])
        if utf8:
            signs["utf8_as_latin"] = utf8
        if runs:
            signs["latin_runs"] = runs
    if controls:
        signs["controls"] = controls
    if private:
        signs["private_use"] = private
    foreign = language is not None and language not in CJK_LANGUAGES
    han = 0
    if foreign:
        han = len(_HAN.findall(sample))
    elif rare > 2:  # the tolerance only matters past 2: wide characters (3-byte UTF-8) stand for the Chinese ones
        han = (len(sample.encode("utf-8", "surrogatepass")) - len(sample)) // 2
    weighted = rare + 0.25 * (han - rare) if foreign else rare  # Chinese on a page claiming English: a little suspect
    if weighted:
        signs["improbable_cjk"] = weighted
    stats.update(_han=han, _rare=rare)
    if signs.get("utf8_as_latin", 0) + signs.get("latin_runs", 0) > 3 or private > 10:
        stats["_non_ascii"] = len(_NON_ASCII.findall(sample))
    return {**signs, **stats}


def score(candidate: Candidate, language: str | None, utf8_multibyte: Callable[[], int] = lambda: 0,
          single_byte: bool = False) -> Candidate:
    """Count the candidate's problems; ``acceptable`` when they are within what real pages have.

    A single-byte reading (one character per byte) of bytes holding ``utf8_multibyte`` valid UTF-8 sequences
    misreads each of them, in whatever single-byte charset (Windows-1252, Mac Latin-2, KOI8-R...)."""
    signs = _signs(candidate.text, language)
    if single_byte and (multibyte := utf8_multibyte()) > signs.get("utf8_as_latin", 0):
        signs["utf8_as_latin"] = multibyte
    han, rare = signs.pop("_han", 0), signs.pop("_rare", 0)
    chars, non_ascii = signs.pop("_chars", 0), signs.pop("_non_ascii", 0)
    candidate.signs = signs
    candidate.score = candidate.errors + candidate.replacement + sum(signs.values())
    mojibake = signs.get("utf8_as_latin", 0) + signs.get("latin_runs", 0)
    # Real pages have a few of each: icon fonts' private-use characters, a stray control byte in a script, a
    # U+FFFD the site saved once, rare characters in names. Past these, the reading is wrong or the page garbled.
    candidate.acceptable = (
        candidate.errors == 0 and candidate.replacement <= 3 and mojibake <= 3 + 0.002 * non_ascii
        and signs.get("controls", 0) <= 3 + 0.001 * chars and signs.get("private_use", 0) <= 10 + 0.002 * chars
        and rare <= 2 + 0.05 * han
    )
    return candidate


def problems(candidate: Candidate) -> int:
    """What a reader of the chosen text would still stumble over that neither the dropped bytes nor the quality
    verdict's own count of replacement, private-use and control characters in the article show: mojibake and
    improbable characters."""
    return int(round(candidate.signs.get("utf8_as_latin", 0) + candidate.signs.get("latin_runs", 0)
                     + candidate.signs.get("improbable_cjk", 0)))


def utf8_sequences(raw: bytes) -> int:
    """How many valid multi-byte UTF-8 sequences the bytes hold: each one is a mojibake spot for a single-byte
    reading (genuine Latin-1 or Windows-1251 text rarely forms one by chance)."""
    return len(_NON_ASCII.findall(raw[:SAMPLE].decode("utf-8", errors="replace")))


def _read(raw: bytes, candidate: Candidate, language: str | None, utf8_multibyte: Callable[[], int]) -> Candidate | None:
    try:
        candidate.text = raw.decode(candidate.charset)
    except LookupError:
        return None
    except (UnicodeError, ValueError):
        try:
            text = raw.decode(candidate.charset, errors="replace")
        except (LookupError, UnicodeError, ValueError):
            return None
        literal = raw.count(b"\xef\xbf\xbd") if candidate.charset == "utf-8" else 0
        spans = len(_REPLACEMENT_RUNS.findall(text))
        candidate.dropped = max(text.count("\ufffd") - literal, 1)
        candidate.errors = max(spans - literal, 1)
        candidate.replacement = literal
        candidate.text = text
    else:
        candidate.replacement = candidate.text.count("\ufffd")
    candidate.single_byte = len(candidate.text) == len(raw)
    return score(candidate, language, utf8_multibyte, candidate.single_byte)


def _single_bytes(error: UnicodeEncodeError) -> tuple[bytes, int]:
    """Encode-error handler for undoing a Windows-1252 reading: C1 controls (what Latin-1 made of 0x81, 0x8D...)
    go back to their byte; anything else was never a single-byte reading."""
    part = error.object[error.start:error.end]
    if all(ord(ch) < 0x100 for ch in part):
        return part.encode("latin-1"), error.end
    raise error


codecs.register_error("newswire-single-bytes", _single_bytes)

REPAIRS = (
    ("utf-8", "double-encoded (UTF-8 read as Windows-1252 and saved again) undone"),
    ("gb18030", "GB18030 text read as Latin and saved again: undone"),
    ("big5hkscs", "Big5 text read as Latin and saved again: undone"),
)


def _repair(text: str, target: str) -> str | None:
    """Text once read as Windows-1252 (or Latin-1) and saved again: its bytes read as ``target``, if that works.

    The whole text first; for UTF-8 (self-synchronising) each run of Latin-looking characters on its own, so a page
    whose body alone was double-encoded is mended around markup or quotes that never were."""
    try:
        return text.encode("cp1252", errors="newswire-single-bytes").decode(target)
    except (UnicodeEncodeError, UnicodeDecodeError):
        pass
    if target != "utf-8":
        return None
    changed = False

    def mend(match: re.Match) -> str:
        nonlocal changed
        run = match.group(0)
        try:
            fixed = run.encode("cp1252", errors="newswire-single-bytes").decode("utf-8")
        except (UnicodeEncodeError, UnicodeDecodeError):
            return run
        changed = changed or fixed != run
        return fixed

    mended = _REPAIRABLE.sub(mend, text)
    return mended if changed else None


def _tried_line(candidate: Candidate, suffix: str = "") -> str:
    if candidate.errors:
        return f"{candidate.charset}: {candidate.dropped} undecodable{suffix}"
    if candidate.acceptable:
        return f"{candidate.charset}: ok{suffix}"
    return f"{candidate.charset}: decodes but reads as mojibake ({candidate.summary()}){suffix}"


def decode_html(raw: bytes, http_charset: str | None = None) -> Decoded:
    for bom, name in ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be")):
        if raw.startswith(bom):
            text = raw[len(bom):].decode(name, errors="replace")
            replaced = text.count("\ufffd")
            return Decoded(text.replace("\ufffd", ""), name, "byte order mark", [f"{name} (BOM)"], replaced,
                           [{"charset": name, "source": "byte order mark", "errors": replaced, "chosen": True}])
    if raw.isascii():
        text = raw.decode("ascii")
        return Decoded(text, "utf-8", "ASCII only", ["utf-8: ok"], 0,
                       [{"charset": "utf-8", "source": "ASCII only", "errors": 0, "chosen": True}])
    language = claimed_language(raw)
    counted: list[int] = []

    def multibyte() -> int:  # counted once, and only if a single-byte candidate is scored
        if not counted:
            counted.append(utf8_sequences(raw))
        return counted[0]
    primary: list[Candidate] = []
    if (name := _canonical(http_charset)) is not None:
        primary.append(Candidate(name, f"HTTP charset {http_charset}", 0))
    primary.append(Candidate("utf-8", "strict UTF-8", 1))
    declared = declared_charset(raw)
    if (name := _canonical(declared)) is not None:
        primary.append(Candidate(name, f"declared charset {declared}" +
                                 (f" read as {name}" if name != declared.lower() else ""), 2))
    tried: list[str] = []
    scored: list[Candidate] = []
    seen: set[str] = set()

    def consider(candidate: Candidate, suffix: str = "") -> Candidate | None:
        if candidate.charset in seen and not suffix:
            return None
        seen.add(candidate.charset)
        if _read(raw, candidate, language, multibyte) is None:
            tried.append(f"{candidate.charset}: unknown")
            return None
        tried.append(_tried_line(candidate, suffix))
        scored.append(candidate)
        return candidate

    for candidate in primary:
        if (done := consider(candidate)) is not None and done.score == 0:
            break  # nothing can read better, and nothing after it has a better claim
    best = _best(scored)
    if not best.acceptable:
        for base in list(scored):
            if base.single_byte or not (base.signs.get("utf8_as_latin") or base.signs.get("latin_runs")):
                continue  # a single-byte reading's "repair" is only another reading of the bytes: the rescue's
            for target, how in REPAIRS:
                if (text := _repair(base.text, target)) is not None:
                    repaired = score(Candidate(base.charset, f"{base.source}, {how}", base.priority + 10, text),
                                     language)
                    tried.append(_tried_line(repaired, f" ({target} inside, repaired)"))
                    scored.append(repaired)
        best = _best(scored)
    if not best.acceptable:
        rescue = [Candidate(guess, "detected", 20)] if (guess := _detect(raw)) is not None else []
        rescue += [Candidate("gb18030", "no charset reads cleanly: GB18030 tried", 21),
                   Candidate("big5hkscs", "no charset reads cleanly: Big5-HKSCS tried", 22)]
        for candidate in rescue:
            if candidate.charset not in seen:
                consider(candidate, " (detected)" if candidate.source == "detected" else " (rescue)")
        best = _best(scored)
    return _decoded(best, scored, tried)


def _best(scored: list[Candidate]) -> Candidate:
    if not scored:
        return Candidate("utf-8", "nothing decodes", 99)
    return min(scored, key=lambda c: (c.score, c.priority))


def _decoded(best: Candidate, scored: list[Candidate], tried: list[str]) -> Decoded:
    text = best.text
    reason = best.source
    claims = [c for c in scored if c is not best and c.priority < best.priority and c.source.startswith(("HTTP", "declared"))]
    for claim in claims:
        reason += f"; {claim.source.split(' read as ')[0]} reads worse ({claim.summary()})"
    removed = text.count("\ufffd")
    if removed:
        text = text.replace("\ufffd", "")
        reason += f", {removed} undecodable bytes dropped"
    flag = None
    suspects = 0
    if not best.acceptable:
        suspects = problems(best)
        flag = f"no charset reads cleanly: {best.charset} chosen with the fewest problems ({best.summary()})"
        reason += " (the fewest problems of every candidate)"
    return Decoded(text, best.charset, reason, tried, removed,
                   [c.as_dict(c is best) for c in scored], flag, suspects)


def reads_as_mojibake(text: str) -> bool:
    """Does decoded text still read as mojibake (UTF-8 read as a single-byte charset, C1 controls)?"""
    sample = text[:20000]
    return len(_UTF8_AS_LATIN.findall(sample)) + len(_CONTROLS.findall(sample)) > 3 \
        or len(_LATIN_RUNS.findall(sample)) > 10


def _detect(raw: bytes) -> str | None:
    from charset_normalizer import from_bytes

    guess = from_bytes(raw[:200_000]).best()
    if guess is None:
        return None
    return _canonical(guess.encoding) or guess.encoding
