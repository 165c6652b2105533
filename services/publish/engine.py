"""The delivery engine: plan deliveries for an article version, then drain each target's due deliveries.

- One row per (article version, target, event) in ``deliveries``, its idempotency key stored before any send.
- A drain claims a batch of due rows (compare-and-set to ``sending`` with a lease and a claim token), so a
  redelivered or duplicated task never sends a delivered row again and two workers never send the same row.
- Every attempt is logged; failures are retried on the target's schedule (Retry-After wins when longer);
  4xx other than 408/409/425/429 are final; 410 disables the target; an exhausted row is a dead letter.
- Per-target rate, concurrency and circuit breaker live in Redis (services.publish.limits).
- Latest wins: planning version n supersedes the same target's still-pending rows of earlier versions.
"""

from __future__ import annotations

import json
import queue
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import orjson
from redis.exceptions import RedisError
from sqlalchemy import Text, and_, bindparam, cast, func, or_, select, union_all, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from shared import http, metrics
from shared.payload import utcnow
from shared.settings import get_settings
from shared.store import Article, ArticleVersion, Delivery, DeliveryAttempt, session_scope, store_unavailable
from shared.store.models import PublishEvent, RoutingDecision, TargetState
from shared.telemetry import get_logger, worker_name
from services.publish import state as target_state
from services.publish.formats import article_document
from services.publish.limits import Limits, Slots
from services.publish.routing import decide
from services.publish.targets import Outgoing, SendError, Sent, TargetBase, send

log = get_logger(__name__)
DUE = ("pending", "retrying")
LEASE = timedelta(seconds=120)
# Batches a drain keeps claimed ahead of the one it records: the senders always have a whole batch queued while
# the drain thread claims and records (on PostgreSQL recording a batch takes about as long as sending one).
AHEAD = 2
RECORD_RETRY_SECONDS = 60.0  # a sent batch's outcome is recorded again for this long while the database is away


def idempotency_key(article_id: str, version: int, target: str, event: str = "publish") -> str:
    """One key per (article version, target); a correction or retraction of that version gets its own."""
    base = f"msg_{article_id.replace('-', '')}_v{version}_{target}"
    return base + f"_{event}" if event in ("retract", "correct") else base


def schedule_for(target: TargetBase) -> list[float]:
    settings = get_settings()
    schedule = target.schedule or [float(part) for part in settings.delivery_schedule.split(",") if part.strip()]
    return schedule[: max(1, settings.delivery_max_attempts)]


def _insert(session: Any):  # noqa: ANN202
    return pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert


# -- planning -----------------------------------------------------------------------------------------------
def earlier_recipients(session: Any, article_id: str, below_version: int) -> set[str]:
    """Targets that got (or are owed) an earlier version of the article."""
    rows = session.execute(
        select(Delivery.target).join(ArticleVersion, ArticleVersion.id == Delivery.version_id)
        .where(ArticleVersion.article_id == article_id, ArticleVersion.version < below_version,
               Delivery.status.in_(("delivered", "sending", "pending", "retrying", "failed", "superseded")))
        .distinct()
    ).scalars()
    return set(rows)


def delivered_to(session: Any, article_id: str) -> set[str]:
    rows = session.execute(
        select(Delivery.target).join(ArticleVersion, ArticleVersion.id == Delivery.version_id)
        .where(ArticleVersion.article_id == article_id, Delivery.status == "delivered", Delivery.event != "retract")
        .distinct()
    ).scalars()
    return set(rows)


def add_delivery(session: Any, version: ArticleVersion, target: TargetBase, event: str) -> bool:
    """Insert the row (idempotent); True if it is new. Feeds are delivered on the spot: they are read."""
    now = utcnow()
    values = dict(version_id=version.id, target=target.name, event=event,
                  idempotency_key=idempotency_key(version.article_id, version.version, target.name, event),
                  status="pending" if target.pushes else "delivered", attempts=0, attempt_base=0,
                  created_at=now, next_attempt_at=now, delivered_at=None if target.pushes else now)
    result = session.execute(_insert(session)(Delivery).values(**values)
                             .on_conflict_do_nothing(index_elements=["version_id", "target", "event", "generation"]))
    return bool(result.rowcount)


