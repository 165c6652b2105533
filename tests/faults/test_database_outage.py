"""The database unreachable for a while: the stages back off and resume when it is back; nothing is lost and
nothing is sent twice. Every article submitted before or during the outage ends published, delivered exactly
once to every target (counted at the receiver), with no dead letter.

The pipeline reaches PostgreSQL through a TCP proxy (tests/faults/outage_support.py) that the test cuts: open
connections are closed and new ones closed at once, as when the database host goes away, then restored.
"""

from __future__ import annotations

import os
import time

import pytest

from conftest import wait_until
from tests.faults.outage_support import TARGETS, release_after_last_user, shared_pipeline

pytestmark = [
    pytest.mark.fault,
    pytest.mark.skipif(not os.environ.get("TEST_DATABASE_URL"),
                       reason="needs PostgreSQL (TEST_DATABASE_URL): the outage is a cut TCP connection to the "
                              "database server; SQLite is a file in the worker's own process, it has no connection "
                              "to lose"),
]

OUTAGE_SECONDS = 15
BEFORE, DURING = 4, 3


@pytest.fixture(scope="module")
def faults(request):  # noqa: ANN001, ANN201
    yield shared_pipeline(request)
    release_after_last_user(request)


def _enqueue(faults, url: str) -> str:  # noqa: ANN001
    """Hand a fetch to the ingest queue as the API does (the API itself answers 503 while the database is
    unreachable: it checks the caller's token there)."""
    from newswire.embedded import override_environment
    from shared.celery_app import make_app
    from shared.payload import IngestRequest, article_id_for

    with override_environment({"REDIS_URL": faults.pipeline.redis_url,
                               "DATABASE_URL": faults.pipeline.database_url}):
        app = make_app()
        try:
            app.send_task("ingest.fetch", args=[IngestRequest(url=url).to_message()], queue="ingest")
        finally:
            app.close()
    return article_id_for(url)


def test_database_outage_loses_nothing_and_sends_nothing_twice(faults) -> None:  # noqa: ANN001
    proxy = faults.proxy
    assert proxy is not None
    before = [faults.submit(faults.page("db-before")[0]) for _ in range(BEFORE)]
    # Cut while the articles are spread over the stages: the first one is through, the others are on their way.
    faults.wait_delivered("quick", before[:1], message="the first article through before the outage")
    waits_before = _store_waits(faults)
    proxy.cut()
    cut_at = time.monotonic()
    try:
        during = [_enqueue(faults, faults.page("db-during")[0]) for _ in range(DURING)]
        refused = faults.client.post("/ingest", json={"url": faults.page("db-refused")[0]}, timeout=60)
        assert refused.status_code == 503, refused.text  # refused, with a reason: not a 500, not accepted
        wait_until(lambda: proxy.refused >= 3, timeout=60, message="the stages trying the database again")
        time.sleep(max(0.0, OUTAGE_SECONDS - (time.monotonic() - cut_at)))
        tries = proxy.refused
        for name, process in faults.pipeline.processes.items():
            assert process.poll() is None, f"{name} exited during the database outage"
    finally:
        proxy.restore()

    ids = before + during
    for target in TARGETS:
        faults.wait_delivered(target, ids, timeout=180, message=f"every article delivered to {target}")
    for article_id in ids:
        article = faults.article(article_id)
        assert article is not None and len(article["versions"]) == 1
        assert article["versions"][0]["status"] == "published"
        assert not faults.dead_letters(article_id), faults.dead_letters(article_id)
        for target in TARGETS:
            assert len(faults.receiver.of(target, article_id)) == 1, (target, article_id)
    assert tries >= 3
    assert _store_waits(faults) > waits_before  # the operator sees the stages waited for the store


def _store_waits(faults) -> float:  # noqa: ANN001
    """newswire_store_unavailable_total summed over the stages, from /metrics."""
    text = faults.client.get("/metrics", timeout=30).text
    return sum(float(line.rsplit(" ", 1)[-1]) for line in text.splitlines()
               if line.startswith("newswire_store_unavailable_total{"))
