"""Pause and resume a stage's queue across every host: messages stay queued, nothing is lost.

Three parts, so a pause holds whatever happens to the workers:

1. The flag: ``newswire:stage:paused`` in Redis, a hash stage -> JSON {by, at, reason}. It is the truth.
2. At once: a Celery remote-control broadcast, ``cancel_consumer(stage)`` to every worker (``add_consumer`` on resume,
   to that stage's workers only, named by their heartbeats). A worker stops taking messages of the stage; the ones
   it had reserved (prefetch) come back to the queue (point 3).
3. Always: every worker reconciles itself with the flag when it is ready (so a restarted or new worker of a paused
   stage never starts consuming it) and on each heartbeat (so a worker that missed a broadcast catches up within
   seconds); and ``StageTask`` refuses to run a message of a paused stage, handing it back to the queue
   (``Reject(requeue=True)``; late acks keep it safe until then).
"""

from __future__ import annotations

import json
import threading
import time
from typing import Any

from shared.payload import utcnow
from shared.settings import STAGES
from shared.telemetry import get_logger

log = get_logger(__name__)
PAUSED_KEY = "newswire:stage:paused"
CACHE_SECONDS = 1.0

_cache: dict[str, Any] = {"at": 0.0, "paused": frozenset()}
_cache_lock = threading.Lock()


class StageError(ValueError):
    """An unknown stage."""


def _check(stage: str) -> str:
    if stage not in STAGES:
        raise StageError(f"unknown stage {stage!r}: one of {', '.join(STAGES)}")
    return stage


def _redis():  # noqa: ANN202
    from shared.redis_client import get_redis

    return get_redis()


def paused_stages() -> dict[str, dict[str, Any]]:
    """Stage -> {by, at, reason} for every paused stage."""
    found: dict[str, dict[str, Any]] = {}
    for key, value in _redis().hgetall(PAUSED_KEY).items():
        stage = key.decode() if isinstance(key, bytes) else key
        try:
            found[stage] = json.loads(value)
        except ValueError:
            found[stage] = {"by": None, "at": None, "reason": None}
    return found


def is_paused(stage: str) -> bool:
    """Whether ``stage`` is paused (read from Redis at most once a second per process; on a Redis error, not paused:
    the task then meets the same error and is retried as usual)."""
    now = time.monotonic()
    with _cache_lock:
        if now - _cache["at"] > CACHE_SECONDS:
            try:
                _cache["paused"] = frozenset(k.decode() if isinstance(k, bytes) else k
                                             for k in _redis().hkeys(PAUSED_KEY))
            except Exception as exc:  # noqa: BLE001
                log.warning("stage pause flags not readable: %s", exc)
                _cache["paused"] = frozenset()
            _cache["at"] = now
        return stage in _cache["paused"]


def _control():  # noqa: ANN202
    from shared.celery_app import app

    return app.control


def pause(stage: str, by: str, reason: str | None = None) -> dict[str, Any]:
    """Set the flag, then tell every worker to stop consuming the stage's queue. Returns the stage's view."""
    _check(stage)
    state = {"by": by, "at": utcnow().isoformat(), "reason": reason}
    _redis().hset(PAUSED_KEY, stage, json.dumps(state))
    try:
        _control().cancel_consumer(stage, reply=False)
    except Exception as exc:  # noqa: BLE001  (the flag holds; workers reconcile on their next heartbeat)
        log.warning("cancel_consumer broadcast for %s failed: %s", stage, exc)
    log.info("stage %s paused by %s", stage, by)
    return stage_view(stage)


def resume(stage: str, by: str) -> dict[str, Any]:
    """Clear the flag, then tell the stage's own workers to consume its queue again."""
    from shared.workers import live_workers

    _check(stage)
    _redis().hdel(PAUSED_KEY, stage)
    hosts = live_workers().get(stage, [])
    if hosts:
        try:
            _control().add_consumer(stage, destination=hosts, reply=False)
        except Exception as exc:  # noqa: BLE001
            log.warning("add_consumer broadcast for %s failed: %s", stage, exc)
    log.info("stage %s resumed by %s", stage, by)
    return stage_view(stage)


def stage_view(stage: str) -> dict[str, Any]:
    return stages_view()[_check(stage)]


def stages_view() -> dict[str, dict[str, Any]]:
    """Per stage: paused (and by whom, when, why), queue depth and oldest message age, live and consuming workers."""
    from shared import metrics
    from shared.workers import worker_states

    paused = paused_stages()
    queues = metrics.queue_snapshot()
    workers = worker_states()
    view: dict[str, dict[str, Any]] = {}
    for stage in STAGES:
        mine = workers.get(stage, [])
        state = paused.get(stage)
        view[stage] = {
            "stage": stage,
            "paused": state is not None,
            "paused_by": (state or {}).get("by"),
            "paused_at": (state or {}).get("at"),
            "reason": (state or {}).get("reason"),
            "queue_length": int(queues.get(stage, {}).get("depth", 0)),
            "oldest_age_seconds": float(queues.get(stage, {}).get("oldest_age", 0.0)),
            "workers": sorted(w["hostname"] for w in mine),
            "consuming": sorted(w["hostname"] for w in mine if stage in (w.get("consuming") or [])),
        }
    return view


# -- inside a worker -----------------------------------------------------------------------------------
def consuming(consumer: Any) -> list[str]:
    """The stage queues ``consumer`` takes messages from right now."""
    try:
        return [name for name in STAGES if consumer.task_consumer.consuming_from(name)]
    except Exception:  # noqa: BLE001
        return []


_held: set[str] = set()  # stages this worker stopped consuming because of the flag (not a manual cancel_consumer)


def reconcile(consumer: Any, stages: list[str], *, now: bool = False) -> None:
    """Make this worker's consumption of its ``stages`` match the flags (``now``: directly, from the worker's own
    thread at start; otherwise scheduled on its event loop, from the heartbeat thread).

    A paused stage is cancelled if consumed; a stage this worker held for a pause is consumed again once the flag
    is gone (a resume broadcast it missed). A consumer cancelled by hand (``celery control cancel_consumer``)
    without the flag is left alone."""
    try:
        paused = set(paused_stages())
    except Exception as exc:  # noqa: BLE001
        log.warning("stage pause flags not readable: %s", exc)
        return
    active = set(consuming(consumer))
    for stage in stages:
        if stage in paused:
            _held.add(stage)
            if stage in active:
                log.info("stage %s is paused: this worker stops consuming its queue", stage)
                if now:
                    consumer.cancel_task_queue(stage)
                else:
                    consumer.call_soon(consumer.cancel_task_queue, stage)
        elif stage in _held:
            _held.discard(stage)
            if stage not in active:
                log.info("stage %s was resumed: this worker consumes its queue again", stage)
                if now:
                    consumer.add_task_queue(stage)
                else:
                    consumer.call_soon(consumer.add_task_queue, stage)


__all__ = ["pause", "resume", "is_paused", "paused_stages", "stages_view", "stage_view", "reconcile", "StageError"]
