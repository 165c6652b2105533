"""What the console shows: plain functions reading Redis and the store, returning JSON-ready dicts.

Each page and its JSON twin (/console/api/...) use the same function, so the page, the API and the tests
see one truth.
"""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import String, cast, func, or_, select

from shared import metrics
from shared.payload import article_id_for, utcnow
from shared.settings import STAGES
from shared.store import Article, ArticleVersion, DeadLetter, Delivery, DeliveryAttempt, Source, session_scope
from shared.store.models import AuditLog
from shared.telemetry import get_logger

log = get_logger(__name__)


# -- overview ----------------------------------------------------------------
def workers_detail() -> list[dict[str, Any]]:
    """Every live worker: stage, host, when its last heartbeat was written and when it started."""
    from shared.redis_client import get_redis
    from shared.workers import HEARTBEAT_PREFIX, HEARTBEAT_TTL

    client = get_redis()
    keys = list(client.scan_iter(match=f"{HEARTBEAT_PREFIX}*", count=200))
    if not keys:
        return []
    pipe = client.pipeline(transaction=False)
    for key in keys:
        pipe.get(key)
        pipe.ttl(key)
    replies = pipe.execute()
    now = time.time()
    workers = []
    for index, key in enumerate(keys):
        value, ttl = replies[2 * index], replies[2 * index + 1]
        _, _, stage, hostname = key.decode().split(":", 3)
        try:
            info = json.loads(value) if value else {}
        except ValueError:
            info = {}
        age = max(0, HEARTBEAT_TTL - ttl) if isinstance(ttl, int) and ttl >= 0 else None
        started = info.get("started")
        workers.append({"stage": stage, "hostname": hostname, "heartbeat_age": age,
                        "up_seconds": round(now - started) if started else None})
    return sorted(workers, key=lambda w: (STAGES.index(w["stage"]) if w["stage"] in STAGES else 99, w["hostname"]))


def overview(hours: float = 3.0, minutes: int = 60) -> dict[str, Any]:
    from shared.redis_client import get_redis

    metrics.maybe_sample_queues()
    queues = metrics.queue_snapshot()
    per_minute = metrics.minutes(minutes)
    latency = metrics.latency_summary(15)
    history = metrics.queue_history(hours * 3600)
    with session_scope() as session:
        dead = dict(session.execute(
            select(DeadLetter.stage, func.count()).where(DeadLetter.status == "open").group_by(DeadLetter.stage)
        ).all())
    workers = workers_detail()
    now = time.time()
    stages = []
    for stage in STAGES:
        recent = per_minute[-15:]
        last_full = per_minute[-2]["stages"][stage] if len(per_minute) > 1 else {"succeeded": 0, "failed": 0}
        stages.append({
            "stage": stage,
            "queued": queues[stage]["depth"],
            "oldest_age": queues[stage]["oldest_age"],
            "workers": sum(1 for w in workers if w["stage"] == stage),
            "succeeded_last_minute": last_full["succeeded"],
            "failed_last_minute": last_full["failed"],
            "succeeded_15m": sum(m["stages"][stage]["succeeded"] for m in recent),
            "failed_15m": sum(m["stages"][stage]["failed"] for m in recent),
            "retried_15m": sum(m["stages"][stage]["retried"] for m in recent),
            "p50": latency[stage]["p50"],
            "p95": latency[stage]["p95"],
            "dead_letters": dead.get(stage, 0),
            # the samples, then the value now
            "depth_series": [[s["t"], s["q"].get(stage, [0, 0])[0]] for s in history] + [[now, queues[stage]["depth"]]],
            "age_series": [[s["t"], s["q"].get(stage, [0, 0])[1]] for s in history] + [[now, queues[stage]["oldest_age"]]],
            "throughput_series": [[m["minute"], m["stages"][stage]["succeeded"]] for m in per_minute],
            "failure_series": [[m["minute"], m["stages"][stage]["failed"]] for m in per_minute],
        })
    try:
        unacked = get_redis().hlen("unacked")
    except Exception:  # noqa: BLE001
        unacked = None
    return {"stages": stages, "workers": workers, "unacked": unacked, "history_hours": hours,
            "samples": len(history), "sample_interval": metrics.sample_interval(), "generated_at": time.time()}


# -- sources -----------------------------------------------------------------
SOURCE_FIELDS = ("id", "kind", "url", "title", "status", "interval_seconds", "error_streak", "last_error")


