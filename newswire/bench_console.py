"""``newswire bench console``: what the metrics and the console cost, measured in one run.

On a throwaway bundled Redis (TCP on a free port) and SQLite store: the time a task spends recording its metrics
(start + end, one pipelined round trip each), the time to render /metrics and the overview's data with a given
number of labelled series and dead letters, and the size of the scrape.
"""

from __future__ import annotations

import json
import random
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import typer

from shared.settings import STAGES


def run_console_bench(tasks: int = 5000, sources: int = 500, letters: int = 2000) -> dict[str, Any]:
    from newswire.embedded import override_environment
    from shared.redis_server import start_redis

    workdir = Path(tempfile.mkdtemp(prefix="newswire-bench-console-"))
    redis_process, redis_url = start_redis(workdir / "redis", appendonly=False)
    try:
        with override_environment({"REDIS_URL": redis_url, "DATABASE_URL": f"sqlite:///{workdir / 'db.sqlite'}",
                                   "NEWSWIRE_DATA_DIR": str(workdir)}):
            return _measure(tasks, sources, letters)
    finally:
        redis_process.terminate()
        redis_process.wait(timeout=10)
        shutil.rmtree(workdir, ignore_errors=True)


def _measure(tasks: int, sources: int, letters: int) -> dict[str, Any]:
    from shared import metrics
    from shared.store import upgrade_schema
    from shared.store.dead_letters import record_dead_letter
    from services.api.console import data
    from services.api.metrics import render_metrics

    upgrade_schema()
    rng = random.Random(7)
    clock = time.perf_counter()
    for n in range(tasks):
        stage = STAGES[n % 4]
        metrics.task_started(stage)
        metrics.task_finished(stage, "succeeded" if n % 20 else "failed", rng.expovariate(1 / 0.05))
    per_task_us = (time.perf_counter() - clock) / tasks * 1e6
    clock = time.perf_counter()
    metrics.flush()  # what the background thread does every half second
    flush_ms = (time.perf_counter() - clock) * 1000
    counted = sum(v for labels, v in metrics.read_counter("tasks") if labels["outcome"] == "started")
    assert counted == tasks, f"{counted} of {tasks} task starts reached Redis"
    # For comparison, in the same run: writing each task's start and end straight to Redis (one pipelined round
    # trip each, what an unbuffered recorder pays).
    client = metrics._redis()
    direct = min(tasks, 1000)
    clock = time.perf_counter()
    for n in range(direct):
        for _ in ("start", "end"):
            pipe = client.pipeline(transaction=False)
            pipe.hincrby("newswire:bench:direct", f"tasks|{STAGES[n % 4]}", 1)
            pipe.hincrby("newswire:bench:direct", f"minute|{STAGES[n % 4]}", 1)
            pipe.execute()
    direct_us = (time.perf_counter() - clock) / direct * 1e6
    for n in range(sources):
        for kind in ("new", "updated", "duplicate"):
            metrics.count_article(f"source-{n}.example", kind, rng.randint(1, 50))
    metrics.flush()
    for n in range(letters):
        record_dead_letter(stage=STAGES[n % 4], task="clean.process", payload={"url": f"https://x.example/{n}"},
                           error="bench", attempts=1)
    metrics.maybe_sample_queues(force=True)

    def timed(function, repeat: int = 5) -> float:  # noqa: ANN001
        best = float("inf")
        for _ in range(repeat):
            start = time.perf_counter()
            function()
            best = min(best, time.perf_counter() - start)
        return best * 1000

    body = render_metrics()
    return {
        "tasks_recorded": tasks,
        "metrics_per_task_us": round(per_task_us, 1),
        "flush_ms": round(flush_ms, 2),
        "unbuffered_per_task_us": round(direct_us, 1),
        "scrape_ms": round(timed(render_metrics), 1),
        "scrape_bytes": len(body),
        "scrape_series": sum(1 for line in body.decode().splitlines() if line and not line.startswith("#")),
        "overview_ms": round(timed(lambda: data.overview(hours=24)), 1),
        "dead_letters_page_ms": round(timed(lambda: data.dead_letters(data.LetterFilter(stage="clean"), limit=50)), 1),
        "sources_labelled": sources,
        "dead_letters": letters,
    }


def register(bench_app: typer.Typer) -> None:
    @bench_app.command("console")
    def bench_console(
        tasks: int = typer.Option(5000, "--tasks", help="Task outcomes to record"),
        sources: int = typer.Option(500, "--sources", help="Sources with article counters (series in /metrics)"),
        letters: int = typer.Option(2000, "--letters", help="Dead letters in the store"),
        as_json: bool = typer.Option(False, "--json", help="Print one JSON object"),
    ) -> None:
        """What metrics recording, /metrics and the console's overview cost (one run, on a throwaway Redis)."""
        result = run_console_bench(tasks, sources, letters)
        if as_json:
            print(json.dumps(result))
            return
        for key, value in result.items():
            print(f"{key:24} {value}")
