"""Per-host politeness shared by every worker through Redis: at most K requests in flight and R requests per second.

One Lua script takes a slot atomically: expired leases are swept (a worker that died
frees its slot after the lease), the concurrency cap is checked, and the host's
next-allowed time is advanced by 1/R. The caller waits as told and tries again, up
to a bound; past it the fetch is put back (``PolitenessBusy``, transient) rather
than holding a worker.
"""

from __future__ import annotations

import time
import uuid
from contextlib import contextmanager
from typing import Iterator

from shared.errors import TransientError
from shared.settings import get_settings

_ACQUIRE = """
local active, nextkey = KEYS[1], KEYS[2]
local now, cap, interval, lease, token = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), ARGV[5]
redis.call('ZREMRANGEBYSCORE', active, '-inf', now)
if cap > 0 and redis.call('ZCARD', active) >= cap then
  return tostring(0.02)
end
if interval > 0 then
  local nxt = tonumber(redis.call('GET', nextkey) or '0')
  if nxt > now then return tostring(nxt - now) end
  redis.call('SET', nextkey, tostring(math.max(now, nxt) + interval), 'PX', math.ceil(interval * 1000) + 1000)
end
redis.call('ZADD', active, now + lease, token)
redis.call('PEXPIRE', active, math.ceil(lease * 1000) + 1000)
return '0'
"""


class PolitenessBusy(TransientError):
    """The host's slots stayed taken for longer than we wait: try the fetch again later."""

    def __init__(self, reason: str, retry_after: float) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


_script = None


def _acquire_script():  # noqa: ANN202
    global _script
    from shared.redis_client import get_redis

    client = get_redis()
    if _script is None or _script.registered_client is not client:
        _script = client.register_script(_ACQUIRE)
    return _script


def limits_for(options: dict | None) -> tuple[int, float]:
    """(K concurrent, R per second) for a host: the settings, or the source's own override."""
    settings = get_settings()
    options = options or {}
    concurrency = int(options.get("host_concurrency") or settings.ingest_host_concurrency)
    rate = float(options.get("host_rate") or settings.ingest_host_rate)
    return concurrency, rate


@contextmanager
def host_slot(host: str, concurrency: int, rate: float, max_wait: float | None = None) -> Iterator[float]:
    """Hold one of the host's K slots, taken no sooner than 1/R after the previous; yields the seconds waited."""
    settings = get_settings()
    max_wait = settings.ingest_politeness_wait if max_wait is None else max_wait
    lease = settings.http_total_timeout + 5
    token = uuid.uuid4().hex
    keys = [f"newswire:host:{host}:active", f"newswire:host:{host}:next"]
    interval = 1.0 / rate if rate > 0 else 0.0
    started = time.monotonic()
    script = _acquire_script()
    while True:
        wait = float(script(keys=keys, args=[time.time(), concurrency, interval, lease, token]))
        if wait <= 0:
            break
        waited = time.monotonic() - started
        if waited + wait > max_wait:
            raise PolitenessBusy(f"{host}: no free request slot after {waited:.1f}s "
                                 f"(at most {concurrency} at once, {rate:g}/s)", retry_after=max(wait, 1.0))
        time.sleep(min(wait, 0.5))
    try:
        yield time.monotonic() - started
    finally:
        from shared.redis_client import get_redis

        try:
            get_redis().zrem(keys[0], token)
        except Exception:  # noqa: BLE001  (the lease expires by itself)
            pass
