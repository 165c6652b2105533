"""The database unreachable for a while: the stages back off and resume when it is back; nothing is lost and
nothing is sent twice. Every article submitted before or during the outage ends published, delivered exactly
once to every target (counted at the receiver), with no dead letter.

The pipeline reaches PostgreSQL through a TCP proxy (tests/faults/outage_support.py) that the test cuts: open
connections are closed and new ones closed at once, as when the database host goes away, then restored.
"""

from __future__ import annotations

import os
import time
from urllib.parse import urlsplit

import pytest

from conftest import wait_until
from tests.faults.outage_support import RETRY_MAX, TARGETS

pytestmark = pytest.mark.fault
needs_postgres = pytest.mark.skipif(
    not os.environ.get("TEST_DATABASE_URL"),
    reason="needs PostgreSQL (TEST_DATABASE_URL): the outage is a cut TCP connection to the database server; SQLite "
           "is a file opened by each worker itself, there is no connection to cut")

OUTAGE_SECONDS = 15
BEFORE, DURING = 4, 3


def test_what_counts_as_the_database_unavailable(tmp_path) -> None:  # noqa: ANN001
    """Real errors from real databases: unreachable or busy is waited for; a wrong statement or value is not."""
    import sqlite3

    from sqlalchemy import create_engine, text

    from shared.redis_server import free_port
    from shared.store import store_unavailable

    def error_of(engine, *statements: str) -> BaseException:  # noqa: ANN001
        try:
            with engine.begin() as connection:
                for statement in statements:
                    connection.execute(text(statement))
        except Exception as exc:  # noqa: BLE001
            return exc
        raise AssertionError("no error")

    refused = create_engine(f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/none")
    assert store_unavailable(error_of(refused, "SELECT 1"))
    path = tmp_path / "busy.db"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("CREATE TABLE t (id INTEGER PRIMARY KEY)")
    holder.execute("BEGIN EXCLUSIVE")
    busy = create_engine(f"sqlite:///{path}", connect_args={"timeout": 0.1})
    assert store_unavailable(error_of(busy, "INSERT INTO t VALUES (1)"))  # database is locked
    holder.execute("ROLLBACK")
    assert not store_unavailable(error_of(busy, "INSERT INTO t VALUES (1)", "INSERT INTO t VALUES (1)"))  # unique
    assert not store_unavailable(error_of(busy, "SELECT * FROM missing"))  # no such table: not an outage
    assert not store_unavailable(ValueError("bad input"))
    try:
        raise RuntimeError("wrapped") from error_of(refused, "SELECT 1")
    except RuntimeError as wrapped:
        assert store_unavailable(wrapped)  # an explicit cause counts
    holder.close()
    busy.dispose()
    refused.dispose()


def _enqueue(faults, url: str) -> str:  # noqa: ANN001
    """Hand a fetch to the ingest queue as the API does (the API itself answers 503 while the database is
    unreachable: it checks the caller's token there). A Celery client of its own: importing shared.celery_app here
    would bind that module's app to this pipeline's Redis for the rest of the session."""
    from celery import Celery

    from shared.payload import IngestRequest, article_id_for

    client = Celery("faults", broker=faults.pipeline.redis_url)
    try:
        client.send_task("ingest.fetch", args=[IngestRequest(url=url).to_message()], queue="ingest",
                         serializer="json")
    finally:
        client.close()
    return article_id_for(url)


@needs_postgres
def test_database_outage_loses_nothing_and_sends_nothing_twice(faults) -> None:  # noqa: ANN001
    proxy = faults.proxy
    assert proxy is not None
    before = [faults.submit(faults.page("db-before")[0]) for _ in range(BEFORE)]
    # Cut while the articles are spread over the stages: the first one is through, the others are on their way.
    faults.wait_delivered("quick", before[:1], message="the first article through before the outage")
    waits_before = _store_waits(faults)
    # A page fetched while the database is away, which answers 503 once it is back: its waits for the store must
    # not use up its own retries (it gets all NEWSWIRE_RETRY_MAX of them after the outage).
    turns_bad, turns_bad_id = faults.page("db-then-503")
    route = faults.site.routes[urlsplit(turns_bad).path]
    proxy.cut()
    cut_at = time.monotonic()
    try:
        during = [_enqueue(faults, faults.page("db-during")[0]) for _ in range(DURING)]
        _enqueue(faults, turns_bad)
        refused = faults.client.post("/ingest", json={"url": faults.page("db-refused")[0]}, timeout=60)
        assert refused.status_code == 503, refused.text  # refused, with a reason: not a 500, not accepted
        wait_until(lambda: proxy.refused >= 3, timeout=60, message="the stages trying the database again")
        time.sleep(max(0.0, OUTAGE_SECONDS - (time.monotonic() - cut_at)))
        tries = proxy.refused
        for name, process in faults.pipeline.processes.items():
            assert process.poll() is None, f"{name} exited during the database outage"
        wait_until(lambda: route.hits > RETRY_MAX + 1, timeout=60, message="the page fetched again while waiting")
    finally:
        route.status = 503
        waited = route.hits
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
    print(f"\ndatabase cut for {OUTAGE_SECONDS}s: {tries} connections refused meanwhile, "
          f"{_store_waits(faults) - waits_before:.0f} stage tasks put back to wait; "
          f"{len(ids)} articles published and delivered once to each of {len(TARGETS)} targets")
    assert tries >= 3
    letter = wait_until(lambda: (faults.dead_letters(turns_bad_id) or [None])[0], timeout=120,
                        message="the dead letter of the page that turned 503")
    assert "503" in letter["error"]
    assert letter["attempts"] == RETRY_MAX + 1  # its own tries, the waits for the store not counted
    assert route.hits >= waited + RETRY_MAX  # it was fetched again after the outage, each of its retries
    assert _store_waits(faults) > waits_before  # the operator sees the stages waited for the store


def _store_waits(faults) -> float:  # noqa: ANN001
    """newswire_store_unavailable_total summed over the stages, from /metrics."""
    text = faults.client.get("/metrics", timeout=30).text
    return sum(float(line.rsplit(" ", 1)[-1]) for line in text.splitlines()
               if line.startswith("newswire_store_unavailable_total{"))
