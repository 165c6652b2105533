"""The base class of every stage task: retry transient faults, dead-letter the rest.

Stage logic lives in plain functions under services/<stage>/; a task is a thin
shell that calls them and, on an exception, hands it to :meth:`StageTask.fail`.
"""

from __future__ import annotations

import random
import time
from typing import Any, Callable, TypeVar

from celery import Task
from celery.exceptions import Reject, Retry, SoftTimeLimitExceeded, TimeLimitExceeded
from pydantic import ValidationError

from shared import handoff
from shared.errors import NewswireError, PermanentError
from shared.payload import ArticlePayload, TraceEntry, utcnow
from shared.settings import get_settings
from shared.store.db import store_unavailable
from shared.telemetry import get_logger, log_context, worker_name

log = get_logger(__name__)
T = TypeVar("T")


def backoff_seconds(retries: int, retry_after: float | None = None) -> float:
    """Exponential backoff with full jitter; a server's Retry-After wins when longer."""
    settings = get_settings()
    ceiling = min(settings.retry_backoff_max, settings.retry_backoff_base * (2**retries))
    delay = random.uniform(ceiling / 2, ceiling)
    if retry_after is not None:
        delay = max(delay, min(retry_after, settings.retry_backoff_max))
    return round(delay, 3)


STORE_RETRY_MAX_SECONDS = 60.0  # the longest wait between two tries while the database cannot be reached
STORE_WAITS_HEADER = "newswire_store_waits"


def broker_unreachable(exc: BaseException) -> bool:
    """Redis (the broker, and the state kept beside it) cannot be reached, or is still loading its data: the
    message is still in Redis, so it is left to come back rather than retried (a retry is a message too) or
    dead-lettered. Its cause counts too (``raise ... from``), and so does the reason of a Reject: Celery turns a
    retry it could not publish into ``Reject(requeue=False)``, which would drop the message."""
    import redis
    from kombu.exceptions import OperationalError

    while exc is not None:
        if isinstance(exc, (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, OperationalError)):
            return True
        reason = getattr(exc, "reason", None) if isinstance(exc, Reject) else None
        exc = reason if isinstance(reason, BaseException) else exc.__cause__
    return False


def is_transient(exc: BaseException) -> bool:
    if isinstance(exc, NewswireError):
        return exc.transient
    if isinstance(exc, (ValidationError, ValueError, TypeError, KeyError)):
        return False
    if isinstance(exc, SoftTimeLimitExceeded):
        return True
    # Unknown faults (database down, broker hiccup, a bug) get the retries too.
    return True


