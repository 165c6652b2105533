"""A target down for a while, then back: every delivery arrives after recovery, exactly once; while it is down the
attempts stay within the target's retry schedule (counted at the receiver, not from Newswire's records); the
circuit breaker opens, probes, and closes again, as the operator sees it in GET /targets and /metrics."""

from __future__ import annotations

import time

import pytest

from conftest import wait_until
from tests.faults.outage_support import BREAKER_COOLDOWN, BREAKER_THRESHOLD, OUTAGE_SCHEDULE

pytestmark = pytest.mark.fault

ARTICLES = 4
PROBES = 2  # failed half-open probes seen before the target comes back
CONCURRENCY = 2  # the outage target's (outage_support.write_targets)


def _breaker_metric(faults) -> str | None:  # noqa: ANN001
    text = faults.client.get("/metrics", timeout=30).text
    for line in text.splitlines():
        if line.startswith("newswire_breaker_open{") and 'target="outage"' in line:
            return line.rsplit(" ", 1)[-1]
    return None


def test_target_down_then_back_gets_everything_once_without_a_storm(faults) -> None:  # noqa: ANN001
    receiver = faults.receiver
    arrived = lambda: sum(1 for a in receiver.arrivals if a.target == "outage")  # noqa: E731
    receiver.down.add("outage")
    down_at = time.time()
    ids = [faults.submit(faults.page("outage")[0]) for _ in range(ARTICLES)]

    # The other targets are served meanwhile: every article went through the stages and was planned.
    faults.wait_delivered("quick", ids, message="the healthy target served during the outage")
    wait_until(lambda: faults.target("outage")["breaker"] == "open", timeout=90, interval=0.25,
               message="the outage target's breaker open")
    assert faults.target("outage")["failing_since"] is not None
    # (waited for: between two failed probes it is half-open for a moment, and the metric says 0 then)
    wait_until(lambda: _breaker_metric(faults) == "1.0", timeout=60, interval=0.25,
               message="newswire_breaker_open{target=outage} 1")

    # Still down for more cooldowns: each half-open probe fails and the breaker opens again (no flood).
    for _ in range(PROBES):
        seen = arrived()
        wait_until(lambda: arrived() > seen, timeout=60, interval=0.25, message="a probe after the cooldown")
        wait_until(lambda: faults.target("outage")["breaker"] == "open", timeout=60, interval=0.25,
                   message="the breaker open again after a failed probe")
    receiver.down.discard("outage")
    up_at = time.time()

    faults.wait_delivered("outage", ids, timeout=120, message="every delivery after recovery")
    wait_until(lambda: faults.target("outage")["breaker"] == "closed", timeout=60, interval=0.25,
               message="the breaker closed after recovery")
    wait_until(lambda: all(faults.deliveries(a)["outage"]["status"] == "delivered" for a in ids), timeout=60,
               message="the deliveries recorded as delivered")
    state = faults.target("outage")
    assert state["failing_since"] is None and state["last_success_at"] is not None and not state["disabled"]
    wait_until(lambda: _breaker_metric(faults) == "0.0", timeout=60, interval=0.25,
               message="newswire_breaker_open{target=outage} 0")

    outage = up_at - down_at
    bound = 1 + max(k for k in range(len(OUTAGE_SCHEDULE)) if sum(OUTAGE_SCHEDULE[1:k + 1]) <= outage)
    failed_total = 0
    for article_id in ids:
        attempts = receiver.of("outage", article_id)
        took = receiver.took("outage", article_id)
        failed = [a for a in attempts if a.status == 503]
        assert len(took) == 1, f"{article_id}: {len(took)} successful deliveries"
        assert attempts[-1] is took[0]  # nothing after the one that was taken
        assert len({a.webhook_id for a in attempts}) == 1  # one idempotency key, every attempt
        # Each retry waited at least what the schedule says after that attempt (Retry-After was never sent).
        for number, (before, after) in enumerate(zip(attempts, attempts[1:]), start=1):
            assert after.at - before.at >= OUTAGE_SCHEDULE[number] - 0.05, (article_id, number, after.at - before.at)
        assert len(failed) <= bound, f"{article_id}: {len(failed)} attempts in a {outage:.1f}s outage"
        assert faults.deliveries(article_id)["outage"]["attempts"] == len(attempts)  # every attempt is logged
        failed_total += len(failed)
    print(f"\ntarget down {outage:.1f}s: {failed_total} failed attempts for {ARTICLES} deliveries (the schedule "
          f"alone allows {bound * ARTICLES}); each delivered once after recovery")
    # The breaker holds the rest back: the failures that opened it (with what was on the wire then), then one
    # probe per cooldown at most.
    assert PROBES + BREAKER_THRESHOLD <= failed_total <= BREAKER_THRESHOLD + CONCURRENCY + outage / BREAKER_COOLDOWN + 1
    assert all(len(receiver.took("quick", a)) == 1 for a in ids)
    assert receiver.bad_signatures == 0
