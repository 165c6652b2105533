"""At-least-once between stages: a worker killed outright mid-task loses nothing and publishes nothing twice.

Its own pipeline (own Redis) with a short visibility timeout, so the killed worker's unacked message comes
back within seconds instead of the production default of 30 minutes.
"""

from __future__ import annotations

import time
import uuid

import httpx
import pytest

from conftest import PIPELINE_ENV, WEBHOOK_SECRET, wait_until

pytestmark = pytest.mark.pipeline

# The time limits still leave room for a first task that loads its models on a loaded 2-core machine
# (enrich loading its dictionaries took more than 5 s there); redelivery comes within about 27 s.
SHORT_TIMEOUTS = {
    "NEWSWIRE_VISIBILITY_TIMEOUT": "20",
    "NEWSWIRE_TASK_TIME_LIMIT": "15",
    "NEWSWIRE_TASK_SOFT_TIME_LIMIT": "12",
    "NEWSWIRE_HTTP_READ_TIMEOUT": "3",
    "NEWSWIRE_HTTP_TOTAL_TIMEOUT": "3.5",
}


def test_killed_ingest_worker_loses_nothing(database_url, site, sink, sample, tmp_path) -> None:  # noqa: ANN001
    from newswire.embedded import EmbeddedPipeline

    raw, truth = sample
    path = f"/killed/{uuid.uuid4().hex}.html"
    url = site.add(path, raw, delay=2)
    env = dict(PIPELINE_ENV, **SHORT_TIMEOUTS, NEWSWIRE_WEBHOOK_URL=sink.url, NEWSWIRE_WEBHOOK_SECRET=WEBHOOK_SECRET)
    with EmbeddedPipeline(database_url=database_url, env=env, workdir=tmp_path) as pipeline:
        accepted = pipeline.client.post(pipeline.api_url + "/ingest", json={"url": url}, timeout=10).json()
        wait_until(lambda: site.routes[path].hits >= 1, timeout=20, message="fetch under way")
        pipeline.restart("worker-ingest")  # SIGKILL mid-fetch: the message was never acked
        started = time.monotonic()

        def published() -> dict | None:
            response = pipeline.client.get(f"{pipeline.api_url}/articles/{accepted['id']}", timeout=10)
            if response.status_code != 200:
                return None
            versions = response.json()["versions"]
            done = versions and versions[0]["status"] == "published" and versions[0]["deliveries"] \
                and versions[0]["deliveries"][0]["status"] == "delivered"
            return response.json() if done else None

        article = wait_until(published, timeout=120, message="article published after the worker was killed")
        assert time.monotonic() - started > 2  # it came back by redelivery, not from the killed fetch
        assert site.routes[path].hits >= 2
        assert article["versions"][0]["title"] == truth["title"]
        assert len(article["versions"]) == 1
        time.sleep(1)
        assert len(sink.for_article(accepted["id"])) == 1