class StageTask(Task):
    abstract = True
    stage: str = "?"
    acks_late = True
    max_retries = None  # counted by fail() from settings
    # The worker side of a message (shared/crash_guard.py): counts the deaths of the worker processes under it,
    # and never acks or requeues through a broker connection that was closed.
    Request = "shared.crash_guard:StageRequest"
    crash_guard = True  # a message that killed its worker NEWSWIRE_TASK_MAX_CRASHES times is a dead letter
    # The task's work is tracked row by row in the store, not by its message (a drain, a sweep): never a dead
    # letter for its worker dying nor for a time limit; its own bookkeeping sends the work again.
    tracked_in_store = False

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Run the task with its ids on every log line, and record its outcome and duration (shared/metrics.py)."""
        from shared import crash_guard, metrics
        from shared.stage_control import is_paused

        if is_paused(self.stage):
            # The stage was paused after this message was reserved: back to its queue, untouched (late ack).
            time.sleep(0.5)  # the worker's consumer is being cancelled; do not spin on the same message
            raise Reject(f"stage {self.stage} is paused", requeue=True)
        message = args[0] if args and isinstance(args[0], dict) else {}
        self.request.newswire_failed = False
        metrics.task_started(self.stage)
        clock, outcome, requeued = time.monotonic(), "failed", False
        try:
            deadly = crash_guard.dead_letter_if_deadly(self, args)
            if deadly is not None:
                return deadly
            with log_context(stage=self.stage, task_id=self.request.id, **metrics.message_ids(message)):
                result = super().__call__(*args, **kwargs)
            failed = self.request.newswire_failed or (isinstance(result, dict) and result.get("status") == "failed")
            outcome = "failed" if failed else "succeeded"
            return result
        except Retry:
            outcome = "retried"
            raise
        except Reject as reject:
            requeued = bool(reject.requeue)  # put back: the message keeps its hand-off entry
            raise
        except Exception as exc:
            if not broker_unreachable(exc):
                raise
            # Back to the queue as it is (or, while Redis is away, left in its unacknowledged set, which hands it
            # out again after the visibility timeout): what ran before is redone, idempotently.
            outcome = "retried"
            log.warning("%s: Redis unreachable (%s); the message goes back to its queue", self.name, exc)
            raise Reject(f"Redis unreachable: {exc}", requeue=True) from exc
        except BaseException:
            # Not an Exception (the pool process told to stop, say): the message is not acked, so it stays in the
            # unacknowledged set and comes back; it keeps its hand-off entry.
            requeued = True
            raise
        finally:
            metrics.task_finished(self.stage, outcome, time.monotonic() - clock)
            if outcome != "retried" and not requeued and self.name in handoff.COVERED:
                handoff.done(self.request.id)  # ended for good, before the ack (a retry is a new entry)

    def run_stage(self, message: Any, work: Callable[[ArticlePayload], T]) -> tuple[ArticlePayload, T] | None:
        """Read the payload, append this stage's trace entry, run ``work``; on an exception, :meth:`fail`.

        Returns None when the work failed for good (a dead letter was written); raises Retry to retry.
        """
        entry = TraceEntry(stage=self.stage, worker=worker_name(), start=utcnow(), attempt=self.request.retries + 1,
                           task_id=self.request.id)
        try:
            payload = ArticlePayload.from_message(message)
            payload.trace.append(entry)
            result = work(payload)
        except Exception as exc:  # noqa: BLE001
            self.fail(exc, message)
            return None
        entry.finish = utcnow()
        return payload, result

    def wait_for_store(self, exc: BaseException) -> None:
        """The database is unreachable: put the message back with a growing wait (up to a minute), however long
        the outage lasts, without spending its retries or writing a dead letter (which could not be written
        anyway). Seen as a warning per try and in ``newswire_store_unavailable_total{stage}``. Never returns."""
        from shared import metrics

        waits = self.store_waits + 1
        countdown = min(backoff_seconds(min(waits - 1, 8)), STORE_RETRY_MAX_SECONDS)
        metrics.inc("store_unavailable", stage=self.stage)
        log.warning("%s: database unavailable (%s: %s); message kept, trying again in %.1fs (wait %d)", self.name,
                    type(exc).__name__, str(exc).splitlines()[0][:300] if str(exc) else "", countdown, waits)
        # The waits travel in a message header, so they are not counted against the message's own retries.
        headers = {**(self.request.headers or {}), STORE_WAITS_HEADER: waits}
        raise self.retry(exc=exc, countdown=countdown, max_retries=None, headers=headers)

    @property
    def store_waits(self) -> int:
        """How many times this message was put back because the database was unreachable."""
        try:
            return int(getattr(self.request, STORE_WAITS_HEADER, None) or 0)
        except (TypeError, ValueError):
            return 0

    @property
    def tries(self) -> int:
        """Celery's retries of this message, less its waits for the database: what its retry budget counts."""
        return max(0, self.request.retries - self.store_waits)

    def on_failure(self, exc, task_id, args, kwargs, einfo) -> None:  # noqa: ANN001
        """Anything that escaped a task (a bug in the shell, say) still ends as a dead letter, never a silent drop.

        A time limit (soft, or the hard one, which the worker's main process reports here) of a task tracked in
        the store is not: :meth:`after_time_limit` sets its work going again."""
        if self.tracked_in_store and isinstance(exc, (SoftTimeLimitExceeded, TimeLimitExceeded)):
            log.warning("%s[%s] stopped by its %s time limit (%s); no dead letter: its work is tracked in the store "
                        "and goes on", self.name, task_id, "soft" if isinstance(exc, SoftTimeLimitExceeded) else
                        "hard", exc)
            try:
                self.after_time_limit(*args, **(kwargs or {}))
            except Exception:  # noqa: BLE001  (the periodic sweep sets it going again)
                log.exception("%s[%s]: could not set its work going again after the time limit", self.name,
                              task_id)
            return
        message = args[0] if args and isinstance(args[0], dict) else {"args": list(args), "kwargs": kwargs}
        try:
            from shared.store.dead_letters import record_dead_letter

            record_dead_letter(stage=self.stage, task=self.name, payload=message, error=exc,
                               attempts=self.tries + 1)
        except Exception:  # noqa: BLE001
            log.exception("%s[%s] failed and its dead letter could not be written", self.name, task_id)

    def after_time_limit(self, *args: Any, **kwargs: Any) -> None:
        """A task tracked in the store was stopped by a time limit: set its work going again (a drain task sets
        this). Runs in the worker's main process for the hard limit."""

    def will_retry(self, exc: BaseException) -> bool:
        return is_transient(exc) and self.tries < get_settings().retry_max

    def fail(self, exc: BaseException, message: Any) -> None:
        """Retry ``exc`` later if it may pass, else record a dead letter. Never returns on retry."""
        if isinstance(exc, Retry):
            raise exc
        if broker_unreachable(exc):
            raise exc  # not a retry nor a dead letter: the message goes back (see __call__)
        attempts = self.tries + 1
        if store_unavailable(exc):
            self.wait_for_store(exc)
        if self.will_retry(exc):
            countdown = backoff_seconds(self.tries, getattr(exc, "retry_after", None))
            log.warning("%s attempt %d failed (%s: %s); retrying in %.1fs", self.name, attempts, type(exc).__name__, exc,
                        countdown)
            raise self.retry(exc=exc, countdown=countdown, max_retries=None)  # will_retry counted (tries)
        if not isinstance(exc, NewswireError):
            log.exception("%s failed for good", self.name, exc_info=exc)
        else:
            log.warning("%s failed for good after %d attempt(s): %s: %s", self.name, attempts, type(exc).__name__, exc)
        self.request.newswire_failed = True
        try:
            from shared.store.dead_letters import record_dead_letter

            record_dead_letter(stage=self.stage, task=self.name, payload=message, error=exc, attempts=attempts)
        except Exception as store_exc:  # noqa: BLE001
            # The store is down: keep the message alive rather than lose it.
            if store_unavailable(store_exc):
                self.wait_for_store(store_exc)  # a wait, not one more of its retries
            log.error("cannot write dead letter (%s); keeping the message", store_exc)
            raise self.retry(exc=store_exc, countdown=backoff_seconds(min(self.request.retries, 8)), max_retries=None)


__all__ = ["StageTask", "backoff_seconds", "broker_unreachable", "is_transient", "PermanentError"]
