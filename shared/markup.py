"""Guards for untrusted markup that parsers themselves do not bound.

Both libxml2's HTML parser and feedparser's XML handler check each attribute of a start tag against the tag's
earlier ones, so the time grows with the square of the count: one tag with 100,000 attributes holds a worker for
minutes. No real page or feed puts more than a few dozen on one tag; :func:`trim_attributes` keeps the first
``limit`` of each start tag longer than 4 KiB (shorter tags cannot hold enough to matter) before a parser sees it.
"""

from __future__ import annotations

import re
from typing import AnyStr

MAX_ATTRIBUTES = 64

_LONG_TAG = {str: re.compile(r"<([A-Za-z_][\w:.-]*)([^<>]{4096,})>"),
             bytes: re.compile(rb"<([A-Za-z_][\w:.-]*)([^<>]{4096,})>")}
_ATTRIBUTE = {str: re.compile(r"""[^\s=>/"']+(?:\s*=\s*(?:"[^"]*"|'[^']*'|[^\s>]*))?"""),
              bytes: re.compile(rb"""[^\s=>/"']+(?:\s*=\s*(?:"[^"]*"|'[^']*'|[^\s>]*))?""")}


def trim_attributes(markup: AnyStr, limit: int = MAX_ATTRIBUTES) -> AnyStr:
    """``markup`` with every start tag cut to its first ``limit`` attributes."""
    kind = type(markup)
    attribute = _ATTRIBUTE[kind]
    space, opening, closing = (" ", "<", ">") if kind is str else (b" ", b"<", b">")

    def trim(match: re.Match) -> AnyStr:
        found = attribute.findall(match.group(2))
        if len(found) <= limit:
            return match.group(0)
        return opening + match.group(1) + space + space.join(found[:limit]) + closing

    return _LONG_TAG[kind].sub(trim, markup)