def supersede(session: Any, article_id: str, version: int, target: str) -> int:
    """Pending rows of earlier versions for this target: not sent, the newer version replaces them."""
    earlier = select(ArticleVersion.id).where(ArticleVersion.article_id == article_id,
                                              ArticleVersion.version < version)
    return session.execute(
        update(Delivery)
        .where(Delivery.target == target, Delivery.status.in_(DUE), Delivery.event != "retract",
               Delivery.version_id.in_(earlier))
        .values(status="superseded", last_error=f"superseded by version {version}", next_attempt_at=None)
        .execution_options(synchronize_session=False)
    ).rowcount


def plan(version_id: int, targets: dict[str, TargetBase], *, correction: bool = False) -> list[str]:
    """Route one published version to every target, record each decision, create the deliveries.

    Returns the names of targets with a new delivery (feeds included). Safe to run twice."""
    touched: list[str] = []
    with session_scope() as session:
        version = session.get(ArticleVersion, version_id)
        article = session.get(Article, version.article_id)
        doc = article_document(article, version)
        earlier = earlier_recipients(session, article.id, version.version) if version.version > 1 else set()
        got = delivered_to(session, article.id) if version.version > 1 else set()
        done = set(session.execute(select(RoutingDecision.target)
                                   .where(RoutingDecision.version_id == version_id)).scalars())
        for name, target in sorted(targets.items()):
            if name in done:
                continue
            decision = decide(target, doc, article.source_id, name in earlier)
            session.execute(_insert(session)(RoutingDecision).values(
                version_id=version_id, target=name, decision=decision.decision, rule=decision.rule,
                reason=decision.reason, at=utcnow()).on_conflict_do_nothing(index_elements=["version_id", "target"]))
            if decision.decision != "send":
                continue
            event = "correct" if correction and name in got else ("update" if name in got else "publish")
            supersede(session, article.id, version.version, name)
            if add_delivery(session, version, target, event):
                touched.append(name)
    return touched


# -- draining -------------------------------------------------------------------------------------------------
@dataclass
class Claimed:
    delivery_id: int
    attempt: int
    round_attempt: int
    outgoing: Outgoing
    started: datetime | None = None
    duration_ms: float = 0.0
    sent: Sent | None = None
    error: SendError | None = None


@dataclass
class DrainReport:
    target: str
    sent: int = 0
    delivered: int = 0
    retrying: int = 0
    failed: int = 0
    stopped: str | None = None  # why it stopped: idle, paused, disabled, breaker-open, busy, time, rate
    next_due: datetime | None = None
    dead: list[dict[str, Any]] = field(default_factory=list)


