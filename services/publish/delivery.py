"""The delivery log: one row per (article version, target), its key stored before the first send.

A delivery is *claimed* (compare-and-set on its status, with a lease) before
each attempt, so a redelivered or duplicated task never sends a delivered
version again, and two workers never send the same one at once. Every attempt
is recorded.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

from sqlalchemy import or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from shared.errors import DeliveryError
from shared.payload import utcnow
from shared.store import Article, ArticleVersion, Delivery, DeliveryAttempt, session_scope
from shared.telemetry import worker_name
from services.publish import webhook
from services.publish.formats import article_document
from services.publish.targets import WebhookTarget

LEASE = timedelta(seconds=120)


def idempotency_key(article_id: str, version: int, target: str) -> str:
    return f"msg_{article_id.replace('-', '')}_v{version}_{target}"


def plan_deliveries(version_id: int, article_id: str, version: int, targets: list[str]) -> list[int]:
    """Create the delivery rows that do not exist yet (idempotent); return the ids of all not yet delivered."""
    with session_scope() as session:
        dialect = session.get_bind().dialect.name
        insert = pg_insert if dialect == "postgresql" else sqlite_insert
        for target in targets:
            session.execute(
                insert(Delivery)
                .values(
                    version_id=version_id,
                    target=target,
                    idempotency_key=idempotency_key(article_id, version, target),
                    status="pending",
                    attempts=0,
                    created_at=utcnow(),
                )
                .on_conflict_do_nothing(index_elements=["version_id", "target"])
            )
        rows = session.execute(
            select(Delivery.id).where(Delivery.version_id == version_id, Delivery.status.in_(("pending", "retrying", "sending")))
        ).scalars()
        return list(rows)


@dataclass
class DeliveryResult:
    status: Literal["delivered", "already-delivered", "busy", "retry", "failed", "gone"]
    delivery_id: int
    error: DeliveryError | None = None
    attempts: int = 0
    article_id: str | None = None
    version: int | None = None
    target: str | None = None

    def describe(self) -> dict:
        return {"delivery_id": self.delivery_id, "id": self.article_id, "version": self.version, "target": self.target}


def claim(delivery_id: int) -> tuple[Delivery, dict] | None | str:
    now = utcnow()
    with session_scope() as session:
        claimed = session.execute(
            update(Delivery)
            .where(Delivery.id == delivery_id)
            .where(
                or_(
                    Delivery.status.in_(("pending", "retrying")),
                    (Delivery.status == "sending") & (Delivery.claimed_until < now),
                )
            )
            .values(status="sending", claimed_until=now + LEASE, attempts=Delivery.attempts + 1)
        ).rowcount
        delivery = session.get(Delivery, delivery_id)
        if delivery is None:
            return "gone"
        if not claimed:
            return delivery.status
        version = session.get(ArticleVersion, delivery.version_id)
        article = session.get(Article, version.article_id)
        document = article_document(article, version)
        session.expunge(delivery)
        return delivery, document


def deliver(delivery_id: int, targets: dict[str, WebhookTarget], *, final_attempt: bool) -> DeliveryResult:
    claimed = claim(delivery_id)
    if isinstance(claimed, str):
        status = {"delivered": "already-delivered", "sending": "busy", "gone": "gone"}.get(claimed, "failed")
        return DeliveryResult(status, delivery_id)  # type: ignore[arg-type]
    delivery, document = claimed
    target = targets.get(delivery.target)
    started = utcnow()
    clock = time.monotonic()
    error: DeliveryError | None = None
    status_code: int | None = None
    if target is None:
        error = DeliveryError(f"target {delivery.target} is no longer configured", transient=False)
    else:
        body = webhook.article_body({"type": "article.updated" if document["version"] > 1 else "article.published",
                                     **document})
        try:
            status_code = webhook.send(target, delivery.idempotency_key, body)
        except DeliveryError as exc:
            error = exc
            status_code = exc.status_code
    duration_ms = (time.monotonic() - clock) * 1000
    about = {"article_id": document["id"], "version": document["version"], "target": delivery.target}
    with session_scope() as session:
        session.add(
            DeliveryAttempt(delivery_id=delivery_id, attempt=delivery.attempts, started_at=started,
                            duration_ms=round(duration_ms, 2), status_code=status_code,
                            error=error.reason if error else None, worker=worker_name())
        )
        row = session.get(Delivery, delivery_id)
        row.last_status_code = status_code
        row.claimed_until = None
        if error is None:
            row.status, row.delivered_at, row.last_error = "delivered", utcnow(), None
            return DeliveryResult("delivered", delivery_id, attempts=row.attempts, **about)
        row.last_error = error.reason
        if error.transient and not final_attempt:
            row.status = "retrying"
            return DeliveryResult("retry", delivery_id, error, attempts=row.attempts, **about)
        row.status = "failed"
        return DeliveryResult("failed", delivery_id, error, attempts=row.attempts, **about)


def schedule_next(delivery_id: int, seconds: float) -> None:
    with session_scope() as session:
        row = session.get(Delivery, delivery_id)
        if row is not None:
            row.next_attempt_at = utcnow() + timedelta(seconds=seconds)


def stuck_deliveries(older_than: timedelta = timedelta(minutes=10), limit: int = 500) -> list[int]:
    """Deliveries whose task was lost (e.g. a broker restarted without persistence): to send again."""
    now = utcnow()
    with session_scope() as session:
        rows = session.execute(
            select(Delivery.id)
            .where(
                or_(
                    (Delivery.status == "pending") & (Delivery.created_at < now - older_than),
                    (Delivery.status == "retrying") & (Delivery.next_attempt_at < now - older_than),
                    (Delivery.status == "sending") & (Delivery.claimed_until < now - older_than),
                )
            )
            .limit(limit)
        ).scalars()
        return list(rows)
