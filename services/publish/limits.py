"""Per-target limits shared by every worker through Redis (Lua, so each check is one atomic round trip):
a token-bucket rate limit, a concurrency limit (slots with leases), and a circuit breaker.

The breaker opens after ``threshold`` consecutive failures, stays open ``cooldown`` seconds, then lets one
probe through (half-open): its success closes the breaker, its failure opens it again.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from shared.redis_client import get_redis

PREFIX = "newswire:publish"

_RATE = """
local rate = tonumber(ARGV[1]); local burst = tonumber(ARGV[2]); local want = tonumber(ARGV[3])
local t = redis.call('TIME'); local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(state[1]) or burst
local ts = tonumber(state[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - ts) * rate)
local granted = math.min(want, math.floor(tokens))
tokens = tokens - granted
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(now))
redis.call('EXPIRE', KEYS[1], math.ceil(burst / rate) + 60)
local wait = 0
if granted < want then wait = (1 - (tokens - math.floor(tokens))) / rate end
return {granted, tostring(wait)}
"""

_ACQUIRE = """
local limit = tonumber(ARGV[1]); local want = tonumber(ARGV[2]); local lease = tonumber(ARGV[3])
local t = redis.call('TIME'); local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local free = limit - redis.call('ZCARD', KEYS[1])
local granted = math.max(0, math.min(want, free))
for i = 1, granted do redis.call('ZADD', KEYS[1], now + lease, ARGV[3 + i]) end
redis.call('EXPIRE', KEYS[1], math.ceil(lease) + 60)
return granted
"""

_RENEW = """
local t = redis.call('TIME'); local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local held = 0
for i = 2, #ARGV do
  if redis.call('ZSCORE', KEYS[1], ARGV[i]) then
    redis.call('ZADD', KEYS[1], now + tonumber(ARGV[1]), ARGV[i]); held = held + 1
  end
end
redis.call('EXPIRE', KEYS[1], math.ceil(tonumber(ARGV[1])) + 60)
return held
"""

_ALLOW = """
local cooldown = tonumber(ARGV[1]); local lease = tonumber(ARGV[2])
local t = redis.call('TIME'); local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'state', 'opened_at', 'probe_until')
local s = state[1] or 'closed'
if s == 'closed' then return {'closed', '0'} end
local opened = tonumber(state[2]) or now
if s == 'open' then
  if now < opened + cooldown then return {'open', tostring(opened + cooldown - now)} end
  redis.call('HSET', KEYS[1], 'state', 'half-open', 'probe_until', tostring(now + lease))
  return {'probe', '0'}
end
local probe_until = tonumber(state[3]) or 0
if now < probe_until then return {'open', tostring(probe_until - now)} end
redis.call('HSET', KEYS[1], 'probe_until', tostring(now + lease))
return {'probe', '0'}
"""

_RECORD = """
local any_success = tonumber(ARGV[1]); local trailing = tonumber(ARGV[2]); local failures = tonumber(ARGV[3])
local threshold = tonumber(ARGV[4])
local t = redis.call('TIME'); local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'state', 'streak')
local s = state[1] or 'closed'
local streak = tonumber(state[2]) or 0
if any_success == 1 then
  streak = trailing
  s = 'closed'
else
  streak = streak + failures
end
if failures > 0 and ((s == 'half-open' and any_success == 0) or (s == 'closed' and streak >= threshold)) then
  s = 'open'
  redis.call('HSET', KEYS[1], 'opened_at', tostring(now))
end
redis.call('HSET', KEYS[1], 'state', s, 'streak', streak)
return {s, streak}
"""


@dataclass
class Slots:
    key: str
    tokens: list[str]

    def release(self) -> None:
        if self.tokens:
            get_redis().zrem(self.key, *self.tokens)
            self.tokens = []


class Limits:
    """The limits of one target."""

    def __init__(self, target: str) -> None:
        self.target = target
        client = get_redis()
        self._rate = client.register_script(_RATE)
        self._acquire = client.register_script(_ACQUIRE)
        self._allow = client.register_script(_ALLOW)
        self._record = client.register_script(_RECORD)
        self._renew = client.register_script(_RENEW)

    def key(self, kind: str) -> str:
        return f"{PREFIX}:{kind}:{self.target}"

    def take_tokens(self, rate: float, burst: int, want: int) -> tuple[int, float]:
        """Up to ``want`` requests allowed now, and the wait before the next one if fewer were granted."""
        granted, wait = self._rate(keys=[self.key("rate")], args=[rate, burst, want])
        return int(granted), float(wait)

    def acquire_slots(self, limit: int, want: int, lease: float) -> Slots:
        tokens = [uuid.uuid4().hex for _ in range(want)]
        granted = int(self._acquire(keys=[self.key("slots")], args=[limit, want, lease, *tokens]))
        return Slots(self.key("slots"), tokens[:granted])

    def renew_slots(self, slots: Slots, lease: float) -> bool:
        """Extend the lease of the slots a drain holds (it keeps them from batch to batch); False if any ran
        out meanwhile (another worker may hold it now: the drain stops, as if it had found no free slot)."""
        if not slots.tokens:
            return False
        return int(self._renew(keys=[slots.key], args=[lease, *slots.tokens])) == len(slots.tokens)

    def breaker_allows(self, cooldown: float, lease: float) -> tuple[str, float]:
        """'closed' (send freely), 'probe' (send one), or 'open' (send nothing for the seconds returned)."""
        state, wait = self._allow(keys=[self.key("breaker")], args=[cooldown, lease])
        return state.decode() if isinstance(state, bytes) else state, float(wait)

    def breaker_record(self, outcomes: list[bool], threshold: int) -> str:
        """Record a batch's outcomes in order; returns the breaker's state after them."""
        if not outcomes:
            return self.breaker_state()
        trailing = 0
        for ok in reversed(outcomes):
            if ok:
                break
            trailing += 1
        state, _streak = self._record(keys=[self.key("breaker")],
                                      args=[int(any(outcomes)), trailing, outcomes.count(False), threshold])
        return state.decode() if isinstance(state, bytes) else state

    def breaker_unprobe(self) -> None:
        """A probe was granted but nothing was due to send: let the next drain probe instead."""
        get_redis().hset(self.key("breaker"), "probe_until", "0")

    def breaker_state(self) -> str:
        state = get_redis().hget(self.key("breaker"), "state")
        return state.decode() if state else "closed"

    def reset(self) -> None:
        get_redis().delete(self.key("breaker"), self.key("rate"), self.key("slots"))


def breaker_states(targets: list[str]) -> dict[str, str]:
    if not targets:
        return {}
    pipe = get_redis().pipeline(transaction=False)
    for name in targets:
        pipe.hget(f"{PREFIX}:breaker:{name}", "state")
    return {name: (value.decode() if value else "closed") for name, value in zip(targets, pipe.execute())}
