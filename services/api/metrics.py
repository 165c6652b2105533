"""GET /metrics: the Prometheus text format, rendered at scrape time from Redis and the store.

Counters and histograms are written to Redis by every worker (shared/metrics.py); gauges (queue length and
oldest age, live workers, open dead letters, breaker/disabled/suspended states) are read live here.
"""

from __future__ import annotations

import math
from typing import Callable, Iterable

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from sqlalchemy import func, select

from shared import metrics
from shared.settings import STAGES, get_settings
from shared.telemetry import get_logger

log = get_logger(__name__)
router = APIRouter()

# Gauges that other features fill in when they land: name -> function returning {label value: 0/1}.
# services/publish registers "breaker_open" and "target_disabled" (per target), services/ingest
# "source_suspended" (per source). Until then every known target/source shows 0.
GAUGE_PROVIDERS: dict[str, Callable[[], dict[str, float]]] = {}


def register_gauge(name: str, provider: Callable[[], dict[str, float]]) -> None:
    GAUGE_PROVIDERS[name] = provider


def known_targets() -> list[str]:
    names: set[str] = set()
    try:
        from services.publish.targets import configured_targets

        names.update(configured_targets())
    except Exception as exc:  # noqa: BLE001
        log.debug("targets not readable: %s", exc)
    try:
        from shared.store import Delivery, session_scope

        with session_scope() as session:
            names.update(session.execute(select(Delivery.target).distinct()).scalars())
    except Exception as exc:  # noqa: BLE001
        log.debug("delivery targets not readable: %s", exc)
    return sorted(names)


def _suspended_sources() -> dict[str, float]:
    """Default: a source whose status is "suspended" (the ingest health feature sets it); labelled as in articles."""
    from shared.store import Source, session_scope

    values: dict[str, float] = {}
    with session_scope() as session:
        for source in session.execute(select(Source)).scalars():
            label = metrics.source_label(session, source.id, source.url)
            suspended = source.status == "suspended" or bool(getattr(source, "suspended_at", None)) \
                or getattr(source, "suspended", False) is True
            values[label] = max(values.get(label, 0.0), 1.0 if suspended else 0.0)
    return values


