"""What happens to a message when the worker process under it dies, and when the broker connection is half gone.

A payload that kills its worker process (a crash in a C library, the out-of-memory killer, ``os._exit``) raises no
exception Newswire could see: with late acks and ``task_reject_on_worker_lost`` Celery puts it back on its queue,
and it would kill the next worker, and the next, for ever. Celery's pool knows how a child ended, so the count is
kept where it knows (the worker's main process, :class:`StageRequest`):

- a child that died under a message without being told to (``WorkerLostError``: a signal or an exit code) is a
  *death* of that message, counted in Redis under its task id (:func:`record_death`) before Celery puts it back;
- a child the pool killed for the hard time limit is not: the pool marks the job ``TimeLimitExceeded`` before it
  kills the child, so no ``WorkerLostError`` is raised for it (billiard ``TimeoutHandler.on_hard_timeout``); nor
  is a child terminated on purpose (revoked, cancelled on a broker connection loss: ``Terminated``) or one
  stopped by a cold shutdown of the whole worker;
- when a message that already died ``NEWSWIRE_TASK_MAX_CRASHES`` (3) times is handed out again, the task writes
  a dead letter (``WorkerLostError``, replayable) instead of running it (:func:`dead_letter_if_deadly`, called by
  ``StageTask.__call__``; only a redelivered message is looked up, so the others cost nothing);
- a task whose work is tracked row by row in the store, not by its message (``tracked_in_store``: the publish
  drain, the sweeps) is never counted nor dead-lettered here: it is sent again by its own bookkeeping.

Counted and seen as ``newswire_worker_lost_total{stage,outcome}`` (``requeued``: a death, the message handed out
again; ``dead_letter``: the message kept as a dead letter), an error log line per death, and the dead letter.

The same request class also keeps the worker alive when the broker connection is being re-established. On a
connection loss Celery closes the connection, and kombu sets its transport's ``client`` to None; a message of
that connection still being settled (a task that ended meanwhile, e.g. our ``Reject(requeue=True)`` for Redis
unreachable) is requeued or acked through its old channel, and if that channel's connection pool was reset,
kombu's Redis transport (5.7) builds a new one from the client that is gone: ``QoS.restore_by_tag`` ->
``Channel.conn_or_acquire`` -> ``_create_client`` -> ``_get_pool`` -> ``_connparams`` -> AttributeError
("'NoneType' object has no attribute 'hostname'"). Celery catches only connection errors there
(``Message.reject_log_error``), so the AttributeError stopped the worker ("Unrecoverable error"). Here such an
error leaves the message as it is: in the unacknowledged set, from which the broker hands it out again (at once
when the old channel's close restored it, else after the visibility timeout). Nothing else changes: a requeue
through a working channel still happens at once.
"""

from __future__ import annotations

from typing import Any

from celery.exceptions import WorkerLostError as CeleryWorkerLostError
from celery.worker import state as worker_state
from celery.worker.request import Request

from shared.errors import WorkerLostError
from shared.settings import get_settings
from shared.telemetry import get_logger

log = get_logger(__name__)

DEATHS_KEY = "newswire:deaths:"  # + task id -> hash {deaths, last (how the worker died)}
DEATHS_TTL = 7 * 24 * 3600  # longer than any message waits to be handed out again


def guarded(task: Any) -> bool:  # noqa: ANN401
    """This task's messages are counted and dead-lettered after their deaths."""
    return (getattr(task, "crash_guard", False) and not getattr(task, "tracked_in_store", False)
            and get_settings().task_max_crashes > 0)


def _redis():  # noqa: ANN202
    from shared.redis_client import get_redis

    return get_redis()


def record_death(task: Any, task_id: str, how: str) -> int | None:  # noqa: ANN401
    """Count one death of ``task_id``'s message (in the worker's main process); returns the count, or None when
    Redis cannot be told (the message is handed out again uncounted). Never raises."""
    from shared import metrics

    limit = get_settings().task_max_crashes
    try:
        pipe = _redis().pipeline()
        key = DEATHS_KEY + task_id
        pipe.hincrby(key, "deaths", 1)
        pipe.hset(key, "last", how[:500])
        pipe.expire(key, DEATHS_TTL)
        deaths = int(pipe.execute()[0])
    except Exception as exc:  # noqa: BLE001
        log.error("%s[%s]: the worker process died under this message (%s); the death could not be counted (%s)",
                  task.name, task_id, how, exc)
        return None
    metrics.inc("worker_lost", stage=getattr(task, "stage", "?"), outcome="requeued")
    log.error("%s[%s]: the worker process died under this message (%s): death %d of NEWSWIRE_TASK_MAX_CRASHES=%d; "
              "%s", task.name, task_id, how, deaths, limit,
              "it is handed out again" if deaths < limit else "it becomes a dead letter when handed out again")
    return deaths


