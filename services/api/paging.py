"""Cursor paging, the same on every list of the API: ``?limit=N&cursor=C`` in, ``{"items": [...], "next_cursor": C}``
out (``null`` on the last page).

A cursor is opaque to clients: URL-safe base64 of a small JSON object holding the sort key of the last item shown
(keyset paging: stable while rows are added, no OFFSET scans). A cursor that does not decode answers 400.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from fastapi import HTTPException, Query

LIMIT = Query(50, ge=1, le=500, description="Items per page (1-500)")
CURSOR = Query(None, max_length=512, description="The next_cursor of the previous page (opaque)")


def encode(**values: Any) -> str:
    raw = json.dumps(values, separators=(",", ":"), default=str).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode(cursor: str | None, *keys: str) -> dict[str, Any] | None:
    """The values of a cursor made by :func:`encode` with ``keys`` (400 if it is not one)."""
    if not cursor:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if not isinstance(values, dict) or set(values) != set(keys):
            raise ValueError("wrong keys")
        return values
    except Exception as exc:  # noqa: BLE001
        raise HTTPException(400, "invalid cursor: pass the next_cursor of a previous answer, unchanged") from exc


def int_key(values: dict[str, Any] | None, key: str) -> int | None:
    if values is None:
        return None
    value = values[key]
    if isinstance(value, bool) or not isinstance(value, int):
        raise HTTPException(400, "invalid cursor")
    return value


def page(rows: list[Any], limit: int, cursor_of: Any) -> tuple[list[Any], str | None]:
    """``rows`` fetched with ``limit + 1``: the page, and the cursor of its last row if there is more."""
    if len(rows) > limit:
        return rows[:limit], cursor_of(rows[limit - 1])
    return rows, None
