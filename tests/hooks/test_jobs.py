"""Jobs: stored before they are queued, so a call accepted while the broker is down is delivered after the sweep;
run once however often their message comes; listed with filters and cursor paging."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from conftest import wait_until
from shared.redis_server import free_port
from tests.hooks.conftest import body_of, job_state, make_hook, post, signed
from tests.publish.conftest import make_article

pytestmark = pytest.mark.pipeline


def test_call_accepted_while_the_broker_is_down_is_delivered_after_the_sweep(pipeline, sink,
                                                                             tmp_path: Path) -> None:  # noqa: ANN001
    from shared.payload import utcnow
    from services.hooks import jobs

    name, secret = make_hook(["republish"])
    article_id, _ = make_article()
    # A second API process on the same database, whose Redis (the broker) is not there.
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSWIRE_")}
    env.update(REDIS_URL=f"redis://127.0.0.1:{free_port()}/0", DATABASE_URL=pipeline.database_url,
               NEWSWIRE_DATA_DIR=str(tmp_path), NEWSWIRE_LOG_FORMAT="text")
    port = free_port()
    api = subprocess.Popen([sys.executable, "-m", "uvicorn", "services.api.app:app", "--port", str(port)], env=env,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        def answering() -> bool:
            try:
                httpx.get(base + "/openapi.json", timeout=5)
                return True
            except httpx.HTTPError:
                return False

        wait_until(answering, timeout=60, message="second API answering")
        body = body_of({"article_id": article_id})
        answer = post(base, name, body, signed([secret], body))
        assert answer.status_code == 202, answer.text
        assert answer.json()["job_status"] == "pending"  # stored, not queued
    finally:
        api.terminate()
        api.wait(timeout=20)
    job_id = answer.json()["job_id"]
    assert job_state(job_id)["status"] == "pending"
    assert not sink.for_article(article_id)
    # The broker is back (this process has the pipeline's): the scheduler's sweep queues it; the workers run it.
    assert job_id in jobs.due_for_sweep(utcnow() + timedelta(seconds=10))
    assert jobs.sweep(utcnow() + timedelta(seconds=10)) >= 1
    done = wait_until(lambda: job_state(job_id).get("status") in ("done", "failed") and job_state(job_id),
                      timeout=30, message="swept job run")
    assert done["status"] == "done", done
    wait_until(lambda: len(sink.for_article(article_id)) == 1, timeout=30, message="republication delivered")


def test_a_job_runs_once_and_a_failure_says_why(pipeline) -> None:  # noqa: ANN001
    from shared.payload import utcnow
    from shared.store import session_scope
    from shared.store.models import Job
    from services.hooks import jobs

    with session_scope() as session:
        job_id = jobs.create(session, "retract", {"article_id": str(uuid.uuid4()), "note": None}, actor="tests").id
    first = jobs.run(job_id)
    assert first["status"] == "failed" and "no article" in first["error"]
    assert jobs.run(job_id)["status"] == "not-taken"  # a second message for it does nothing
    shown = job_state(job_id)
    assert shown["status"] == "failed" and shown["attempts"] == 1 and shown["finished_at"]
    # A worker that died mid-job: its lease runs out and the sweep hands the job out again.
    with session_scope() as session:
        job = session.get(Job, job_id)
        job.status, job.lease_until = "running", utcnow() - timedelta(seconds=1)
    assert job_id in jobs.due_for_sweep()
    assert jobs.claim(job_id) is not None


def test_jobs_list_filters_and_pages(pipeline, viewer) -> None:  # noqa: ANN001
    name, secret = make_hook(["reingest"])
    ids = []
    for _ in range(3):
        body = body_of({"url": f"https://127.0.0.1:1/{uuid.uuid4().hex}.html"})
        ids.append(post(pipeline.api_url, name, body, signed([secret], body)).json()["job_id"])
    seen, cursor = [], None
    while True:
        params = {"hook": name, "limit": 2, **({"cursor": cursor} if cursor else {})}
        page = httpx.get(f"{pipeline.api_url}/jobs", params=params, headers=viewer, timeout=10).json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert sorted(seen) == sorted(ids) and len(seen) == 3
    assert httpx.get(f"{pipeline.api_url}/jobs", params={"cursor": "!!"}, headers=viewer, timeout=10).status_code == 400
    assert httpx.get(f"{pipeline.api_url}/jobs/{uuid.uuid4().hex}", headers=viewer, timeout=10).status_code == 404
    assert httpx.get(f"{pipeline.api_url}/jobs", params={"status": "lost"}, headers=viewer,
                     timeout=10).status_code == 422
    calls = httpx.get(f"{pipeline.api_url}/hook-calls", params={"hook": name, "limit": 2}, headers=viewer,
                      timeout=10).json()
    assert len(calls["items"]) == 2 and calls["next_cursor"]
    rest = httpx.get(f"{pipeline.api_url}/hook-calls", params={"hook": name, "cursor": calls["next_cursor"]},
                     headers=viewer, timeout=10).json()
    assert len(rest["items"]) == 1 and rest["next_cursor"] is None


def test_old_hook_calls_are_forgotten(pipeline) -> None:  # noqa: ANN001
    from shared.payload import utcnow
    from shared.store import session_scope
    from shared.store.models import HookCall
    from services.hooks import intake

    with session_scope() as session:
        old = HookCall(hook="pruned", received_at=utcnow() - timedelta(days=31), verdict="refused", status_code=404)
        new = HookCall(hook="pruned", received_at=utcnow() - timedelta(days=29), verdict="refused", status_code=404)
        session.add_all([old, new])
    assert intake.prune_calls() >= 1
    assert [c["received_at"] for c in intake.calls(hook="pruned")["items"]] == [new.received_at.isoformat()]


def test_finished_jobs_are_forgotten_after_their_time(pipeline) -> None:  # noqa: ANN001
    from shared.payload import utcnow
    from shared.store import session_scope
    from shared.store.models import Job
    from services.hooks import jobs

    now = utcnow()
    with session_scope() as session:
        made = {name: jobs.create(session, "retract", {"article_id": name}, actor="tests").id
                for name in ("old-done", "old-failed", "recent-done", "old-running")}
        for name, job_id in made.items():
            job = session.get(Job, job_id)
            job.status = name.split("-")[1]
            job.finished_at = now - timedelta(days=31 if name.startswith("old") else 29)
    assert jobs.prune_finished(now=now) >= 2
    with session_scope() as session:
        left = {name for name, job_id in made.items() if session.get(Job, job_id) is not None}
    assert left == {"recent-done", "old-running"}  # unfinished work is never forgotten, whatever its age