class NewswireCollector:
    def collect(self) -> Iterable[Metric]:
        yield from self._queues()
        yield from self._tasks()
        yield from self._counters()
        yield from self._gauges()

    def _queues(self) -> Iterable[Metric]:
        length = GaugeMetricFamily("newswire_queue_length", "Messages waiting on a stage's queue", labels=["queue"])
        age = GaugeMetricFamily("newswire_queue_oldest_age_seconds",
                                "Age of the oldest message waiting on the queue (0 when empty)", labels=["queue"])
        for queue, values in metrics.queue_snapshot().items():
            length.add_metric([queue], values["depth"])
            age.add_metric([queue], values["oldest_age"])
        yield length
        yield age
        workers = GaugeMetricFamily("newswire_workers", "Workers with a fresh heartbeat, per stage", labels=["stage"])
        from shared.workers import live_workers

        for stage, hosts in live_workers().items():
            workers.add_metric([stage], len(hosts))
        yield workers

    def _tasks(self) -> Iterable[Metric]:
        tasks = CounterMetricFamily("newswire_tasks", "Stage tasks by outcome (started, succeeded, failed, retried)",
                                    labels=["stage", "outcome"])
        seen = {(labels.get("stage"), labels.get("outcome")): value for labels, value in metrics.read_counter("tasks")}
        for stage in STAGES:
            for outcome in metrics.OUTCOMES:
                seen.setdefault((stage, outcome), 0.0)
        for (stage, outcome), value in sorted(seen.items(), key=lambda item: (str(item[0][0]), str(item[0][1]))):
            tasks.add_metric([str(stage), str(outcome)], value)
        yield tasks
        duration = HistogramMetricFamily("newswire_stage_duration_seconds", "Time a stage task ran, per stage",
                                         labels=["stage"])
        histograms = {metrics.parse_labels(labels).get("stage", "?"): data
                      for labels, data in metrics.read_histogram("stage_duration").items()}
        for stage in sorted(set(STAGES) | set(histograms)):
            data = histograms.get(stage) or {"buckets": [0] * len(metrics.DURATION_BUCKETS), "sum": 0.0, "count": 0}
            cumulative, running = [], 0
            for bound, count in zip(metrics.DURATION_BUCKETS, data["buckets"]):
                running += count
                cumulative.append(("+Inf" if math.isinf(bound) else repr(bound), running))
            duration.add_metric([stage], cumulative, data["sum"])
        yield duration

    def _counters(self) -> Iterable[Metric]:
        articles = CounterMetricFamily("newswire_articles", "Articles recorded per source: new, updated, duplicate, "
                                       "near_duplicate (held as another page of a known story)",
                                       labels=["source", "kind"])
        for labels, value in sorted(metrics.read_counter("articles"), key=lambda item: sorted(item[0].items())):
            articles.add_metric([labels.get("source", ""), labels.get("kind", "")], value)
        yield articles
        deliveries = CounterMetricFamily("newswire_deliveries", "Delivery attempts per target by outcome",
                                         labels=["target", "outcome"])
        for labels, value in sorted(metrics.read_counter("deliveries"), key=lambda item: sorted(item[0].items())):
            deliveries.add_metric([labels.get("target", ""), labels.get("outcome", "")], value)
        yield deliveries
        calls = CounterMetricFamily("newswire_hook_calls", "Inbound hook calls per hook by verdict "
                                    "(accepted, duplicate, refused); unknown hook names count as (unknown)",
                                    labels=["hook", "verdict"])  # issue 6
        for labels, value in sorted(metrics.read_counter("hook_calls"), key=lambda item: sorted(item[0].items())):
            calls.add_metric([labels.get("hook", ""), labels.get("verdict", "")], value)
        yield calls
        waits = CounterMetricFamily("newswire_store_unavailable", "Stage tasks put back to wait because the "
                                    "database could not be reached (kept, not dead-lettered)", labels=["stage"])
        for labels, value in sorted(metrics.read_counter("store_unavailable"), key=lambda item: str(item[0])):
            waits.add_metric([labels.get("stage", "")], value)
        yield waits
        lost = CounterMetricFamily("newswire_worker_lost", "Worker processes that died under a stage task's message "
                                   "(a crash, out of memory, an exit; not a time limit): requeued, or dead_letter "
                                   "after NEWSWIRE_TASK_MAX_CRASHES deaths", labels=["stage", "outcome"])
        for labels, value in sorted(metrics.read_counter("worker_lost"), key=lambda item: sorted(item[0].items())):
            lost.add_metric([labels.get("stage", ""), labels.get("outcome", "")], value)
        yield lost
        resent = CounterMetricFamily("newswire_handoff_resent", "Hand-offs between stages sent again by the hand-off "
                                     "sweep: in no queue and not unacknowledged (a worker killed as it took them)",
                                     labels=["stage"])
        counted = {labels.get("stage", ""): value for labels, value in metrics.read_counter("handoff_resent")}
        for stage in sorted(set(STAGES) | set(counted)):
            resent.add_metric([stage], counted.get(stage, 0.0))
        yield resent

    def _gauges(self) -> Iterable[Metric]:
        from shared.store import DeadLetter, session_scope

        dead = GaugeMetricFamily("newswire_dead_letters", "Open dead letters per stage", labels=["stage"])
        with session_scope() as session:
            counts = dict(session.execute(
                select(DeadLetter.stage, func.count()).where(DeadLetter.status == "open").group_by(DeadLetter.stage)
            ).all())
        for stage in sorted(set(STAGES) | set(counts)):
            dead.add_metric([stage], counts.get(stage, 0))
        yield dead
        from shared.stage_control import paused_stages

        held = paused_stages()
        paused = GaugeMetricFamily("newswire_stage_paused", "1 while an operator holds the stage's queue "
                                   "(newswire stages pause; POST /stages/{stage}/pause)", labels=["stage"])
        for stage in STAGES:
            paused.add_metric([stage], 1.0 if stage in held else 0.0)
        yield paused
        # The publish backlog lives in the deliveries table, not in a queue: scale and alert on this.
        pending = GaugeMetricFamily("newswire_deliveries_pending",
                                    "Deliveries waiting to be sent (pending, retrying or being sent) per target",
                                    labels=["target"])
        from shared.store import Delivery

        with session_scope() as session:
            waiting = dict(session.execute(
                select(Delivery.target, func.count())
                .where(Delivery.status.in_(("pending", "retrying", "sending"))).group_by(Delivery.target)
            ).all())
        targets = known_targets()
        for target in sorted(set(targets) | set(waiting)):
            pending.add_metric([target], waiting.get(target, 0))
        yield pending
        for name, help_text in (("breaker_open", "1 while the target's circuit breaker is open"),
                                ("target_disabled", "1 while the target is disabled (paused or failing for good)")):
            gauge = GaugeMetricFamily(f"newswire_{name}", help_text, labels=["target"])
            values = _provided(name)
            for target in sorted(set(targets) | set(values)):
                gauge.add_metric([target], values.get(target, 0.0))
            yield gauge
        suspended = GaugeMetricFamily("newswire_source_suspended",
                                      "1 while the source is suspended after repeated failures",
                                      labels=["source"])
        values = _provided("source_suspended", _suspended_sources)
        for source, value in sorted(values.items()):
            suspended.add_metric([source], value)
        yield suspended
        # Hook jobs not finished (issue 6): pending that stays up means the broker was down and the sweep has not
        # run (is the scheduler up?); queued that stays up means no publish worker consumes.
        waiting = GaugeMetricFamily("newswire_jobs_waiting", "Hook jobs not finished, by status (pending, queued, "
                                    "running)", labels=["status"])
        from shared.store.models import Job

        with session_scope() as session:
            counts = dict(session.execute(
                select(Job.status, func.count()).where(Job.status.in_(("pending", "queued", "running")))
                .group_by(Job.status)).all())
        for status in ("pending", "queued", "running"):
            waiting.add_metric([status], counts.get(status, 0))
        yield waiting
        from shared import handoff

        ledger = GaugeMetricFamily("newswire_handoff_pending", "Hand-offs between stages sent and not yet ended "
                                   "(waiting, running, retrying, or lost and about to be sent again)")
        ledger.add_metric([], handoff.pending())
        yield ledger


