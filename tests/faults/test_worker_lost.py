"""A payload that kills its worker process (a crash in a C library, the out-of-memory killer, an exit) raises no
exception: with late acks Celery hands the message out again, and it would take a worker down each time, for ever.
After NEWSWIRE_TASK_MAX_CRASHES (3) such deaths it is a dead letter (WorkerLostError, replayable; shared/crash_guard.py)
and the other articles flow meanwhile. A drain killed by the hard time limit, again and again, is not a death: it is
never a dead letter, and its target is served once it answers in time.

The deadly payload is real input: a page on a site of its own. The test-only seam tests/faults/crash_seam/
(sitecustomize.py, put on PYTHONPATH for this pipeline only) kills, with SIGKILL, any process that connects to that
site's port, and writes down each death first, so the deaths are counted here, not by Newswire.
"""

from __future__ import annotations

import os
import re
import time
import uuid
from pathlib import Path

import pytest

from conftest import wait_until
from servers import Site
from tests.faults.conftest import Articles, dead_letters, wait_delivered

pytestmark = pytest.mark.fault

SEAM = Path(__file__).resolve().parent / "crash_seam"
MAX_CRASHES = 3  # the default of NEWSWIRE_TASK_MAX_CRASHES


def _metric(pipeline, name: str, **labels: str) -> float:  # noqa: ANN001
    text = pipeline.client.get("/metrics", timeout=30).text
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name + "{") and all(f'{k}="{v}"' in line for k, v in labels.items()):
            total += float(line.rsplit(" ", 1)[-1])
    return total


def test_a_payload_that_kills_its_worker_becomes_a_dead_letter(fault_pipeline, receiver, site,  # noqa: ANN001
                                                                 tmp_path) -> None:
    deadly = Site()
    deaths_log, seam_off = tmp_path / "deaths.log", tmp_path / "seam-off"
    try:
        env = {"PYTHONPATH": os.pathsep.join(filter(None, [str(SEAM), os.environ.get("PYTHONPATH")])),
               "CRASH_SEAM_PORT": str(deadly.port), "CRASH_SEAM_LOG": str(deaths_log),
               "CRASH_SEAM_OFF": str(seam_off)}
        pipeline = fault_pipeline(targets=("alpha",), env=env)
        articles = Articles(7, seed=31)
        killer_url = deadly.add(f"/deadly-{uuid.uuid4().hex[:8]}.html", articles.items[0].html)
        response = pipeline.client.post("/ingest", json={"url": killer_url})
        assert response.status_code == 202, response.text
        killer_id = response.json()["id"]
        # Articles that flow while the deadly one takes workers down.
        others = []
        for article in articles.items[1:]:
            url = site.add(f"/faults/beside-{uuid.uuid4().hex}.html", article.html, delay=0.2)
            others.append(pipeline.client.post("/ingest", json={"url": url}).json()["id"])

        def letter() -> dict | None:
            items = pipeline.client.get("/dead-letters", params={"article_id": killer_id}, timeout=30).json()["items"]
            return items[0] if items else None

        found = wait_until(letter, timeout=240, message="the deadly page's dead letter")
        wait_delivered(receiver, set(others), ["alpha"], timeout=240, pipeline=pipeline)
        time.sleep(3)  # a death after the dead letter would be one too many
        deaths = deaths_log.read_text().split()
        assert len(deaths) == MAX_CRASHES, deaths  # counted by the seam, not by Newswire
        assert len(set(deaths)) == MAX_CRASHES  # each a different pool process
        assert found["stage"] == "ingest" and found["task"] == "ingest.fetch", found
        assert found["error_type"] == "WorkerLostError" and found["attempts"] == MAX_CRASHES, found
        assert f"died under this message {MAX_CRASHES} time(s)" in found["error"], found
        assert "SIGKILL" in found["error"], found  # how it died, for the operator
        assert deadly.routes[urlpath(killer_url)].hits == 0  # it never got as far as the request
        assert _metric(pipeline, "newswire_worker_lost_total", stage="ingest", outcome="requeued") == MAX_CRASHES
        assert _metric(pipeline, "newswire_worker_lost_total", stage="ingest", outcome="dead_letter") == 1
        assert pipeline.processes["worker-ingest"].poll() is None  # the worker lived on; its pool processes did not
        log = (pipeline.logs / "worker-ingest.log").read_text(errors="replace")
        assert len(re.findall(r"the worker process died under this message", log)) >= MAX_CRASHES
        console = pipeline.client.get(f"/console/dead-letters/{found['id']}", timeout=30)
        assert console.status_code == 200 and "WorkerLostError" in console.text

        # Replayable like any other: once the page no longer kills (the library fixed, say), it is published.
        seam_off.touch()
        replay = pipeline.client.post(f"/dead-letters/{found['id']}/replay", timeout=30)
        assert replay.status_code in (200, 202), replay.text
        wait_delivered(receiver, {killer_id}, ["alpha"], timeout=180, pipeline=pipeline)
        assert deadly.routes[urlpath(killer_url)].hits >= 1
        assert len(deaths_log.read_text().split()) == MAX_CRASHES
    finally:
        deadly.close()


