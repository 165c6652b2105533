"""Entry dates the usual parsers miss: localised RFC 822 names, "YYYY/M/D h:m:s", 年月日, zone-less stamps.

A date with no zone stays naive (wall-clock as written): we never invent a zone.
Registered with feedparser (``install()``), so its own handlers are the fallback.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_tz

# Month and weekday names of the languages feeds are written in, to English.
_MONTHS = {
    # Italian, French, German, Spanish, Portuguese, Dutch (full and short forms)
    "gen": "Jan", "gennaio": "Jan", "febbraio": "Feb", "marzo": "Mar", "aprile": "Apr", "mag": "May",
    "maggio": "May", "giu": "Jun", "giugno": "Jun", "lug": "Jul", "luglio": "Jul", "ago": "Aug", "agosto": "Aug",
    "set": "Sep", "settembre": "Sep", "ott": "Oct", "ottobre": "Oct", "novembre": "Nov", "dic": "Dec",
    "dicembre": "Dec", "janv": "Jan", "janvier": "Jan", "févr": "Feb", "fevr": "Feb", "février": "Feb",
    "mars": "Mar", "avr": "Apr", "avril": "Apr", "mai": "May", "juin": "Jun", "juil": "Jul", "juillet": "Jul",
    "août": "Aug", "aout": "Aug", "sept": "Sep", "septembre": "Sep", "octobre": "Oct", "décembre": "Dec",
    "decembre": "Dec", "januar": "Jan", "februar": "Feb", "märz": "Mar", "maerz": "Mar", "mrz": "Mar", "juni": "Jun",
    "juli": "Jul", "okt": "Oct", "oktober": "Oct", "dez": "Dec", "dezember": "Dec", "ene": "Jan", "enero": "Jan",
    "febrero": "Feb", "abr": "Apr", "abril": "Apr", "mayo": "May", "junio": "Jun", "julio": "Jul",
    "septiembre": "Sep", "octubre": "Oct", "noviembre": "Nov", "diciembre": "Dec", "janeiro": "Jan",
    "fev": "Feb", "fevereiro": "Feb", "março": "Mar", "marco": "Mar", "maio": "May", "junho": "Jun",
    "julho": "Jul", "out": "Oct", "outubro": "Oct", "dez.": "Dec", "dezembro": "Dec", "januari": "Jan",
    "februari": "Feb", "maart": "Mar", "mei": "May", "augustus": "Aug", "december": "Dec",
}
_ENGLISH = {"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"}
_ENGLISH_DAYS = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"}
_WEEKDAY = re.compile(r"^\s*[^\W\d_]{2,12}\.?,\s*", re.UNICODE)
_SLASHED = re.compile(
    r"^\s*(\d{4})[/.](\d{1,2})[/.](\d{1,2})(?:[ T]+(\d{1,2}):(\d{2})(?::(\d{2}))?)?\s*(Z|[+-]\d{2}:?\d{2})?\s*$"
)
_HAN = re.compile(r"^\s*(\d{4})年(\d{1,2})月(\d{1,2})日\s*(?:(\d{1,2})[:：时](\d{2})(?:[:：分](\d{2}))?秒?)?\s*$")
_ISO_NAIVE = re.compile(r"^\s*(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2})(?::(\d{2}))?(?:\.\d+)?\s*$")
_ZONED_END = re.compile(r"(?:Z|[+-]\d{2}:?\d{2}|\b(?:GMT|UTC|UT|[ECMP][SD]T|Z))\s*$", re.IGNORECASE)


def _zone(text: str | None) -> timezone | None:
    if not text:
        return None
    if text.upper() == "Z":
        return timezone.utc
    sign = 1 if text[0] == "+" else -1
    digits = text[1:].replace(":", "")
    return timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:4])))


def _build(groups: tuple, zone: timezone | None) -> datetime | None:
    year, month, day, hour, minute, second = (int(g) if g else 0 for g in groups[:6])
    try:
        value = datetime(year, month, day, hour, minute, second)
    except ValueError:
        return None
    return value.replace(tzinfo=zone) if zone else value


_DATE_ONLY = re.compile(r"^\s*\d{4}(-\d{2}){0,2}\s*$")


def has_zone(raw: str) -> bool:
    """Whether the written date names its zone (a bare date, W3C-DTF, is a UTC day)."""
    return bool(_DATE_ONLY.match(raw)) or bool(_ZONED_END.search(raw.strip())) or bool(re.search(r"T\d{2}:\d{2}(:\d{2})?(\.\d+)?(Z|[+-]\d{2})", raw))


def parse_date(raw: str | None) -> datetime | None:
    """A datetime from the forms feedparser misses or misreads; aware when the text names a zone, else naive."""
    if not raw or not isinstance(raw, str):
        return None
    text = raw.strip()
    if match := _SLASHED.match(text):
        return _build(match.groups()[:6], _zone(match.group(7)))
    if match := _HAN.match(text):
        return _build(match.groups(), None)
    if match := _ISO_NAIVE.match(text):
        return _build(match.groups(), None)
    return _localised_rfc822(text)


def _localised_rfc822(text: str) -> datetime | None:
    weekday = _WEEKDAY.match(text)
    body = text[weekday.end():] if weekday else text
    words = body.split()
    if len(words) < 3:
        return None
    # A weekday name that is not English ("mer,", "Di,") is what strict parsers stumble on.
    changed = bool(weekday) and weekday.group(0).strip(" ,.").lower()[:3] not in _ENGLISH_DAYS
    for index, word in enumerate(words[:3]):
        key = word.lower().rstrip(".,")
        if key in _ENGLISH:
            continue
        if key in _MONTHS:
            words[index] = _MONTHS[key]
            changed = True
    if not changed:
        return None
    return rfc822(" ".join(words))


def rfc822(raw: str) -> datetime | None:
    """RFC 822 with any weekday name (or none): aware when a zone is written, else naive wall-clock."""
    parsed = parsedate_tz(_WEEKDAY.sub("", raw.strip()))
    if parsed is None:
        return None
    try:
        naive = datetime(*parsed[:6])
    except ValueError:
        return None
    if not _RFC822_ZONE.search(raw.strip()):
        return naive  # parsedate_tz says +0000 when no zone is written: we do not invent one
    return naive.replace(tzinfo=timezone(timedelta(seconds=parsed[9] or 0)))


_RFC822_ZONE = re.compile(r"\d{1,2}:\d{2}(?::\d{2})?(?:\.\d+)?\s*(?:[A-Za-z]{1,5}|[+-]\d{2}:?\d{2})\s*$")


def _feedparser_handler(raw: str):  # noqa: ANN202  (feedparser wants a 9-tuple in UTC, or None)
    value = parse_date(raw)
    if value is None:
        return None
    if value.tzinfo is not None:
        value = value.astimezone(timezone.utc)
    return value.timetuple()


_installed = False


def install() -> None:
    """Put our handler in front of feedparser's own (they still parse everything else)."""
    global _installed
    if not _installed:
        import feedparser

        feedparser.registerDateHandler(_feedparser_handler)
        _installed = True
