"""When each source is polled next: kept in Redis (a sorted set of source ids by due time) so adding,
pausing or resuming a source needs no restart; the database's next_fetch_at mirrors it and rebuilds it.

Pure timing rules (``next_poll_delay``, ``error_delay``) are plain functions of the source's state:
- a source that publishes often is polled more often, a quiet one less, within
  NEWSWIRE_INGEST_MIN_INTERVAL .. NEWSWIRE_INGEST_MAX_INTERVAL;
- a feed's ttl, a response's Cache-Control max-age and Retry-After are never undercut;
  RSS skipHours are skipped;
- errors back off exponentially with jitter; after NEWSWIRE_INGEST_SUSPEND_AFTER in a row the
  source is suspended with its reason and probed again every NEWSWIRE_INGEST_PROBE_INTERVAL (half-open).
"""

from __future__ import annotations

import random
import statistics
import time
from datetime import datetime, timedelta, timezone
from typing import Iterable

from shared.settings import get_settings

DUE_KEY = "newswire:ingest:due"
SYNCED_KEY = "newswire:ingest:due:synced"
CLAIM_SECONDS = 600  # a claimed source is not handed out again for this long unless its poll reports back

_CLAIM = """
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
for _, id in ipairs(ids) do redis.call('ZADD', KEYS[1], tonumber(ARGV[3]), id) end
return ids
"""


def _jitter(seconds: float, share: float | None = None) -> float:
    share = get_settings().ingest_jitter if share is None else share
    return seconds * random.uniform(1 - share, 1 + share)


def cadence_from_dates(published: Iterable[datetime | None]) -> float | None:
    """The usual gap between a source's items, from their dates (median of the newest 20 gaps)."""
    stamps = sorted({(d if d.tzinfo else d.replace(tzinfo=timezone.utc)).timestamp() for d in published if d},
                    reverse=True)[:21]
    if len(stamps) < 3:
        return None
    gaps = [a - b for a, b in zip(stamps, stamps[1:]) if a - b > 0]
    return float(statistics.median(gaps)) if gaps else None


def _skip(when: datetime, skip_hours: list[int]) -> datetime:
    if not skip_hours or len(set(skip_hours)) >= 24:
        return when
    while when.hour in skip_hours:
        when = (when + timedelta(hours=1)).replace(minute=0, second=0, microsecond=0)
    return when


def next_poll_delay(*, interval: float, cadence: float | None = None, ttl_minutes: int | None = None,
                    max_age: float | None = None, retry_after: float | None = None, fixed: bool = False) -> float:
    """Seconds to the next poll after a good fetch (jittered)."""
    settings = get_settings()
    delay = float(interval)
    if cadence and not fixed:
        # Poll about twice per usual gap between items: a busy source often, a quiet one rarely.
        delay = cadence / 2
    for floor in (ttl_minutes * 60 if ttl_minutes else None, max_age, retry_after):
        if floor:
            delay = max(delay, floor)
    delay = min(max(delay, settings.ingest_min_interval), settings.ingest_max_interval)
    return _jitter(delay)


def error_delay(*, interval: float, streak: int, retry_after: float | None = None) -> float:
    """Exponential backoff with (equal) jitter after ``streak`` errors in a row; Retry-After wins when longer."""
    settings = get_settings()
    ceiling = min(settings.ingest_max_interval, max(interval, settings.ingest_min_interval) * 2 ** min(streak, 16))
    delay = random.uniform(ceiling / 2, ceiling)
    if retry_after:
        delay = max(delay, min(retry_after, settings.ingest_max_interval))
    return delay


def due_time(delay: float, skip_hours: list[int] | None = None) -> datetime:
    when = datetime.now(timezone.utc) + timedelta(seconds=delay)
    return _skip(when, skip_hours or [])


# -- the due set in Redis ---------------------------------------------------------
def schedule(source_id: int, when: datetime | None) -> None:
    from shared.redis_client import get_redis

    stamp = (when or datetime.now(timezone.utc)).timestamp()
    get_redis().zadd(DUE_KEY, {str(source_id): stamp})


def unschedule(source_id: int) -> None:
    from shared.redis_client import get_redis

    get_redis().zrem(DUE_KEY, str(source_id))


def next_due(source_id: int) -> float | None:
    from shared.redis_client import get_redis

    return get_redis().zscore(DUE_KEY, str(source_id))


def claim_due(limit: int = 500, now: float | None = None) -> list[int]:
    """Take the sources now due (atomically: two schedulers never both get one)."""
    from shared.redis_client import get_redis

    client = get_redis()
    if not client.exists(SYNCED_KEY):
        resync()
    now = time.time() if now is None else now
    ids = client.eval(_CLAIM, 1, DUE_KEY, now, limit, now + CLAIM_SECONDS)
    return [int(i) for i in ids]


def resync() -> int:
    """Rebuild the due set from the database (first start, or Redis lost its data)."""
    from sqlalchemy import select

    from shared.redis_client import get_redis
    from shared.store import session_scope
    from shared.store.models import Source

    client = get_redis()
    now = datetime.now(timezone.utc)
    with session_scope() as session:
        rows = session.execute(select(Source.id, Source.next_fetch_at)  # push sources are never polled
                               .where(Source.status.in_(("active", "suspended")), Source.kind != "push")).all()
    pipe = client.pipeline()
    for source_id, when in rows:
        pipe.zadd(DUE_KEY, {str(source_id): (when or now).timestamp()})
    pipe.set(SYNCED_KEY, "1")
    pipe.execute()
    return len(rows)


def adopt_unscheduled(limit: int = 5000) -> int:
    """Due sources the Redis set does not know (added straight to the store, or Redis lost them) join it."""
    from sqlalchemy import or_, select

    from shared.redis_client import get_redis
    from shared.store import session_scope
    from shared.store.models import Source

    now = datetime.now(timezone.utc)
    with session_scope() as session:
        rows = session.execute(
            select(Source.id, Source.next_fetch_at)
            .where(Source.status.in_(("active", "suspended")), Source.kind != "push")
            .where(or_(Source.next_fetch_at.is_(None), Source.next_fetch_at <= now)).limit(limit)
        ).all()
    if not rows:
        return 0
    client = get_redis()
    pipe = client.pipeline()
    for source_id, _ in rows:
        pipe.zscore(DUE_KEY, str(source_id))
    scores = pipe.execute()
    missing = {str(source_id): (when or now).timestamp() for (source_id, when), score in zip(rows, scores) if score is None}
    if missing:
        client.zadd(DUE_KEY, missing)
    return len(missing)