def sources(limit: int = 500, q: str | None = None, status: str | None = None) -> dict[str, Any]:
    since = utcnow() - timedelta(days=1)
    with session_scope() as session:
        query = select(Source).order_by(Source.error_streak.desc(), Source.id).limit(limit)
        if q:
            query = query.where(or_(Source.url.contains(q), Source.title.contains(q)))
        if status:
            query = query.where(Source.status == status)
        rows = list(session.execute(query).scalars())
        total = session.execute(select(func.count()).select_from(Source)).scalar_one()
        ids = [row.id for row in rows]
        per_day = dict(session.execute(
            select(Article.source_id, func.count()).where(Article.source_id.in_(ids), Article.created_at >= since)
            .group_by(Article.source_id)
        ).all()) if ids else {}
        items = []
        for row in rows:
            item = {field: getattr(row, field) for field in SOURCE_FIELDS}
            # Columns the ingest health work may add show up without a change here.
            for extra in ("name", "health", "suspended_reason", "items_per_day"):
                if hasattr(row, extra):
                    item[extra] = getattr(row, extra)
            item["last_fetched_at"] = row.last_fetched_at.isoformat() if row.last_fetched_at else None
            item["next_fetch_at"] = row.next_fetch_at.isoformat() if row.next_fetch_at else None
            item.setdefault("items_per_day", per_day.get(row.id, 0))
            item["health"] = item.get("health") or _source_health(row)
            items.append(item)
    return {"items": items, "total": total}


def _source_health(row: Source) -> str:
    if row.status != "active":
        return row.status
    if row.error_streak >= 3:
        return "failing"
    if row.error_streak:
        return "erroring"
    if row.last_fetched_at is None:
        return "new"
    return "ok"


