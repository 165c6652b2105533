"""Who drains which target when: at most one drain task per target at a time (a Redis lock), kicked when
deliveries are planned, woken when retries fall due, and swept every minute as a safety net."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Callable

from sqlalchemy import and_, or_, select

from shared.payload import utcnow
from shared.redis_client import get_redis
from shared.store import Delivery, session_scope
from services.publish.engine import DUE
from services.publish.limits import PREFIX

MAX_WAKE = 60.0  # longer waits are left to the sweep (Redis-broker ETAs beyond the visibility timeout repeat)

LOCK_SECONDS = 30.0  # renewed every batch: a dead worker's drain lock runs out within this

_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('EXPIRE', KEYS[1], ARGV[2]) end
return 0
"""

_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


def lock(name: str, owner: str, seconds: float) -> bool:
    return bool(get_redis().set(f"{PREFIX}:draining:{name}", owner, nx=True, ex=max(1, int(seconds))))


def renew(name: str, owner: str, seconds: float) -> None:
    get_redis().eval(_RENEW, 1, f"{PREFIX}:draining:{name}", owner, max(1, int(seconds)))


def lock_ttl(name: str) -> float:
    ttl = get_redis().ttl(f"{PREFIX}:draining:{name}")
    return float(ttl) if isinstance(ttl, int) and ttl > 0 else 0.0


def unlock(name: str, owner: str) -> None:
    get_redis().eval(_RELEASE, 1, f"{PREFIX}:draining:{name}", owner)


def should_wake(name: str, when: datetime) -> float | None:
    """The countdown for a wake-up at ``when``, or None if one is already due by then (or it is too far)."""
    countdown = max(0.0, (when - utcnow()).total_seconds())
    if countdown > MAX_WAKE:
        return None
    key = f"{PREFIX}:wake:{name}"
    at = time.time() + countdown
    client = get_redis()
    current = client.get(key)
    if current is not None and time.time() <= float(current) <= at + 0.05:
        return None
    client.set(key, str(at), ex=int(countdown) + 60)
    return countdown


def due_targets() -> list[str]:
    now = utcnow()
    with session_scope() as session:
        return list(session.execute(
            select(Delivery.target).where(or_(
                and_(Delivery.status.in_(DUE), or_(Delivery.next_attempt_at.is_(None), Delivery.next_attempt_at <= now)),
                and_(Delivery.status == "sending", Delivery.claimed_until < now),
            )).distinct()
        ).scalars())


def has_due(name: str) -> bool:
    now = utcnow()
    with session_scope() as session:
        return session.execute(
            select(Delivery.id).where(Delivery.target == name, Delivery.status.in_(DUE),
                                      or_(Delivery.next_attempt_at.is_(None), Delivery.next_attempt_at <= now))
            .limit(1)
        ).first() is not None


def kick_all(names: list[str], send: Callable[[str], None]) -> None:
    for name in names:
        send(name)
