"""Bytes to text, recording which charset was used and why.

Candidates, in order: a byte order mark (final), strict UTF-8, the HTTP charset, the document's declared
charset (<meta charset>, <meta http-equiv>, <?xml encoding?>), each legacy charset read as its superset
(GB2312/GBK -> GB18030, Big5 -> Big5-HKSCS, Latin-1/ASCII -> Windows-1252), then detection
(charset-normalizer) last. Each candidate is tried strictly; among those that decode, the first in that order
wins unless it reads as mojibake (UTF-8 read as a single-byte charset, or Chinese bytes read as Latin) and a later
one does not. If none decodes strictly, the one with the fewest undecodable bytes wins and its replacement
characters are removed from the text (counted in the reason), so no U+FFFD reaches the article.

Valid UTF-8 with non-ASCII bytes beats a declared (or HTTP) legacy charset: a GB2312 page re-saved as UTF-8
keeps its old <meta> (it happens), while real GBK text almost never passes a strict UTF-8 decode, and GB18030
would "decode" many UTF-8 byte sequences without an error into nonsense.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass, field

SUPERSETS = {"gb2312": "gb18030", "gbk": "gb18030", "x-gbk": "gb18030", "gb_2312-80": "gb18030",
             "euc-cn": "gb18030", "hz-gb-2312": "gb18030", "big5": "big5hkscs", "cp950": "big5hkscs",
             "iso8859-1": "cp1252", "iso-8859-1": "cp1252", "latin-1": "cp1252", "latin_1": "cp1252",
             "ascii": "cp1252", "us-ascii": "cp1252", "euc_kr": "cp949", "euc-kr": "cp949",
             "shift_jis": "cp932", "sjis": "cp932", "tis-620": "cp874"}
META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([a-zA-Z0-9_\-:.]+)""", re.IGNORECASE)
XML_ENCODING = re.compile(rb"""<\?xml[^>]+encoding\s*=\s*["']([a-zA-Z0-9_\-:.]+)""", re.IGNORECASE)
# Typical of UTF-8 read as a single-byte charset: Ã©, â€™, Â, Ã¤ ...
_MOJIBAKE = re.compile("[ÃÂâ][\u0080-\u00bf\u2018-\u203a\u0152-\u0178]|[\u0080-\u009f]")
# Multi-byte text (GBK, Big5, Shift-JIS) read as Latin: long runs of accented letters no European word has.
_LATIN_RUNS = re.compile("[\u00c0-\u00ff]{3,}")
_SINGLE_BYTE = {"cp1252", "cp1251", "cp1250", "cp874", "latin_1", "iso8859-15", "koi8-r", "mac-roman"}


@dataclass
class Decoded:
    text: str
    charset: str
    reason: str
    tried: list[str] = field(default_factory=list)
    replaced: int = 0


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
    return SUPERSETS.get(codec, codec)


def declared_charset(raw: bytes) -> str | None:
    head = raw[:8192]
    match = META_CHARSET.search(head) or XML_ENCODING.search(head)
    return match.group(1).decode("ascii", "ignore") if match else None


def _mojibake(text: str, charset: str) -> bool:
    """Does this decode look wrong? UTF-8 sequences read as Latin, or C1 control characters."""
    sample = text[:20000]
    return len(_MOJIBAKE.findall(sample)) > 3 or len(_LATIN_RUNS.findall(sample)) > 10


def reads_as_mojibake(text: str) -> bool:
    """Does decoded text still read as mojibake (UTF-8 read as a single-byte charset, C1 controls)?"""
    return _mojibake(text, "")