def _provided(name: str, default: Callable[[], dict[str, float]] | None = None) -> dict[str, float]:
    provider = GAUGE_PROVIDERS.get(name, default)
    if provider is None:
        return {}
    try:
        return {str(k): float(v) for k, v in provider().items()}
    except Exception as exc:  # noqa: BLE001
        log.warning("gauge %s not available: %s", name, exc)
        return {}


def render_metrics() -> bytes:
    metrics.maybe_sample_queues()
    registry = CollectorRegistry(auto_describe=False)
    registry.register(NewswireCollector())  # type: ignore[arg-type]
    return generate_latest(registry)


@router.get("/metrics", include_in_schema=True, response_class=Response, tags=["health"],
            summary="Prometheus metrics (open unless NEWSWIRE_METRICS_REQUIRE_TOKEN)")
def metrics_endpoint(request: Request) -> Response:
    """Prometheus metrics of the whole deployment (every worker's counters are in Redis)."""
    if get_settings().metrics_require_token:
        from services.api.console.access import principal_from_request

        if principal_from_request(request) is None:
            return Response("a valid API token is required (Authorization: Bearer ...)\n", status_code=401,
                            media_type="text/plain", headers={"WWW-Authenticate": "Bearer"})
    return Response(render_metrics(), media_type=CONTENT_TYPE_LATEST)