def lease_for(target: TargetBase, count: int, width: int) -> timedelta:
    """Long enough for the batch at its worst (every send timing out), and no longer: a dead worker's rows are
    claimed again when it runs out."""
    timeout = float(getattr(target, "timeout", 15.0))
    return timedelta(seconds=-(-count // max(1, width)) * timeout + 30)


_versions = ArticleVersion.__table__
_articles = Article.__table__
# The JSON columns are read as text and parsed here with orjson: about a quarter of the claim's CPU went to the
# driver's json.loads of every claimed version's clean/enrich (the same values; json.loads as the fallback).
_DOCUMENT_COLUMNS = select(
    _versions.c.id, _versions.c.article_id, _versions.c.version, _versions.c.content_hash,
    _versions.c.published_at, _versions.c.created_at, cast(_versions.c.clean, Text).label("clean_text"),
    cast(_versions.c.enrich, Text).label("enrich_text"), _articles.c.url, _articles.c.canonical_url,
    _articles.c.created_at.label("article_created_at"),
).join(_articles, _articles.c.id == _versions.c.article_id)


def _loads(text: str | None) -> Any:  # noqa: ANN401
    if text is None:
        return None
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:  # what orjson refuses and json accepts (NaN, integers past 64 bits)
        return json.loads(text)


@dataclass
class _ArticleRow:
    id: str
    url: str
    canonical_url: str | None
    created_at: datetime


@dataclass
class _VersionRow:
    id: int
    article_id: str
    version: int
    clean: dict[str, Any] | None
    enrich: dict[str, Any] | None
    content_hash: str
    published_at: datetime | None
    created_at: datetime
    article: _ArticleRow


def _documents(session: Any, version_ids: set[int]) -> dict[int, _VersionRow]:
    """The claimed versions with their articles, in one Core query (no ORM objects)."""
    found = {}
    for row in session.connection().execute(_DOCUMENT_COLUMNS.where(_versions.c.id.in_(version_ids))):
        article = _ArticleRow(row.article_id, row.url, row.canonical_url, row.article_created_at)
        found[row.id] = _VersionRow(row.id, row.article_id, row.version, _loads(row.clean_text),
                                    _loads(row.enrich_text), row.content_hash, row.published_at, row.created_at,
                                    article)
    return found


def _candidates(name: str, now: datetime, limit: int) -> Any:  # noqa: ANN401
    """Ids of rows that may be due: the earliest ``limit`` of each waiting status, each read in the order of the
    index (target, status, next_attempt_at), and the lapsed claims. One condition with an OR across statuses
    made the databases read every row of the target, delivered ones included, and sort them: a claim's cost grew
    with the table's whole history (6 ms a batch at 20,000 rows on SQLite); this reads about a batch's rows."""
    waiting = [select(Delivery.id).where(Delivery.target == name, Delivery.status == status,
                                         or_(Delivery.next_attempt_at.is_(None), Delivery.next_attempt_at <= now))
               .order_by(Delivery.next_attempt_at).limit(limit).subquery() for status in DUE]
    lapsed = (select(Delivery.id).where(Delivery.target == name, Delivery.status == "sending",
                                        Delivery.claimed_until < now).limit(limit).subquery())
    return union_all(*(select(part.c.id) for part in (*waiting, lapsed)))


def claim(target: TargetBase, limit: int, lease: timedelta = LEASE) -> list[Claimed]:
    """Claim up to ``limit`` due rows of this target in one statement (UPDATE ... RETURNING: compare-and-set to
    ``sending`` with a lease and a claim token), then read what is sent for them in one more."""
    now = utcnow()
    token = uuid.uuid4().hex
    due = or_(and_(Delivery.status.in_(DUE), or_(Delivery.next_attempt_at.is_(None), Delivery.next_attempt_at <= now)),
              and_(Delivery.status == "sending", Delivery.claimed_until < now))
    with session_scope() as session:
        candidates = _candidates(target.name, now, limit).subquery()
        ids = (select(Delivery.id).where(Delivery.id.in_(select(candidates.c.id)), due)
               .order_by(Delivery.id).limit(limit))
        if session.get_bind().dialect.name == "postgresql":
            # Chosen first, then updated: PostgreSQL may run an IN (... LIMIT n FOR UPDATE SKIP LOCKED) subquery
            # more than once inside an UPDATE, each time skipping what it locked before: more than n rows.
            chosen = list(session.execute(ids.with_for_update(skip_locked=True)).scalars())
            if not chosen:
                return []
            which = Delivery.id.in_(chosen)
        else:
            which = Delivery.id.in_(ids.scalar_subquery())  # SQLite evaluates it once; one statement, one lock
        taken = sorted(session.execute(
            update(Delivery).where(which, due)
            .values(status="sending", claimed_by=token, claimed_until=now + lease, attempts=Delivery.attempts + 1)
            .returning(Delivery.id, Delivery.version_id, Delivery.event, Delivery.idempotency_key,
                       Delivery.attempts, Delivery.attempt_base)
            .execution_options(synchronize_session=False)
        ).all())
        if not taken:
            return []
        versions = _documents(session, {row.version_id for row in taken})
        articles = {version.article_id: version.article for version in versions.values()}
        notes: dict[str, str | None] = {}
        remote: dict[str, str] = {}
        lifecycle = {versions[row.version_id].article_id for row in taken if row.event in ("correct", "retract")}
        if lifecycle:
            for event in session.execute(select(PublishEvent).where(PublishEvent.article_id.in_(lifecycle))
                                         .order_by(PublishEvent.id)).scalars():
                notes[event.article_id] = event.note
        if target.kind == "wordpress":  # type: ignore[attr-defined]
            for article_id, remote_id in session.execute(
                select(ArticleVersion.article_id, Delivery.remote_id)
                .join(ArticleVersion, ArticleVersion.id == Delivery.version_id)
                .where(Delivery.target == target.name, Delivery.remote_id.is_not(None),
                       ArticleVersion.article_id.in_(set(articles)))
                .order_by(Delivery.id)
            ).all():
                remote[article_id] = remote_id
        claimed = []
        for row in taken:
            version = versions[row.version_id]
            article = version.article
            doc = article_document(article, version)  # type: ignore[arg-type]  (rows with the same attributes)
            doc["event"] = row.event
            if row.event in ("correct", "retract"):
                doc["lifecycle_note"] = notes.get(article.id)
            claimed.append(Claimed(row.id, row.attempts, row.attempts - row.attempt_base,
                                   Outgoing(row.idempotency_key, row.event, doc, remote.get(article.id),
                                            row.attempts)))
        return claimed


def unclaim(ids: list[int]) -> None:
    """Claimed but not sent (the target went away mid-batch): back to waiting, the attempt not counted."""
    if not ids:
        return
    with session_scope() as session:
        session.execute(update(Delivery).where(Delivery.id.in_(ids), Delivery.status == "sending")
                        .values(status="pending", claimed_by=None, claimed_until=None,
                                attempts=Delivery.attempts - 1)
                        .execution_options(synchronize_session=False))


def _send_one(target: TargetBase, item: Claimed, connections: http.Connections | None = None) -> Claimed:
    item.started = utcnow()
    clock = time.perf_counter()
    try:
        item.sent = send(target, item.outgoing, connections)
    except SendError as exc:
        item.error = exc
    except Exception as exc:  # noqa: BLE001  (a bug or an unexpected library error: logged, retried)
        log.exception("delivery %d to %s raised", item.delivery_id, target.name)
        item.error = SendError(f"{type(exc).__name__}: {exc}", transient=True)
    item.duration_ms = round((time.perf_counter() - clock) * 1000, 2)
    return item


_table = Delivery.__table__
# One statement for the whole batch (executemany): the outcome of each claimed row, its claim released.
_RECORD = (update(_table).where(_table.c.id == bindparam("_id", type_=_table.c.id.type))
           .values(status=bindparam("_status", type_=_table.c.status.type),
                   last_status_code=bindparam("_last_status_code", type_=_table.c.last_status_code.type),
                   last_error=bindparam("_last_error", type_=_table.c.last_error.type),
                   next_attempt_at=bindparam("_next_attempt_at", type_=_table.c.next_attempt_at.type),
                   delivered_at=func.coalesce(bindparam("_delivered_at", type_=_table.c.delivered_at.type),
                                              _table.c.delivered_at),
                   remote_id=func.coalesce(bindparam("_remote_id", type_=_table.c.remote_id.type), _table.c.remote_id),
                   claimed_by=None, claimed_until=None))


_attempts = DeliveryAttempt.__table__


def _latest_attempt(column: Any) -> Any:  # noqa: ANN401
    return (select(column).where(_attempts.c.delivery_id == _table.c.id).order_by(_attempts.c.id.desc()).limit(1)
            .correlate(_table).scalar_subquery())


# Delivered rows (no remote id to keep): their time and status come from the attempt just logged, so the whole
# batch is one UPDATE ... WHERE id IN (...), not one parameter set per row.
_DELIVERED = (update(_table)
              .values(status="delivered", last_error=None, next_attempt_at=None, claimed_by=None, claimed_until=None,
                      delivered_at=_latest_attempt(_attempts.c.started_at),
                      last_status_code=_latest_attempt(_attempts.c.status_code))
              .execution_options(synchronize_session=False))


def record(target: TargetBase, items: list[Claimed], report: DrainReport) -> None:
    settings = get_settings()
    schedule = schedule_for(target)
    now = utcnow()
    attempts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    delivered: list[int] = []
    worker = worker_name()
    gone_reason = None
    before = (report.delivered, report.retrying, report.failed)
    for item in items:
        error = item.error
        attempts.append({
            "delivery_id": item.delivery_id, "attempt": item.attempt, "started_at": item.started or now,
            "duration_ms": item.duration_ms,
            "status_code": error.status_code if error else (item.sent.status_code if item.sent else None),
            "error": error.reason if error else None, "worker": worker,
            "response_excerpt": error.excerpt if error else (item.sent.excerpt if item.sent else None),
        })
        change: dict[str, Any] = {"_id": item.delivery_id, "_last_status_code": attempts[-1]["status_code"],
                                  "_delivered_at": None, "_remote_id": None}
        if error is None:
            change.update(_status="delivered", _delivered_at=item.started or now, _last_error=None,
                          _next_attempt_at=None, _remote_id=item.sent.remote_id if item.sent else None)
            report.delivered += 1
        elif error.transient and item.round_attempt < len(schedule):
            delay = schedule[item.round_attempt]
            if error.retry_after is not None:
                delay = max(delay, min(error.retry_after, 86400.0))
            change.update(_status="retrying", _last_error=error.reason,
                          _next_attempt_at=now + timedelta(seconds=delay))
            report.retrying += 1
        else:
            change.update(_status="failed", _last_error=error.reason, _next_attempt_at=None)
            report.failed += 1
            report.dead.append({"delivery_id": item.delivery_id, "id": item.outgoing.document["id"],
                                "version": item.outgoing.document["version"], "target": target.name,
                                "event": item.outgoing.event, "url": item.outgoing.document["url"],
                                "error": error.reason, "attempts": item.attempt})
        if error is not None and error.gone:
            gone_reason = error.reason
        if error is None and change["_remote_id"] is None:
            delivered.append(item.delivery_id)  # the common case: one statement for all of them, below
        else:
            updates.append(change)
    report.sent += len(items)
    with session_scope() as session:
        session.execute(DeliveryAttempt.__table__.insert(), attempts)
        if delivered:
            session.execute(_DELIVERED.where(_table.c.id.in_(delivered)))
        if updates:
            session.execute(_RECORD, updates)
        disabled = target_state.record_outcomes(
            session, target.name, any(i.error is None for i in items), any(i.error is not None for i in items),
            target.disable_after or settings.disable_after)
        if gone_reason:
            target_state.disable(session, target.name, gone_reason)
        if disabled or gone_reason:
            log.error("target %s disabled: %s", target.name, gone_reason or disabled)
    after = (report.delivered, report.retrying, report.failed)
    for outcome, count in zip(("delivered", "retry", "failed"), (a - b for a, b in zip(after, before))):
        if count:  # this batch's outcomes (the report counts the whole drain)
            metrics.count_delivery(target.name, outcome, count)


class _Outcomes:
    """A batch's send outcomes for the target's shared circuit breaker, in the order they happened.

    A failure is recorded at once (with the successes before it), so the breaker opens mid-batch and the rest
    of the batch is not sent; successes alone are recorded once, when the batch ends (they only reset the
    failure streak and close a half-open breaker): one Redis round trip per batch instead of one per send."""

    def __init__(self, limits: Limits, threshold: int) -> None:
        self.limits = limits
        self.threshold = threshold
        self.pending: list[bool] = []
        self.lock = threading.Lock()

    def add(self, ok: bool) -> str | None:
        with self.lock:
            self.pending.append(ok)
            if ok:
                return None
            return self._flush()

    def flush(self) -> str | None:
        with self.lock:
            return self._flush()

    def _flush(self) -> str | None:
        if not self.pending:
            return None
        outcomes, self.pending = self.pending, []
        try:
            return self.limits.breaker_record(outcomes, self.threshold)
        except RedisError as exc:
            # The breaker lives in Redis: without it, send nothing more. What was sent is still recorded in the
            # store (a send whose outcome went unrecorded would be sent again when its claim ran out).
            log.warning("target %s: circuit breaker unreachable (%s); this drain stops sending", self.limits.target,
                        exc)
            return "unreachable"


class _Batch:
    """One claimed batch on the wire: each item's result (None: not sent) and when the last one came back."""

    def __init__(self, items: list[Claimed], claimed_until: float) -> None:
        self.items = items
        self.claimed_until = claimed_until  # monotonic: when its claim runs out
        self.results: list[Claimed | None] = [None] * len(items)
        self.left = len(items)
        self.error: BaseException | None = None
        self.lock = threading.Lock()
        self.done = threading.Event()

    def finished(self, index: int, result: Claimed | None, error: BaseException | None = None) -> None:
        with self.lock:
            self.results[index] = result
            if error is not None and self.error is None:
                self.error = error
            self.left -= 1
            if self.left == 0:
                self.done.set()


class _Senders:
    """``width`` threads sending a drain's claimed items in the order they were claimed, one request each in
    flight (width = the concurrency slots the drain holds). A plain queue and a countdown per batch: a
    ThreadPoolExecutor's future, work item and semaphore per delivery cost as much CPU as the signing."""

    def __init__(self, name: str, width: int, send_one: Any) -> None:  # noqa: ANN401
        self.queue: queue.SimpleQueue[tuple[_Batch, int] | None] = queue.SimpleQueue()
        self.send_one = send_one
        self.threads = [threading.Thread(target=self._run, name=f"deliver-{name}-{n}", daemon=True)
                        for n in range(width)]
        for thread in self.threads:
            thread.start()

    def submit(self, items: list[Claimed], claimed_until: float) -> _Batch:
        batch = _Batch(items, claimed_until)
        for index in range(len(items)):
            self.queue.put((batch, index))
        return batch

    def _run(self) -> None:
        connections = http.Connections()  # this thread's keep-alive connection to the target
        try:
            while True:
                work = self.queue.get()
                if work is None:
                    return
                batch, index = work
                item = batch.items[index]
                try:
                    batch.finished(index, self.send_one(item, connections))
                except BaseException as exc:  # noqa: BLE001  (e.g. Redis gone recording the outcome: finish raises it)
                    batch.finished(index, item if item.started else None, exc)
        finally:
            connections.close()

    def close(self) -> None:
        for _ in self.threads:
            self.queue.put(None)
        for thread in self.threads:
            thread.join()


def _blocked(name: str) -> str | None:
    with session_scope() as session:
        row = session.get(TargetState, name)
        if row is None:
            return None
        if row.disabled:
            return "disabled"
        if row.paused:
            return "paused"
    return None


def next_due(name: str) -> datetime | None:
    """When something of this target is next due: a retry, or a claim (of a worker that may have died) running out."""
    with session_scope() as session:
        retry = session.execute(
            select(func.min(Delivery.next_attempt_at)).where(Delivery.target == name, Delivery.status.in_(DUE))
        ).scalar()
        lease = session.execute(
            select(func.min(Delivery.claimed_until)).where(Delivery.target == name, Delivery.status == "sending")
        ).scalar()
    found = [when for when in (retry, lease) if when is not None]
    return min(found) if found else None


def _until_recorded(write, report: DrainReport, name: str, claimed_until: float) -> None:  # noqa: ANN001
    """Record a batch that was sent, trying again while the database cannot be reached, for as long as the
    batch's claim holds (short of it by a margin) and a minute at most: the receivers have it, and a row left
    ``sending`` would be sent again once its claim runs out. Past that, the error goes up (the drain task waits
    for the store)."""
    counts = (report.sent, report.delivered, report.retrying, report.failed, len(report.dead))
    give_up = min(claimed_until - 10, time.monotonic() + RECORD_RETRY_SECONDS)
    wait = 0.25
    while True:
        try:
            write()
            return
        except Exception as exc:
            report.sent, report.delivered, report.retrying, report.failed = counts[:4]
            del report.dead[counts[4]:]
            if not store_unavailable(exc) or time.monotonic() + wait > give_up:
                raise
            log.warning("deliveries to %s were sent but the database is unavailable (%s); recording again in "
                        "%.1fs", name, type(exc).__name__, wait)
            time.sleep(wait)
            wait = min(wait * 2, 5.0)


def drain(target: TargetBase, *, budget: float | None = None, on_batch=None) -> DrainReport:  # noqa: ANN001
    """Send this target's due deliveries until none is due or the time budget is spent.

    One bounded concurrent loop per drain: the slots (the target's concurrency, shared through Redis) are taken
    once and renewed per batch; while batches are on the wire (AHEAD of them) the next is claimed and the oldest
    is recorded, so sending never waits for the database. A half-open breaker's probe and a rate-limited target
    go one batch at a time (the probe decides; tokens are spent as they are sent)."""
    settings = get_settings()
    report = DrainReport(target.name)
    if not target.pushes:
        report.stopped = "idle"
        return report
    deadline = time.monotonic() + (budget if budget is not None else settings.delivery_drain_seconds)
    limits = Limits(target.name)
    concurrency = target.concurrency or settings.delivery_concurrency
    threshold = target.breaker_threshold or settings.breaker_threshold
    cooldown = target.breaker_cooldown or settings.breaker_cooldown
    stop = threading.Event()  # a 410 or the breaker opened: send nothing more of what is claimed
    outcomes = _Outcomes(limits, threshold)
    slots: Slots | None = None
    senders: _Senders | None = None
    in_flight: list[_Batch] = []

    def send_one(item: Claimed, connections: http.Connections) -> Claimed | None:
        if stop.is_set():
            return None
        _send_one(target, item, connections)
        if item.error is not None and item.error.gone:
            stop.set()
        try:
            if outcomes.add(item.error is None) in ("open", "unreachable"):
                stop.set()
        except BaseException:
            stop.set()  # the breaker cannot be told (Redis gone): send no more; the drain raises once recorded
            raise
        return item

    def finish() -> None:
        """Wait for the oldest batch on the wire and record it (its unsent rows go back to waiting)."""
        batch = in_flight.pop(0)
        batch.done.wait()
        outcomes.flush()
        unsent = [item.delivery_id for item, result in zip(batch.items, batch.results) if result is None]
        sent = [item for item in batch.results if item is not None]
        _until_recorded(lambda: (unclaim(unsent), record(target, sent, report)), report, target.name,
                        batch.claimed_until)
        if batch.error is not None:
            raise batch.error

    try:
        while True:
            if stop.is_set():  # what is on the wire finishes; the checks below say why it stopped
                while in_flight:
                    finish()
                stop.clear()
            if time.monotonic() >= deadline:
                report.stopped = "time"
                break
            blocked = _blocked(target.name)
            if blocked:
                report.stopped = blocked
                return report
            breaker, wait = limits.breaker_allows(cooldown, LEASE.total_seconds())
            if breaker == "open":
                report.stopped = "breaker-open"
                report.next_due = utcnow() + timedelta(seconds=wait)
                return report
            if breaker == "probe" or target.rate:
                while in_flight:
                    finish()
            want = 1 if breaker == "probe" else settings.delivery_batch
            if slots is None:
                slots = limits.acquire_slots(concurrency, concurrency, LEASE.total_seconds())
                if not slots.tokens:
                    report.stopped = "busy"
                    return report
                senders = _Senders(target.name, len(slots.tokens), send_one)  # in flight: the slots it holds
            width = len(slots.tokens)
            lease = lease_for(target, want * (AHEAD + 1), width)  # this batch, and those still on the wire
            if not limits.renew_slots(slots, lease.total_seconds()):
                report.stopped = "busy"  # our slots ran out (a batch outlived its lease) and others took them
                break
            if target.rate:
                granted, wait = limits.take_tokens(target.rate, target.burst or max(1, int(target.rate)), want)
                if not granted:
                    if time.monotonic() + wait >= deadline:
                        report.stopped = "rate"
                        report.next_due = utcnow() + timedelta(seconds=wait)
                        break
                    time.sleep(wait)
                    continue
                want = granted
            if on_batch is not None:
                on_batch()
            items = claim(target, want, lease)
            if not items:
                if breaker == "probe":
                    limits.breaker_unprobe()
                if in_flight:  # what it sends may fall due again at once (a retry scheduled at 0 s)
                    finish()
                    continue
                report.stopped = "idle"
                break
            claimed_until = time.monotonic() + lease.total_seconds()
            in_flight.append(senders.submit(items, claimed_until))  # type: ignore[union-attr]  (made with the slots)
            while len(in_flight) > AHEAD:  # record the oldest while the newer ones are on the wire
                finish()
    finally:
        try:
            while in_flight:
                try:
                    finish()
                except Exception:
                    if not in_flight:
                        raise
                    log.exception("drain of %s: recording the rest of what was sent", target.name)
        finally:
            if senders is not None:
                senders.close()
            if slots is not None:
                slots.release()
    if report.next_due is None:
        report.next_due = next_due(target.name)
    return report