def urlpath(url: str) -> str:
    from urllib.parse import urlsplit

    return urlsplit(url).path


# A drain (publish.drain) whose target answers only after the hard time limit: the pool kills it at the limit, again
# and again. Not a death of its message (the pool marked the job TimeLimitExceeded before it killed the process),
# and its work is tracked in the deliveries table anyway: never a dead letter; a new drain is started each time.
HARD, SOFT = 10, 8
SLUGGISH_TIMEOUT, SLUGGISH_DELAY = 12.0, 14.0  # the target waits longer than the hard limit, and answers later still


def test_a_drain_killed_by_the_time_limit_again_and_again_is_no_dead_letter(fault_pipeline, receiver,  # noqa: ANN001
                                                                             site) -> None:
    env = {"NEWSWIRE_TASK_TIME_LIMIT": str(HARD), "NEWSWIRE_TASK_SOFT_TIME_LIMIT": str(SOFT),
           "NEWSWIRE_DELIVERY_DRAIN_SECONDS": "2", "NEWSWIRE_DELIVERY_BATCH": "1",
           "NEWSWIRE_HTTP_READ_TIMEOUT": "30", "NEWSWIRE_HTTP_TOTAL_TIMEOUT": "30",
           "NEWSWIRE_TASK_MAX_CRASHES": "1"}  # the strictest guard: one death would be a dead letter
    receiver.slow["sluggish"] = SLUGGISH_DELAY
    # With the scheduler, as `newswire up` runs it: its sweep (every minute) sets a target going again once the
    # claims, slots and lock of a killed drain have run out.
    pipeline = fault_pipeline(targets=("sluggish", "alpha"), env=env, target_timeout=SLUGGISH_TIMEOUT,
                              scheduler=True)
    articles = Articles(2, seed=41)
    ids = {pipeline.client.post("/ingest", json={"url": site.add(f"/faults/tl-{uuid.uuid4().hex}.html", a.html)})
           .json()["id"] for a in articles.items}
    wait_delivered(receiver, ids, ["alpha"], timeout=180, pipeline=pipeline)
    log = pipeline.logs / "worker-publish.log"

    def kills() -> int:
        return len(re.findall(r"Hard time limit \(\d+s\) exceeded for publish\.drain", log.read_text(errors="replace")))

    wait_until(lambda: kills() >= 2, timeout=400, interval=1.0, message="the sluggish target's drain killed twice")
    assert not dead_letters(), dead_letters()
    assert _metric(pipeline, "newswire_worker_lost_total", stage="publish") == 0
    killed = kills()

    receiver.slow["sluggish"] = 0.0  # it answers in time again: everything arrives, with no dead letter
    wait_delivered(receiver, ids, ["sluggish"], timeout=240, pipeline=pipeline)
    assert not dead_letters(), dead_letters()
    # Sent again after each kill under the same webhook-id (the receiver may drop the repeats by it), never as a
    # second delivery.
    assert all(count == 1 for count in receiver.delivered().values()), receiver.delivered()
    print(f"\nthe sluggish target's drain killed by the hard time limit {killed} times: no dead letter; "
          f"{len(ids)} articles delivered to both targets")
