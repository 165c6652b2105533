"""No-op stage tasks for ``newswire bench``: the framework's ceiling.

Named ``<stage>.noop`` so the Celery app routes them (by name prefix) to the same four queues the real stages
use; the bench's workers load them with ``--include newswire.bench_tasks``. Each forwards a small payload to the
next stage's no-op; the last one counts the article as done in Redis, and the one that completes the run
records the finish time, so the bench does not depend on how often it polls.
"""

from __future__ import annotations

import time

from shared.celery_app import app

KEY_PREFIX = "newswire:bench:noop:"
KEY_TTL = 3600


def done_key(run: str) -> str:
    return f"{KEY_PREFIX}{run}:done"


def finished_key(run: str) -> str:
    return f"{KEY_PREFIX}{run}:finished"


@app.task(name="ingest.noop")
def ingest_noop(message: dict) -> None:
    clean_noop.delay(message)


@app.task(name="clean.noop")
def clean_noop(message: dict) -> None:
    enrich_noop.delay(message)


@app.task(name="enrich.noop")
def enrich_noop(message: dict) -> None:
    publish_noop.delay(message)


@app.task(name="publish.noop")
def publish_noop(message: dict) -> None:
    from shared.redis_client import get_redis

    client = get_redis()
    run = message["run"]
    done = client.incr(done_key(run))
    client.expire(done_key(run), KEY_TTL)
    if done >= int(message["expected"]):
        client.set(finished_key(run), repr(time.time()), ex=KEY_TTL)
