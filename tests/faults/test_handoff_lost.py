"""A hand-off lost between the broker and a worker is sent again, and every article is still delivered exactly once.

The loss, made on purpose: kombu's Redis transport takes a message with BRPOP and only then records it as
unacknowledged, so a whole worker SIGKILLed in between leaves the message in no queue and in no unacknowledged set
(kombu issues 305 and 1836). Here the test itself is that worker: with a stage paused, it takes one message out of
the stage's queue list, exactly what BRPOP does, and keeps it; then resumes the stage. It does so once per stage (an
``ingest.fetch``, a ``clean.process``, an ``enrich.process`` and a ``publish.process``). It also pushes a copy of
another message of each stage back (a message that turns up twice, as an original arriving after its re-send):
each stage must take it harmlessly.

The receiver decides: all articles arrive at both targets, each (version, target) under exactly one webhook-id,
no dead letter. Newswire's hand-off sweep (shared/handoff.py, NEWSWIRE_HANDOFF_SWEEP_INTERVAL 3 s, age 20 s here)
must have sent again exactly the four taken messages (its log lines and ``newswire_handoff_resent_total``) and no
message that waited, paused, in its queue past that age. Without the sweep (NEWSWIRE_HANDOFF_SWEEP_INTERVAL=0) the
four articles never arrive and this test fails.
"""

from __future__ import annotations

import json
import re
import time
import uuid

import pytest

from shared.settings import STAGES
from tests.faults.conftest import (FAULT_ENV, Articles, _accepted, add_push_source, article_id, assert_exactly_once,
                                   dead_letters, half_done_deliveries, push, wait_delivered, wait_until)

pytestmark = [pytest.mark.fault, pytest.mark.timeout(900)]

TARGETS = ["alpha", "beta"]
PUSHED, PAGES = 10, 2
AGE = int(FAULT_ENV["NEWSWIRE_HANDOFF_SWEEP_AGE"])
INTERVAL = int(FAULT_ENV["NEWSWIRE_HANDOFF_SWEEP_INTERVAL"])
WAIT = 300  # seconds any one wait may take on a loaded machine (no timing is asserted)
RESENT = re.compile(r"hand-off (\S+)\[([0-9a-f-]+)\] to (\w+) was in no queue")


def _redis():  # noqa: ANN202
    from shared.redis_client import get_redis

    return get_redis()


def messages(queue: str) -> list[tuple[bytes, dict]]:
    """The queue's list, oldest first (kombu pushes on the left, workers pop on the right)."""
    return [(raw, json.loads(raw)["headers"]) for raw in reversed(_redis().lrange(queue, 0, -1))]


def take(queue: str, task: str) -> str:
    """What a whole worker killed between BRPOP and recording the message leaves: the next message of ``task`` out
    of its queue list, and nowhere else. Returns its task id."""
    for raw, headers in messages(queue):
        if headers["task"] == task and _redis().lrem(queue, -1, raw):
            return headers["id"]
    raise AssertionError(f"no {task} message in {queue}")


def copy(queue: str, task: str, besides: str) -> str:
    """A message of ``task`` (not ``besides``) pushed to its queue a second time: it turns up twice."""
    for raw, headers in reversed(messages(queue)):
        if headers["task"] == task and headers["id"] != besides:
            _redis().lpush(queue, raw)
            return headers["id"]
    raise AssertionError(f"no other {task} message in {queue}")


def stage_action(pipeline, stage: str, verb: str) -> None:  # noqa: ANN001
    response = pipeline.client.post(f"/stages/{stage}/{verb}")
    assert response.status_code == 200, response.text


def resent_in_logs(pipeline) -> dict[str, str]:  # noqa: ANN001
    """Task id -> stage of every re-send the workers logged."""
    found = {}
    for log in pipeline.logs.glob("*.log"):
        for match in RESENT.finditer(log.read_text(encoding="utf-8", errors="replace")):
            found[match.group(2)] = match.group(3)
    return found


def resent_metric(pipeline) -> dict[str, float]:  # noqa: ANN001
    text = pipeline.client.get("/metrics").text
    return {stage: float(value) for stage, value in
            re.findall(r'^newswire_handoff_resent_total\{stage="(\w+)"\} (\S+)$', text, re.M)}


def test_a_hand_off_taken_out_of_its_queue_is_sent_again_and_delivered_once(fault_pipeline, receiver, site) -> None:  # noqa: ANN001
    from shared import handoff

    pipeline = fault_pipeline(targets=TARGETS)
    source_id = add_push_source(pipeline)
    for stage in STAGES:
        stage_action(pipeline, stage, "pause")
    time.sleep(2)  # a worker reads the pause flag at most a second late; a message it took meanwhile goes back
    articles = Articles(PUSHED + PAGES, seed=8)
    push(pipeline, source_id, articles.rss(articles.items[:PUSHED]))
    expected = {article_id(a.url) for a in articles.items[:PUSHED]}
    for page in articles.items[PUSHED:]:
        url = site.add(f"/faults/{uuid.uuid4().hex}.html", page.html)
        expected.add(_accepted(pipeline, "/ingest", json={"url": url})["id"])
    assert len(expected) == PUSHED + PAGES

    taken: dict[str, str] = {}
    copied: dict[str, str] = {}
    # Each stage in turn, while it is paused: one message taken (lost), another one doubled; then the stage runs.
    steps = [("ingest", "ingest.fetch", "ingest.push", 1 + PAGES),  # the push and the pages' fetches
             ("clean", "clean.process", "clean.process", PUSHED + PAGES - 1),  # all but the lost fetch's article
             ("enrich", "enrich.process", "enrich.process", PUSHED + PAGES - 2),
             ("publish", "publish.process", "publish.process", PUSHED + PAGES - 3)]
    for stage, lose, double, waiting in steps:
        wait_until(lambda: _redis().llen(stage) >= waiting, timeout=WAIT, interval=0.5,
                   message=f"{waiting} messages waiting in the paused {stage} queue")
        taken[stage] = take(stage, lose)
        copied[stage] = copy(stage, double, besides=taken[stage])
        if stage == "publish":
            # Let the ones still waiting grow older than the sweep's age, over several sweeps: a backlog is not lost.
            oldest = min(float(h.get("newswire_enqueued_at") or time.time()) for _, h in messages(stage))
            time.sleep(max(0.0, oldest + AGE + 3 * INTERVAL - time.time()))
            assert _redis().llen(stage) >= waiting
        stage_action(pipeline, stage, "resume")

    wait_delivered(receiver, expected, TARGETS, timeout=WAIT, pipeline=pipeline)
    wait_until(lambda: not half_done_deliveries(), timeout=WAIT, interval=1.0, message="no delivery left unsent")
    time.sleep(3)  # anything sent twice would arrive now
    repeats = assert_exactly_once(receiver, expected, TARGETS)
    assert repeats["repeated_posts"] == 0, repeats
    assert not dead_letters(), dead_letters()[:5]

    # Exactly the taken messages were sent again, each once, by stage; nothing that waited in a queue.
    resent = resent_in_logs(pipeline)
    assert resent == {task_id: stage for stage, task_id in taken.items()}, (resent, taken)
    wait_until(lambda: resent_metric(pipeline) == {stage: 1.0 for stage in STAGES}, timeout=30, interval=1.0,
               message=f"newswire_handoff_resent_total 1 per stage (now {resent_metric(pipeline)})")
    # Every hand-off ended: the ledger is empty again (the doubled messages too).
    wait_until(lambda: handoff.pending() == 0, timeout=60, interval=1.0,
               message=f"the hand-off ledger emptied (still {handoff.pending()})")