def decode_html(raw: bytes, http_charset: str | None = None) -> Decoded:
    for bom, name in ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be")):
        if raw.startswith(bom):
            text = raw[len(bom):].decode(name, errors="replace")
            replaced = text.count("\ufffd")
            return Decoded(text.replace("\ufffd", ""), name, "byte order mark", [f"{name} (BOM)"], replaced)
    candidates: list[tuple[str, str]] = []
    ascii_only = raw.isascii()
    if not ascii_only:
        candidates.append(("utf-8", "strict UTF-8"))
    if (name := _canonical(http_charset)) is not None:
        candidates.append((name, f"HTTP charset {http_charset}"))
    declared = declared_charset(raw)
    declared_name = _canonical(declared)
    if declared_name is not None:
        candidates.append((declared_name, f"declared charset {declared}" +
                           (f" read as {declared_name}" if declared_name != declared.lower() else "")))
    if ascii_only:
        candidates.append(("utf-8", "ASCII only"))
    tried: list[str] = []
    suspicious: list[tuple[str, str, str]] = []
    best: tuple[int, str, str, str] | None = None
    seen: set[str] = set()
    for name, reason in candidates:
        if name in seen:
            continue
        seen.add(name)
        try:
            text = raw.decode(name)
        except (UnicodeDecodeError, LookupError):
            try:
                text = raw.decode(name, errors="replace")
            except LookupError:
                tried.append(f"{name}: unknown")
                continue
            errors = text.count("\ufffd")
            tried.append(f"{name}: {errors} undecodable")
            if best is None or errors < best[0]:
                best = (errors, text, name, reason)
            continue
        if name in _SINGLE_BYTE and _mojibake(text, name):
            tried.append(f"{name}: decodes but reads as mojibake")
            suspicious.append((text, name, reason))
            continue
        tried.append(f"{name}: ok")
        if name == "utf-8" and _mojibake(text, name) and (repaired := _undo_double_utf8(text)) is not None:
            tried.append("utf-8 read twice: undone")
            return Decoded(repaired, name, f"{reason}, double-encoded (UTF-8 read as Windows-1252 and saved again) "
                           "undone", tried)
        return Decoded(text, name, reason, tried)
    if best is not None and best[0] <= max(3, 0.01 * sum(1 for ch in best[1] if ord(ch) > 127)):
        # A handful of bad bytes in otherwise good text (a truncated sequence, a stray byte): keep the
        # declared reading; detection would take the whole page for a single-byte charset.
        errors, text, name, reason = best
        return Decoded(text.replace("\ufffd", ""), name, f"{reason}, {errors} undecodable bytes dropped", tried, errors)
    guess = _detect(raw)
    if guess is not None and guess not in seen:
        try:
            text = raw.decode(guess)
            tried.append(f"{guess}: ok (detected)")
            return Decoded(text, guess, "detected", tried)
        except (UnicodeDecodeError, LookupError):
            text = raw.decode(guess, errors="replace")
            errors = text.count("\ufffd")
            tried.append(f"{guess}: {errors} undecodable (detected)")
            if best is None or errors < best[0]:
                best = (errors, text, guess, "detected")
    if suspicious:
        text, name, reason = suspicious[0]
        return Decoded(text, name, f"{reason} (looks like mojibake; nothing better decodes)", tried)
    if best is None:
        text = raw.decode("utf-8", errors="replace")
        best = (text.count("\ufffd"), text, "utf-8", "nothing decodes")
    errors, text, name, reason = best
    return Decoded(text.replace("\ufffd", ""), name, f"{reason}, {errors} undecodable bytes dropped", tried, errors)


def _undo_double_utf8(text: str) -> str | None:
    """Text whose UTF-8 bytes were once read as Windows-1252 (or Latin-1) and saved as UTF-8 again (é -> Ã©): the
    original, if the whole text turns back into valid UTF-8 and reads with fewer mojibake marks; else None."""
    raw = bytearray()
    for ch in text:
        code = ord(ch)
        if code < 0x100:
            raw.append(code)
            continue
        try:
            raw += ch.encode("cp1252")
        except UnicodeEncodeError:
            return None  # a character neither charset has: this text was never UTF-8 read as a single-byte one
    try:
        fixed = bytes(raw).decode("utf-8")
    except UnicodeDecodeError:
        return None
    sample = slice(0, 20000)
    return fixed if len(_MOJIBAKE.findall(fixed[sample])) < len(_MOJIBAKE.findall(text[sample])) else None


def _detect(raw: bytes) -> str | None:
    from charset_normalizer import from_bytes

    guess = from_bytes(raw[:200_000]).best()
    if guess is None:
        return None
    return _canonical(guess.encoding) or guess.encoding
