"""Pausing a stage really stops its workers (and a restarted worker stays paused); its queue grows, nothing is
lost, and everything flows on after resume. Real workers, the session's pipeline."""

from __future__ import annotations

import time
import uuid

import pytest

from conftest import wait_until
from tests.console.conftest import article_html, published, story_paragraphs, submit

pytestmark = pytest.mark.pipeline


def _enrich(pipeline) -> dict:  # noqa: ANN001
    stages = pipeline.client.get(pipeline.api_url + "/stages").json()["items"]
    return next(s for s in stages if s["stage"] == "enrich")


def test_paused_stage_queue_grows_survives_a_restart_and_drains_after_resume(pipeline, site) -> None:  # noqa: ANN001
    from shared import stage_control
    from shared.workers import worker_states

    run = uuid.uuid4().hex[:8]
    urls = [site.add(f"/pause-{run}/{n}.html", article_html(f"Pause story {n} {run}", story_paragraphs(f"Pause{n}{run}")))
            for n in range(3)]
    api = pipeline.api_url
    try:
        paused = pipeline.client.post(api + "/stages/enrich/pause", json={"reason": "test"})
        assert paused.status_code == 200 and paused.json()["paused"], paused.text
        # Every enrich worker says (in its heartbeat) that it stopped consuming.
        wait_until(lambda: (lambda s: s["workers"] and not s["consuming"])(_enrich(pipeline)), timeout=30,
                   message="enrich workers not consuming")
        accepted = [submit(pipeline, url) for url in urls]
        wait_until(lambda: _enrich(pipeline)["queue_length"] >= 3, timeout=60, message="enrich queue growing")

        # A worker restarted while its stage is paused does not take the queued messages.
        before = {w["hostname"]: w["started"] for w in worker_states()["enrich"]}
        restarted_at = time.time()
        pipeline.restart("worker-enrich")
        wait_until(lambda: any(w.get("started", 0) > restarted_at for w in worker_states()["enrich"]), timeout=90,
                   message="the restarted enrich worker's first heartbeat")
        fresh = [w for w in worker_states()["enrich"] if w.get("started", 0) > restarted_at]
        assert fresh and all("enrich" not in (w.get("consuming") or []) for w in fresh), (before, fresh)
        shown = _enrich(pipeline)
        assert shown["paused"] and shown["queue_length"] >= 3 and not shown["consuming"], shown
        for item in accepted:
            article = pipeline.client.get(f"{api}/articles/{item['id']}")
            assert article.status_code == 404 or not any(v["status"] == "published"
                                                         for v in article.json()["versions"])
    finally:
        resumed = pipeline.client.post(api + "/stages/enrich/resume")
        if resumed.status_code != 200:
            stage_control.resume("enrich", "test cleanup")
    assert resumed.status_code == 200 and not resumed.json()["paused"]
    for item in accepted:
        published(pipeline, item["id"], timeout=120)
    wait_until(lambda: _enrich(pipeline)["queue_length"] == 0 and _enrich(pipeline)["consuming"], timeout=60,
               message="enrich queue drained, workers consuming")
