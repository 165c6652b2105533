"""What an operator can do from the console: replay or discard dead letters, pause/resume/fetch a source.

Plain functions; the routes check the token and write the audit log around them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


from shared.store import DeadLetter, Delivery, Source, session_scope
from shared.telemetry import get_logger

log = get_logger(__name__)
BULK_LIMIT = 1000


class ActionError(Exception):
    """An action that cannot be done (unknown id, wrong state): answered 404/409 with the reason."""

    def __init__(self, message: str, status: int = 409) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class BulkResult:
    done: list[int] = field(default_factory=list)
    failed: dict[int, str] = field(default_factory=dict)
    more: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {"done": self.done, "failed": {str(k): v for k, v in self.failed.items()}, "count": len(self.done),
                "more_remain": self.more}


def _send(task: str, args: list[Any], kwargs: dict[str, Any] | None = None) -> str:
    from shared.celery_app import app as celery

    return celery.send_task(task, args=args, kwargs=kwargs or {}).id


def replay_message(letter: DeadLetter, session: Any) -> str:
    """Send the stored payload back to its task, with its arguments; returns the new task id.

    - publish.deliver: the delivery row is set back to pending first (it was failed), then its task is sent;
    - a letter written by on_failure holds {"args": [...], "kwargs": {...}}: sent as such;
    - otherwise the payload is the task's one argument (the article or intake message).
    """
    payload = letter.payload if isinstance(letter.payload, dict) else {}
    if letter.task == "publish.deliver" and isinstance(payload.get("delivery_id"), int):
        delivery = session.get(Delivery, payload["delivery_id"])
        if delivery is None:
            raise ActionError(f"delivery {payload['delivery_id']} no longer exists")
        if delivery.status == "delivered":
            raise ActionError(f"delivery {delivery.id} was delivered since: nothing to replay")
        delivery.status, delivery.next_attempt_at, delivery.claimed_until = "pending", None, None
        session.flush()
        session.commit()  # hand-off after commit: the row is pending before its task can run
        return _send("publish.deliver", [delivery.id])
    if set(payload) == {"args", "kwargs"} and isinstance(payload["args"], list):
        return _send(letter.task, payload["args"], payload.get("kwargs") or {})
    if "raw" in payload and len(payload) == 1:
        raise ActionError("this dead letter's payload was not JSON: it cannot be replayed")
    return _send(letter.task, [payload])


def replay(letter_ids: list[int]) -> BulkResult:
    result = BulkResult()
    for letter_id in letter_ids[:BULK_LIMIT]:
        try:
            with session_scope() as session:
                letter = session.get(DeadLetter, letter_id)
                if letter is None:
                    raise ActionError(f"no dead letter {letter_id}", 404)
                if letter.status == "discarded":
                    raise ActionError(f"dead letter {letter_id} was discarded")
                task_id = replay_message(letter, session)
                letter = session.get(DeadLetter, letter_id)
                letter.status = "replayed"
            log.info("dead letter %d replayed as task %s", letter_id, task_id)
            result.done.append(letter_id)
        except ActionError as exc:
            result.failed[letter_id] = str(exc)
        except Exception as exc:  # noqa: BLE001
            log.exception("replay of dead letter %d failed", letter_id)
            result.failed[letter_id] = f"{type(exc).__name__}: {exc}"
    result.more = len(letter_ids) > BULK_LIMIT
    return result


def discard(letter_ids: list[int]) -> BulkResult:
    result = BulkResult()
    with session_scope() as session:
        for letter_id in letter_ids[:BULK_LIMIT]:
            letter = session.get(DeadLetter, letter_id)
            if letter is None:
                result.failed[letter_id] = f"no dead letter {letter_id}"
            elif letter.status != "open":
                result.failed[letter_id] = f"dead letter {letter_id} is {letter.status}, not open"
            else:
                letter.status = "discarded"
                result.done.append(letter_id)
    result.more = len(letter_ids) > BULK_LIMIT
    return result


def matching_ids(flt: Any, limit: int = BULK_LIMIT + 1) -> list[int]:
    from shared.store import DeadLetter as Letter

    with session_scope() as session:
        return list(session.execute(
            flt.query().with_only_columns(Letter.id).order_by(Letter.id).limit(limit)
        ).scalars())


# -- sources -----------------------------------------------------------------
def set_source_status(source_id: int, status: str) -> dict[str, Any]:
    """Pause (``paused``) or resume (``active``) a source the way ingest does: the schedule in Redis follows."""
    from services.ingest import sources

    before = _source_status(source_id)
    try:
        result = sources.pause(source_id) if status == "paused" else sources.resume(source_id)
    except sources.SourceError as exc:
        raise ActionError(exc.reason, exc.status) from exc
    return {"id": source_id, "status": result.get("status", status), "was": before}


def fetch_source_now(source_id: int) -> dict[str, Any]:
    from services.ingest import sources

    try:
        return sources.fetch_now(source_id)
    except sources.SourceError as exc:
        raise ActionError(exc.reason, exc.status) from exc


def _source_status(source_id: int) -> str:
    with session_scope() as session:
        source = session.get(Source, source_id)
        if source is None:
            raise ActionError(f"no source {source_id}", 404)
        return source.status


__all__ = ["replay", "discard", "matching_ids", "set_source_status", "fetch_source_now", "ActionError"]
