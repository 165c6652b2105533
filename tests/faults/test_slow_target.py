"""A slow target (its answers take as long as the test holds them) does not hold the other targets back: their
deliveries of the same articles, and of articles that arrive while it hangs, complete while the slow one's requests
are still waiting for an answer.

With one publish worker process (NEWSWIRE_PUBLISH_CONCURRENCY=1) this fails: the hanging drain holds the only
process, and the articles behind it wait; the default of 2 keeps one process for everything else."""

from __future__ import annotations

import pytest

from conftest import wait_until
from tests.faults.outage_support import HOLD_LIMIT

pytestmark = pytest.mark.fault

ARTICLES = 3


def test_a_slow_target_does_not_hold_back_the_others(faults) -> None:  # noqa: ANN001
    receiver = faults.receiver
    receiver.hold("slow")
    try:
        ids = [faults.submit(faults.page("slow")[0])]
        wait_until(lambda: receiver.in_flight("slow") >= 1, timeout=120, interval=0.25,
                   message="the slow target's first request waiting for its answer")
        # Articles that come while the slow target hangs go through every stage and reach the other targets.
        ids += [faults.submit(faults.page("slow")[0]) for _ in range(ARTICLES - 1)]
        # (within the receiver's HOLD_LIMIT, so that a failure here is the slow target holding the others back)
        wait_until(lambda: all(receiver.took(t, a) for t in ("quick", "outage") for a in ids),
                   timeout=HOLD_LIMIT - 15, interval=0.25, message="the other targets served while the slow one hangs")
        # Everything else is done, and the slow target has not answered one of these articles yet.
        assert receiver.in_flight("slow") >= 1
        assert not any(receiver.of("slow", a) for a in ids)
        assert all(faults.deliveries(a)["slow"]["status"] != "delivered" for a in ids)
        assert all(faults.deliveries(a)["quick"]["status"] == "delivered" for a in ids)
    finally:
        receiver.release("slow")
    faults.wait_delivered("slow", ids, timeout=120, message="the slow target served once it answers")
    wait_until(lambda: all(faults.deliveries(a)["slow"]["status"] == "delivered" for a in ids), timeout=60,
               message="the slow deliveries recorded as delivered")
    for article_id in ids:
        for target in ("slow", "quick", "outage"):
            assert len(receiver.of(target, article_id)) == 1, (target, article_id)
    assert receiver.in_flight("slow") == 0
