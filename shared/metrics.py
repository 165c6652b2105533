"""Metrics every process can contribute to, kept in Redis so that any API process can render all of them.

Celery workers are separate processes, possibly on several hosts; prometheus_client's multiprocess mode
works only on one host, so counters and histogram buckets live in Redis hashes and /metrics turns them into
Prometheus text at scrape time (services/api/metrics.py). Redis keeps them across restarts (append-only file
on the bundled server), which is what an operator expects from counters.

What is recorded, and where:

- task outcomes (started, succeeded, failed, retried) and durations per stage: StageTask.__call__
  (shared/stage_task.py) calls :func:`task_started` and :func:`task_finished`; increments are buffered in the
  process and flushed to Redis every half second by a background thread (one round trip for all of them);
- per-minute buckets of the same (kept 26 hours): throughput, failures and p50/p95 for the console;
- articles new / updated / duplicate / near_duplicate per source, and delivery outcomes per target: SQLAlchemy session events
  (:func:`install_store_hooks`) count them when the transaction that wrote them commits, whichever module wrote
  them; code that bypasses the ORM can call :func:`count_article` / :func:`count_delivery` itself;
- the enqueue time of every Celery message: a ``newswire_enqueued_at`` header stamped at publish time, read
  back from the oldest message on a queue's Redis list (:func:`queue_snapshot`);
- queue depth and oldest age over time: :func:`maybe_sample_queues`, called by a thread in every worker and
  by the API on requests; a Redis lock makes it one sample per interval for the whole deployment.

Recording never raises: a metric lost while Redis is down is better than a task failed because of it.
"""

from __future__ import annotations

import atexit
import json
import math
import os
import threading
import time
from typing import Any, Iterable
from urllib.parse import urlsplit

from shared.settings import STAGES, get_settings
from shared.telemetry import get_logger

log = get_logger(__name__)

PREFIX = "newswire:m:"
COUNTER_KEY = PREFIX + "c:"  # + metric name -> hash {labels json: count}
HISTOGRAM_KEY = PREFIX + "h:"  # + metric name -> hash {labels json|bucket index | "sum" | "count": value}
MINUTE_KEY = PREFIX + "min:"  # + epoch minute -> hash {"tasks|stage|outcome": n, "dur|stage|bucket": n}
MINUTE_TTL = 26 * 3600
QUEUE_HISTORY_KEY = PREFIX + "queue-history"  # sorted set: score = time, member = json sample
QUEUE_SAMPLE_LOCK = PREFIX + "queue-sample-lock"
QUEUE_HISTORY_SECONDS = 24 * 3600
ENQUEUED_HEADER = "newswire_enqueued_at"

OUTCOMES = ("started", "succeeded", "failed", "retried")
# Upper bounds of the stage duration buckets, in seconds (the last one is +Inf).
DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, math.inf)


def _labels(**labels: str) -> str:
    return json.dumps(sorted((k, str(v)) for k, v in labels.items()), ensure_ascii=False, separators=(",", ":"))


def parse_labels(field: bytes | str) -> dict[str, str]:
    text = field.decode() if isinstance(field, bytes) else field
    return {k: v for k, v in json.loads(text)}


def _redis():  # noqa: ANN202
    from shared.redis_client import get_redis

    return get_redis()


def bucket_index(seconds: float) -> int:
    for index, bound in enumerate(DURATION_BUCKETS):
        if seconds <= bound:
            return index
    return len(DURATION_BUCKETS) - 1