# -- targets -----------------------------------------------------------------
def _public_url(url: str) -> str:
    """scheme://host/path: no credentials, no query (where secrets hide)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return f"{parts.scheme}://{host}{parts.path}"


def targets() -> dict[str, Any]:
    from services.api.metrics import GAUGE_PROVIDERS, _provided

    configured: dict[str, Any] = {}
    config_error = None
    try:
        from services.publish.targets import configured_targets

        configured = configured_targets()
    except Exception as exc:  # noqa: BLE001
        config_error = str(exc)
    since = utcnow() - timedelta(days=1)
    with session_scope() as session:
        by_status: dict[str, dict[str, int]] = {}
        for target, status, count in session.execute(
            select(Delivery.target, Delivery.status, func.count()).group_by(Delivery.target, Delivery.status)
        ).all():
            by_status.setdefault(target, {})[status] = count
        attempts: dict[str, list[tuple[float, int | None, str | None]]] = {}
        for target, duration, code, error in session.execute(
            select(Delivery.target, DeliveryAttempt.duration_ms, DeliveryAttempt.status_code, DeliveryAttempt.error)
            .join(Delivery, Delivery.id == DeliveryAttempt.delivery_id)
            .where(DeliveryAttempt.started_at >= since)
            .order_by(DeliveryAttempt.id.desc())
            .limit(20000)
        ).all():
            attempts.setdefault(target, []).append((duration, code, error))
        last_errors = dict(session.execute(
            select(Delivery.target, Delivery.last_error)
            .where(Delivery.id.in_(select(func.max(Delivery.id)).where(Delivery.last_error.is_not(None))
                                   .group_by(Delivery.target)))
        ).all())
    breakers = _provided("breaker_open")
    disabled = _provided("target_disabled")
    reasons = _provided_text("target_disabled_reason")
    items = []
    for name in sorted(set(configured) | set(by_status)):
        counts = by_status.get(name, {})
        tried = attempts.get(name, [])
        ok = sum(1 for _, _, error in tried if error is None)
        durations = sorted(d for d, _, _ in tried)
        target = configured.get(name)
        items.append({
            "name": name,
            "kind": getattr(target, "kind", None),
            "url": _public_url(target.url) if target is not None else None,
            "configured": target is not None,
            "deliveries": counts,
            "attempts_24h": len(tried),
            "success_rate_24h": round(ok / len(tried), 4) if tried else None,
            "latency_p50_ms": _nearest_rank(durations, 0.50),
            "latency_p95_ms": _nearest_rank(durations, 0.95),
            "last_error": last_errors.get(name),
            "breaker": ("open" if breakers.get(name) else "closed") if "breaker_open" in GAUGE_PROVIDERS else None,
            "disabled": bool(disabled.get(name)) if "target_disabled" in GAUGE_PROVIDERS else None,
            "disabled_reason": reasons.get(name),
        })
    return {"items": items, "config_error": config_error,
            "breakers_available": "breaker_open" in GAUGE_PROVIDERS}


def _nearest_rank(ordered: list[float], q: float) -> float | None:
    return ordered[int(round(q * (len(ordered) - 1)))] if ordered else None


def _provided_text(name: str) -> dict[str, str]:
    from services.api.metrics import GAUGE_PROVIDERS

    provider = GAUGE_PROVIDERS.get(name)
    try:
        return {str(k): str(v) for k, v in provider().items()} if provider else {}
    except Exception:  # noqa: BLE001
        return {}


# -- dead letters ------------------------------------------------------------
class LetterFilter:
    """stage, source (a source id, or text in the URL), target, error (text in the error or its type), status,
    and an id range (from_id..to_id)."""

    FIELDS = ("stage", "source", "target", "error", "status", "from_id", "to_id", "article_id", "since")

    def __init__(self, **values: Any) -> None:
        self.values = {k: (str(v).strip() if v is not None else "") for k, v in values.items() if k in self.FIELDS}

    def get(self, key: str) -> str:
        return self.values.get(key, "")

    def as_dict(self) -> dict[str, str]:
        return {k: v for k, v in self.values.items() if v}

    def query(self):  # noqa: ANN201
        query = select(DeadLetter).outerjoin(Article, Article.id == DeadLetter.article_id)
        if self.get("stage"):
            query = query.where(DeadLetter.stage == self.get("stage"))
        status = self.get("status") or "open"
        if status != "any":
            query = query.where(DeadLetter.status == status)
        if self.get("error"):
            text = self.get("error")
            query = query.where(or_(DeadLetter.error.contains(text), DeadLetter.error_type.contains(text)))
        source = self.get("source")
        if source:
            if source.isdigit():
                query = query.where(Article.source_id == int(source))
            else:
                query = query.where(DeadLetter.url.contains(source))
        target = self.get("target")
        if target:
            query = query.where(or_(cast(DeadLetter.payload, String).contains(f'"target": "{target}"'),
                                    cast(DeadLetter.payload, String).contains(f'"target":"{target}"')))
        if self.get("article_id"):
            query = query.where(DeadLetter.article_id == self.get("article_id"))
        if self.get("since"):
            try:
                since = datetime.fromisoformat(self.get("since").replace("Z", "+00:00"))
            except ValueError:
                since = None
            if since is not None:
                query = query.where(DeadLetter.created_at >= (since if since.tzinfo else since.replace(
                    tzinfo=timezone.utc)))
        for key, op in (("from_id", "ge"), ("to_id", "le")):
            if self.get(key).isdigit():
                bound = int(self.get(key))
                query = query.where(DeadLetter.id >= bound if op == "ge" else DeadLetter.id <= bound)
        return query


def letter_dict(letter: DeadLetter, with_payload: bool = True) -> dict[str, Any]:
    payload = letter.payload if isinstance(letter.payload, dict) else {}
    item = {
        "id": letter.id, "stage": letter.stage, "task": letter.task, "article_id": letter.article_id,
        "url": letter.url, "error": letter.error, "error_type": letter.error_type, "attempts": letter.attempts,
        "status": letter.status, "created_at": letter.created_at.isoformat(),
        "target": payload.get("target") if isinstance(payload.get("target"), str) else None,
        "source_id": payload.get("source_id"),
    }
    if with_payload:
        item["payload"] = letter.payload
    return item


def dead_letters(flt: LetterFilter, limit: int = 100, before_id: int | None = None) -> dict[str, Any]:
    with session_scope() as session:
        query = flt.query().order_by(DeadLetter.id.desc()).limit(limit + 1)
        if before_id:
            query = query.where(DeadLetter.id < before_id)
        rows = list(session.execute(query).scalars())
        count = session.execute(select(func.count()).select_from(flt.query().subquery())).scalar_one()
        items = [letter_dict(letter) for letter in rows[:limit]]
        stages = dict(session.execute(
            select(DeadLetter.stage, func.count()).where(DeadLetter.status == "open").group_by(DeadLetter.stage)
        ).all())
    return {"items": items, "matching": count, "next_before": rows[limit - 1].id if len(rows) > limit else None,
            "open_by_stage": stages, "filter": flt.as_dict()}


def dead_letter(letter_id: int) -> dict[str, Any] | None:
    with session_scope() as session:
        letter = session.get(DeadLetter, letter_id)
        return letter_dict(letter) if letter else None


# -- stories -----------------------------------------------------------------
def search_stories(q: str, limit: int = 50) -> list[dict[str, Any]]:
    q = (q or "").strip()
    if not q:
        return []
    with session_scope() as session:
        conditions = [Article.id == q, Article.url == q, Article.canonical_url == q, Article.title.contains(q)]
        if q.startswith(("http://", "https://")):
            conditions.append(Article.id == article_id_for(q))
        rows = session.execute(
            select(Article).where(or_(*conditions)).order_by(Article.updated_at.desc()).limit(limit)
        ).scalars()
        return [{"id": a.id, "url": a.url, "title": a.title, "latest_version": a.latest_version,
                 "updated_at": a.updated_at.isoformat(), "source_id": a.source_id} for a in rows]


def story(article_id: str) -> dict[str, Any] | None:
    """The article with its versions, deliveries and attempts, dead letters, audit entries, and one timeline."""
    from services.api.app import article_detail

    detail = article_detail(article_id)
    with session_scope() as session:
        letters = [letter_dict(letter, with_payload=True) for letter in session.execute(
            select(DeadLetter).where(DeadLetter.article_id == article_id).order_by(DeadLetter.id)).scalars()]
        audits = [{"at": e.at.isoformat(), "actor": e.actor, "action": e.action, "result": e.result,
                   "message": e.message} for e in session.execute(
            select(AuditLog).where(AuditLog.subject.contains(article_id)).order_by(AuditLog.id)).scalars()]
    if detail is None and not letters:
        return None
    detail = detail or {"id": article_id, "url": letters[0]["url"], "title": None, "versions": []}
    timeline: list[dict[str, Any]] = []
    for version in detail.get("versions", []):
        number = version.get("version")
        for step in version.get("trace") or []:
            timeline.append({"at": step.get("start"), "until": step.get("finish"), "kind": "stage",
                             "what": step.get("stage"), "version": number, "attempt": step.get("attempt"),
                             "worker": step.get("worker"), "outcome": step.get("outcome", "ok"),
                             "task_id": step.get("task_id")})
        for decision in version.get("routing") or []:
            timeline.append({"at": decision.get("at") or version.get("published_at"), "kind": "routing",
                             "what": decision.get("target"), "version": number,
                             "outcome": decision.get("decision") or decision.get("outcome"),
                             "detail": decision.get("reason")})
        for delivery in version.get("deliveries") or []:
            for attempt in delivery.get("attempt_log") or []:
                timeline.append({"at": attempt["started_at"], "kind": "delivery", "what": delivery["target"],
                                 "version": number, "attempt": attempt["attempt"], "worker": attempt.get("worker"),
                                 "outcome": "ok" if attempt.get("error") is None else "failed",
                                 "detail": attempt.get("error") or f"HTTP {attempt.get('status_code')}",
                                 "duration_ms": attempt.get("duration_ms")})
    for letter in letters:
        timeline.append({"at": letter["created_at"], "kind": "dead-letter", "what": letter["stage"],
                         "outcome": letter["status"], "detail": f"{letter['error_type']}: {letter['error']}",
                         "letter": letter["id"]})
    for entry in audits:
        timeline.append({"at": entry["at"], "kind": "action", "what": entry["action"], "outcome": entry["result"],
                         "detail": entry["actor"]})
    timeline.sort(key=lambda item: _when(item.get("at")))
    detail["dead_letters"] = letters
    detail["audit"] = audits
    detail["timeline"] = timeline
    return detail


def _when(value: Any) -> float:
    from datetime import datetime

    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()
    except ValueError:
        return 0.0


# -- counts for the header -----------------------------------------------------
def open_dead_letters() -> int:
    with session_scope() as session:
        return session.execute(select(func.count()).select_from(DeadLetter).where(DeadLetter.status == "open")).scalar_one()


__all__ = ["overview", "sources", "targets", "dead_letters", "dead_letter", "search_stories", "story", "LetterFilter",
           "workers_detail", "open_dead_letters"]
