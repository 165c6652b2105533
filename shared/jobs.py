"""What became of one intake (a fetch id): kept in Redis for a day, read by ``newswire ingest --wait``."""

from __future__ import annotations

import json
from typing import Any

FETCH_STATE_TTL = 24 * 3600


def _key(fetch_id: str) -> str:
    return f"newswire:fetch:{fetch_id}"


def set_fetch_state(fetch_id: str, state: str, **info: Any) -> None:
    from shared.redis_client import get_redis

    try:
        get_redis().set(_key(fetch_id), json.dumps({"state": state, **info}, default=str), ex=FETCH_STATE_TTL)
    except Exception:  # noqa: BLE001  (best effort: the store holds the truth)
        pass


def get_fetch_state(fetch_id: str) -> dict[str, Any] | None:
    from shared.redis_client import get_redis

    raw = get_redis().get(_key(fetch_id))
    return json.loads(raw) if raw else None