def minute_of(when: float | None = None) -> int:
    return int((when if when is not None else time.time()) // 60)


# -- recording ---------------------------------------------------------------
# Increments are buffered in each process and written to Redis by a background thread every FLUSH_SECONDS (one
# pipelined round trip for everything since the last flush), so a task pays microseconds, not a round trip.
# A process killed outright loses at most that last fraction of a second of counts.
FLUSH_SECONDS = 0.5
_buffer: dict[tuple[str, str], float] = {}
_buffer_lock = threading.Lock()
_buffer_pid: int | None = None
_flush_wakeup = threading.Event()


def _add(key: str, field: str, amount: float) -> None:
    global _buffer_pid
    with _buffer_lock:
        if _buffer_pid != os.getpid():  # first use in this process (or in a child forked from it)
            _buffer.clear()
            _buffer_pid = os.getpid()
            threading.Thread(target=_flush_loop, name="newswire-metrics-flush", daemon=True).start()
        _buffer[(key, field)] = _buffer.get((key, field), 0) + amount


def _flush_at_exit() -> None:
    if _buffer_pid == os.getpid():
        flush()


atexit.register(_flush_at_exit)


def _after_fork_in_child() -> None:
    """A child forked while another thread held the lock must not inherit it held."""
    global _buffer_lock, _buffer_pid
    _buffer_lock = threading.Lock()
    _buffer.clear()
    _buffer_pid = None


os.register_at_fork(after_in_child=_after_fork_in_child)


def _flush_loop() -> None:
    while True:
        _flush_wakeup.wait(FLUSH_SECONDS)
        flush()


def flush() -> None:
    """Write the buffered increments to Redis now (never raises; on failure they are kept for the next flush)."""
    with _buffer_lock:
        pending = dict(_buffer)
        _buffer.clear()
    if not pending:
        return
    try:
        pipe = _redis().pipeline(transaction=False)
        expiring = set()
        for (key, field), amount in pending.items():
            if isinstance(amount, float):
                pipe.hincrbyfloat(key, field, amount)
            else:
                pipe.hincrby(key, field, int(amount))
            if key.startswith(MINUTE_KEY):
                expiring.add(key)
        for key in expiring:
            pipe.expire(key, MINUTE_TTL)
        pipe.execute()
    except Exception as exc:  # noqa: BLE001
        log.debug("metrics not flushed (kept for the next try): %s", exc)
        with _buffer_lock:
            for item, amount in pending.items():
                _buffer[item] = _buffer.get(item, 0) + amount


def inc(metric: str, amount: int = 1, **labels: str) -> None:
    """Add to a counter (never raises)."""
    _add(COUNTER_KEY + metric, _labels(**labels), amount)


def task_started(stage: str) -> None:
    _task_outcome(stage, "started", None)


def task_finished(stage: str, outcome: str, seconds: float) -> None:
    """One task of ``stage`` ended: outcome is succeeded, failed or retried; its duration goes to the histogram."""
    _task_outcome(stage, outcome, seconds)


def _task_outcome(stage: str, outcome: str, seconds: float | None) -> None:
    try:
        _add(COUNTER_KEY + "tasks", _labels(stage=stage, outcome=outcome), 1)
        minute = MINUTE_KEY + str(minute_of())
        _add(minute, f"tasks|{stage}|{outcome}", 1)
        if seconds is not None:
            index = bucket_index(seconds)
            labels = _labels(stage=stage)
            key = HISTOGRAM_KEY + "stage_duration"
            _add(key, f"{labels}|{index}", 1)
            _add(key, f"{labels}|sum", float(seconds))
            _add(key, f"{labels}|count", 1)
            _add(minute, f"dur|{stage}|{index}", 1)
    except Exception as exc:  # noqa: BLE001
        log.debug("task metric not recorded: %s", exc)


def count_article(source: str, kind: str, amount: int = 1) -> None:
    """An article was recorded: kind is new, updated, duplicate or near_duplicate."""
    inc("articles", amount, source=source, kind=kind)


def count_delivery(target: str, outcome: str, amount: int = 1) -> None:
    """A delivery attempt ended: outcome is delivered, retry or failed (or another status the publish engine sets)."""
    inc("deliveries", amount, target=target, outcome=outcome)


# -- reading -----------------------------------------------------------------
def read_counter(metric: str) -> list[tuple[dict[str, str], float]]:
    raw = _redis().hgetall(COUNTER_KEY + metric)
    return [(parse_labels(field), float(value)) for field, value in raw.items()]


def read_histogram(metric: str) -> dict[str, dict[str, Any]]:
    """labels json -> {"buckets": [non-cumulative counts], "sum": float, "count": int}."""
    out: dict[str, dict[str, Any]] = {}
    for field, value in _redis().hgetall(HISTOGRAM_KEY + metric).items():
        labels, _, part = field.decode().rpartition("|")
        entry = out.setdefault(labels, {"buckets": [0] * len(DURATION_BUCKETS), "sum": 0.0, "count": 0})
        if part == "sum":
            entry["sum"] = float(value)
        elif part == "count":
            entry["count"] = int(value)
        else:
            entry["buckets"][int(part)] = int(value)
    return out


def quantile(buckets: list[int], q: float) -> float | None:
    """Estimate the q-quantile from non-cumulative bucket counts, by linear interpolation inside the bucket."""
    total = sum(buckets)
    if not total:
        return None
    rank = q * total
    seen = 0
    for index, count in enumerate(buckets):
        if seen + count >= rank and count:
            lower = DURATION_BUCKETS[index - 1] if index else 0.0
            upper = DURATION_BUCKETS[index]
            if math.isinf(upper):
                return lower
            return lower + (upper - lower) * ((rank - seen) / count)
        seen += count
    return DURATION_BUCKETS[-2]


def minutes(last: int = 60) -> list[dict[str, Any]]:
    """The last ``last`` minutes, oldest first: per stage, tasks by outcome and p50/p95 duration."""
    now = minute_of()
    keys = [MINUTE_KEY + str(now - offset) for offset in range(last - 1, -1, -1)]
    pipe = _redis().pipeline(transaction=False)
    for key in keys:
        pipe.hgetall(key)
    rows = []
    for offset, raw in zip(range(last - 1, -1, -1), pipe.execute()):
        stages: dict[str, dict[str, Any]] = {
            stage: {**{outcome: 0 for outcome in OUTCOMES}, "_buckets": [0] * len(DURATION_BUCKETS)} for stage in STAGES
        }
        for field, value in raw.items():
            kind, stage, rest = field.decode().split("|", 2)
            entry = stages.setdefault(
                stage, {**{outcome: 0 for outcome in OUTCOMES}, "_buckets": [0] * len(DURATION_BUCKETS)}
            )
            if kind == "tasks":
                entry[rest] = int(value)
            elif kind == "dur":
                entry["_buckets"][int(rest)] = int(value)
        for entry in stages.values():
            buckets = entry.pop("_buckets")
            entry["p50"] = quantile(buckets, 0.5)
            entry["p95"] = quantile(buckets, 0.95)
        rows.append({"minute": (now - offset) * 60, "stages": stages})
    return rows


def latency_summary(last: int = 15) -> dict[str, dict[str, float | None]]:
    """p50/p95 per stage over the last ``last`` minutes (from the per-minute buckets)."""
    now = minute_of()
    pipe = _redis().pipeline(transaction=False)
    for offset in range(last):
        pipe.hgetall(MINUTE_KEY + str(now - offset))
    buckets: dict[str, list[int]] = {stage: [0] * len(DURATION_BUCKETS) for stage in STAGES}
    for raw in pipe.execute():
        for field, value in raw.items():
            kind, stage, rest = field.decode().split("|", 2)
            if kind == "dur":
                buckets.setdefault(stage, [0] * len(DURATION_BUCKETS))[int(rest)] += int(value)
    return {
        stage: {"p50": quantile(counts, 0.5), "p95": quantile(counts, 0.95), "count": sum(counts)}
        for stage, counts in buckets.items()
    }


# -- queues ------------------------------------------------------------------
def _enqueued_at(raw: bytes | None) -> float | None:
    if not raw:
        return None
    try:
        message = json.loads(raw)
        headers = message.get("headers") or {}
        value = headers.get(ENQUEUED_HEADER)
        return float(value) if value is not None else None
    except (ValueError, TypeError, AttributeError):
        return None


def queue_snapshot(queues: Iterable[str] = STAGES) -> dict[str, dict[str, float]]:
    """Depth of each queue and the age of its oldest message (kombu pushes on the left, consumers pop the right)."""
    queues = list(queues)
    pipe = _redis().pipeline(transaction=False)
    for queue in queues:
        pipe.llen(queue)
        pipe.lindex(queue, -1)
    replies = pipe.execute()
    now = time.time()
    snapshot = {}
    for index, queue in enumerate(queues):
        depth, oldest = replies[2 * index], replies[2 * index + 1]
        stamped = _enqueued_at(oldest)
        snapshot[queue] = {"depth": int(depth), "oldest_age": round(max(0.0, now - stamped), 3) if stamped else 0.0}
    return snapshot


def sample_interval() -> int:
    return max(1, int(get_settings().metrics_sample_interval))


def maybe_sample_queues(force: bool = False) -> bool:
    """Record one queue sample if none was taken in this interval (by any process on any host)."""
    try:
        client = _redis()
        interval = sample_interval()
        if not force and not client.set(QUEUE_SAMPLE_LOCK, "1", nx=True, ex=interval):
            return False
        now = time.time()
        snapshot = queue_snapshot()
        member = json.dumps({"t": round(now, 3), "q": {q: [v["depth"], v["oldest_age"]] for q, v in snapshot.items()}},
                            separators=(",", ":"))
        pipe = client.pipeline(transaction=False)
        pipe.zadd(QUEUE_HISTORY_KEY, {member: now})
        pipe.zremrangebyscore(QUEUE_HISTORY_KEY, "-inf", now - QUEUE_HISTORY_SECONDS)
        pipe.execute()
        return True
    except Exception as exc:  # noqa: BLE001
        log.debug("queue sample not recorded: %s", exc)
        return False


def queue_history(seconds: float = 3 * 3600) -> list[dict[str, Any]]:
    """Queue samples of the last ``seconds``, oldest first: {"t": epoch, "q": {queue: [depth, oldest_age]}}."""
    now = time.time()
    return [json.loads(member) for member in _redis().zrangebyscore(QUEUE_HISTORY_KEY, now - seconds, "+inf")]


_sampler_started = False


def start_queue_sampler() -> None:
    """A daemon thread sampling queues every interval (started in each worker; the lock keeps one sample)."""
    global _sampler_started
    if _sampler_started:
        return
    _sampler_started = True

    def loop() -> None:
        while True:
            maybe_sample_queues()
            time.sleep(sample_interval())

    threading.Thread(target=loop, name="newswire-queue-sampler", daemon=True).start()


# -- Celery wiring -----------------------------------------------------------
def stamp_enqueue_time(headers: dict[str, Any] | None = None, **_kwargs: Any) -> None:
    """before_task_publish: stamp the time a message is sent, so its age on the queue can be read back."""
    if isinstance(headers, dict):
        headers[ENQUEUED_HEADER] = time.time()


def connect_celery_signals() -> None:
    from celery.signals import before_task_publish, worker_process_shutdown, worker_ready, worker_shutdown

    before_task_publish.connect(stamp_enqueue_time, weak=False)
    worker_ready.connect(lambda **_kw: start_queue_sampler(), weak=False)
    # A pool process or worker stopping writes what it still holds.
    worker_process_shutdown.connect(lambda **_kw: flush(), weak=False)
    worker_shutdown.connect(lambda **_kw: flush(), weak=False)


# -- store hooks: articles and deliveries counted when their transaction commits ------------------
_source_labels: dict[int, str] = {}


def _host(url: str | None) -> str:
    try:
        return (urlsplit(url or "").hostname or "unknown").lower()
    except ValueError:
        return "unknown"


def source_label(session: Any, source_id: int | None, article_url: str | None) -> str:
    """The ``source`` label: the source's name (or its host) when the article came from a source, else the page's host."""
    if source_id is None:
        return _host(article_url)
    if source_id not in _source_labels:
        from shared.store.models import Source

        source = session.get(Source, source_id)
        name = getattr(source, "name", None) if source is not None else None
        _source_labels[source_id] = str(name) if name else (_host(source.url) if source is not None else str(source_id))
    return _source_labels[source_id]


def _after_flush(session: Any, _context: Any) -> None:
    from sqlalchemy import inspect as sa_inspect

    from shared.store.models import Article, ArticleVersion, Delivery

    pending = session.info.setdefault("newswire_metrics", [])
    try:
        for obj in session.new:
            if isinstance(obj, ArticleVersion):
                article = session.get(Article, obj.article_id)
                source = source_label(session, article.source_id if article else None, article.url if article else None)
                kind = "near_duplicate" if obj.status == "near_duplicate" else "new" if obj.version == 1 else "updated"
                pending.append(("articles", {"source": source, "kind": kind}))
        for obj in session.dirty:
            if isinstance(obj, Article):
                history = sa_inspect(obj).attrs.duplicates.history
                if history.added and history.deleted:
                    added = (history.added[0] or 0) - (history.deleted[0] or 0)
                    if added > 0:
                        source = source_label(session, obj.source_id, obj.url)
                        pending.append(("articles", {"source": source, "kind": "duplicate"}, added))
            elif isinstance(obj, Delivery):
                history = sa_inspect(obj).attrs.status.history
                if history.added and history.added[0] in ("delivered", "retrying", "failed") \
                        and history.added[0] != (history.deleted[0] if history.deleted else None):
                    outcome = {"retrying": "retry"}.get(history.added[0], history.added[0])
                    pending.append(("deliveries", {"target": obj.target, "outcome": outcome}))
    except Exception as exc:  # noqa: BLE001
        log.debug("store metrics not collected: %s", exc)


def _after_commit(session: Any) -> None:
    pending = session.info.pop("newswire_metrics", None)
    for item in pending or ():
        metric, labels = item[0], item[1]
        inc(metric, item[2] if len(item) > 2 else 1, **labels)


def _after_rollback(session: Any) -> None:
    session.info.pop("newswire_metrics", None)


_store_hooks = False


def install_store_hooks() -> None:
    global _store_hooks
    if _store_hooks:
        return
    from sqlalchemy import event
    from sqlalchemy.orm import Session

    event.listen(Session, "after_flush", _after_flush)
    event.listen(Session, "after_commit", _after_commit)
    event.listen(Session, "after_soft_rollback", lambda session, _previous: _after_rollback(session))
    _store_hooks = True


def message_ids(message: dict[str, Any]) -> dict[str, Any]:
    """The article id and source of a task's message, for log lines (empty when the message has none)."""
    if not isinstance(message, dict):
        return {}
    url = message.get("url") if isinstance(message.get("url"), str) else None
    article_id = message.get("id")
    if not article_id and url and message.get("source_poll") is not True:
        from shared.payload import article_id_for

        article_id = article_id_for(url)
    source = message.get("source_id")
    return {"article_id": article_id, "source": source if source is not None else (_host(url) if url else None)}
