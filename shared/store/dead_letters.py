"""Dead letters: the record of work that failed for good, for an operator to read and act on."""

from __future__ import annotations

from typing import Any

from shared.jobs import set_fetch_state
from shared.payload import article_id_for
from shared.store.db import session_scope
from shared.store.models import DeadLetter


def record_dead_letter(
    *,
    stage: str,
    task: str,
    payload: dict[str, Any],
    error: BaseException | str,
    attempts: int,
) -> int:
    reason = getattr(error, "reason", None) or str(error) or type(error).__name__
    error_type = type(error).__name__ if isinstance(error, BaseException) else "Error"
    article_id = url = None
    if isinstance(payload, dict):
        url = payload.get("url") if isinstance(payload.get("url"), str) else None
        article_id = payload.get("id") or (article_id_for(url) if url else None)
    with session_scope() as session:
        letter = DeadLetter(
            stage=stage,
            task=task,
            article_id=article_id,
            url=url,
            payload=payload if isinstance(payload, dict) else {"raw": repr(payload)[:10000]},
            error=str(reason)[:10000],
            error_type=error_type,
            attempts=attempts,
        )
        session.add(letter)
        session.flush()
        letter_id = letter.id
    if isinstance(payload, dict) and isinstance(payload.get("fetch_id"), str):
        set_fetch_state(payload["fetch_id"], "failed", stage=stage, error=str(reason), dead_letter=letter_id)
    return letter_id
