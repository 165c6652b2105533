"""Replay dead (failed) deliveries, one by one or by range (target, time window): due now, fresh schedule."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update

from shared.payload import utcnow
from shared.store import Delivery, session_scope
from shared.store.models import DeadLetter

REPLAYABLE = ("failed", "pending")


def _reset(session, ids: list[int]) -> tuple[int, list[str]]:  # noqa: ANN001
    if not ids:
        return 0, []
    rows = session.execute(select(Delivery.id, Delivery.target).where(Delivery.id.in_(ids),
                                                                      Delivery.status.in_(REPLAYABLE))).all()
    chosen = [row.id for row in rows]
    if chosen:
        session.execute(
            update(Delivery).where(Delivery.id.in_(chosen), Delivery.status.in_(REPLAYABLE))
            .values(status="pending", attempt_base=Delivery.attempts, next_attempt_at=utcnow(),
                    claimed_by=None, claimed_until=None)
            .execution_options(synchronize_session=False)
        )
        # Their dead letters are dealt with.
        for letter in session.execute(select(DeadLetter).where(DeadLetter.stage == "publish",
                                                               DeadLetter.status == "open")).scalars():
            if isinstance(letter.payload, dict) and letter.payload.get("delivery_id") in chosen:
                letter.status = "replayed"
    return len(chosen), sorted({row.target for row in rows})


def replay_ids(ids: list[int]) -> list[str]:
    """Returns the targets that now have deliveries due."""
    return replay_ids_count(ids)[1]


def replay_ids_count(ids: list[int]) -> tuple[int, list[str]]:
    """How many were replayed, and their targets."""
    with session_scope() as session:
        return _reset(session, ids)


def replay_range(target: str | None = None, since: datetime | None = None, until: datetime | None = None,
                 limit: int = 10000) -> tuple[int, list[str]]:
    """Every failed delivery (of a target, created in a window); returns how many and their targets."""
    with session_scope() as session:
        query = select(Delivery.id).where(Delivery.status == "failed").order_by(Delivery.id).limit(limit)
        if target:
            query = query.where(Delivery.target == target)
        if since:
            query = query.where(Delivery.created_at >= since)
        if until:
            query = query.where(Delivery.created_at < until)
        return _reset(session, list(session.execute(query).scalars()))