def deaths_of(task_id: str) -> tuple[int, str]:
    """(deaths counted, how the last one happened) of a message; (0, "") when none or Redis cannot be asked."""
    try:
        found = _redis().hgetall(DEATHS_KEY + task_id)
    except Exception:  # noqa: BLE001  (Redis away: the task runs; its own Redis handling puts it back)
        return 0, ""
    raw = found.get(b"deaths") or b"0"
    return int(raw), (found.get(b"last") or b"").decode("utf-8", "replace")


def forget(task_id: str) -> None:
    try:
        _redis().delete(DEATHS_KEY + task_id)
    except Exception:  # noqa: BLE001  (it expires)
        pass


def _redelivered(request: Any) -> bool:  # noqa: ANN401
    info = getattr(request, "delivery_info", None) or {}
    return bool(info.get("redelivered") or getattr(request, "redelivered", False))


def dead_letter_if_deadly(task: Any, args: tuple) -> dict[str, Any] | None:  # noqa: ANN401
    """At the start of a task (in the pool process): if its message already killed its worker
    NEWSWIRE_TASK_MAX_CRASHES times, write its dead letter and return the task's result (the message is then
    acknowledged); else None, and the task runs."""
    request = task.request
    if not request.id or not guarded(task) or not _redelivered(request):
        return None
    deaths, how = deaths_of(request.id)
    limit = get_settings().task_max_crashes
    if deaths < limit:
        return None
    from shared import metrics
    from shared.store.dead_letters import record_dead_letter

    error = WorkerLostError(f"the worker process died under this message {deaths} time(s) (last: {how or 'unknown'}): "
                            f"a crash, the out-of-memory killer or an exit in the code or a library it runs; kept "
                            f"as a dead letter, not handed out again (NEWSWIRE_TASK_MAX_CRASHES={limit})")
    payload = args[0] if len(args) == 1 and isinstance(args[0], dict) else {"args": list(args), "kwargs": {}}
    log.error("%s[%s]: %s", task.name, request.id, error)
    try:
        record_dead_letter(stage=task.stage, task=task.name, payload=payload, error=error, attempts=deaths)
    except Exception as exc:
        from shared.store.db import store_unavailable

        if store_unavailable(exc):
            task.wait_for_store(exc)  # a retry (same task id: its deaths stay counted)
        raise
    forget(request.id)
    metrics.inc("worker_lost", stage=task.stage, outcome="dead_letter")
    return {"status": "failed", "error": str(error)}


class StageRequest(Request):
    """The worker-side request of a stage task (``StageTask.Request``): counts deaths, and does not let a failed
    ack or requeue stop the worker."""

    def on_failure(self, exc_info, send_failed_event=True, return_ok=False):  # noqa: ANN001, ANN201
        exc = getattr(exc_info, "exception", None)
        exc = getattr(exc, "exc", exc)  # ExceptionWithTraceback
        died = isinstance(exc, CeleryWorkerLostError) or (
            isinstance(exc, SystemExit) and not (self._already_cancelled or self._already_revoked))
        if died and not worker_state.should_terminate and guarded(self.task):
            record_death(self.task, self.id, str(exc) or type(exc).__name__)
        return super().on_failure(exc_info, send_failed_event=send_failed_event, return_ok=return_ok)

    def _settle(self, what: str, settle) -> None:  # noqa: ANN001
        """Ack or requeue as Celery does; if kombu fails inside with anything but a connection error (which Celery
        logs itself), leave the message to the broker rather than let the error stop the worker."""
        if self.acknowledged:
            return
        try:
            settle()
        except Exception as exc:  # noqa: BLE001
            self.acknowledged = True
            log.error("%s[%s]: not %s (%s: %s), the broker connection it came on being closed; the message stays "
                      "unacknowledged and the broker hands it out again", self.name, self.id, what,
                      type(exc).__name__, exc)

    def acknowledge(self) -> None:
        self._settle("acknowledged", super().acknowledge)

    def reject(self, requeue: bool = False) -> None:
        self._settle("requeued" if requeue else "rejected", lambda: super(StageRequest, self).reject(requeue))


__all__ = ["StageRequest", "dead_letter_if_deadly", "deaths_of", "guarded", "record_death"]
