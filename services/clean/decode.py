"""Bytes to text, recording which charset was used and why.

A first cut (issue 4 deepens it): BOM, then the HTTP charset, then the
document's own <meta> charset, then strict UTF-8, then detection; legacy
Chinese charsets are read as their superset (GB2312/GBK -> GB18030).
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

SUPERSETS = {"gb2312": "gb18030", "gbk": "gb18030", "x-gbk": "gb18030", "big5": "big5hkscs",
             "iso-8859-1": "cp1252", "latin-1": "cp1252", "ascii": "cp1252", "us-ascii": "cp1252"}
META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([a-zA-Z0-9_\-:.]+)""", re.IGNORECASE)


@dataclass
class Decoded:
    text: str
    charset: str
    reason: str


def _canonical(name: str | None) -> str | None:
    if not name:
        return None
    try:
        codec = codecs.lookup(name.strip().lower()).name
    except LookupError:
        return None
    return SUPERSETS.get(codec, SUPERSETS.get(name.strip().lower(), codec))


def decode_html(raw: bytes, http_charset: str | None = None) -> Decoded:
    for bom, name in ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be")):
        if raw.startswith(bom):
            return Decoded(raw[len(bom):].decode(name, errors="replace"), name, "byte order mark")
    candidates: list[tuple[str, str]] = []
    if (name := _canonical(http_charset)) is not None:
        candidates.append((name, "HTTP charset"))
    match = META_CHARSET.search(raw[:4096])
    if match and (name := _canonical(match.group(1).decode("ascii", "ignore"))) is not None:
        candidates.append((name, "meta charset"))
    candidates.append(("utf-8", "strict UTF-8"))
    best: tuple[int, str, str, str] | None = None
    for name, reason in candidates:
        try:
            return Decoded(raw.decode(name), name, reason)
        except (UnicodeDecodeError, LookupError):
            text = raw.decode(name, errors="replace")
            errors = text.count("\ufffd")
            if best is None or errors < best[0]:
                best = (errors, text, name, reason)
    from charset_normalizer import from_bytes

    guess = from_bytes(raw[:200_000]).best()
    if guess is not None:
        name = SUPERSETS.get(guess.encoding, guess.encoding)
        try:
            return Decoded(raw.decode(name), name, "detected")
        except (UnicodeDecodeError, LookupError):
            pass
    assert best is not None
    return Decoded(best[1], best[2], f"{best[3]} with {best[0]} undecodable bytes replaced")
