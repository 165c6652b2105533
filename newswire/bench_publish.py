"""``newswire bench publish``: the delivery engine against a local receiver, and a bare httpx loop, in one run.

The engine's run is the real thing: a publish worker process (Celery, prefork) drains the deliveries table
through ``publish.drain`` tasks: batch claims, Standard Webhooks signing with two secrets (rotation), POSTs
through the guarded HTTP client, attempt log and status per delivery. The rows (articles, versions,
deliveries) are written in bulk beforehand and not timed. The bare loop posts the same bodies (no signature,
nothing stored) with one keep-alive ``httpx.Client`` from a process of its own, as many requests in flight as
the target's concurrency: like with like. It runs twice, right before the engine and right after it, and
``bare_per_s`` counts both (``bare_before_per_s``, ``bare_after_per_s`` apart): on a shared machine the load
drifts within a run, and bracketing keeps the drift from favouring either side. ``bare_sequential_per_s`` is
the same loop one request at a time in the bench's own process (the figure this bench printed before
2026-11-29), for comparison. All hit the same local receiver (in the bench's process), which counts every
webhook-id it receives: ``duplicates`` is how many deliveries it got more than once.
"""

from __future__ import annotations

import base64
import json
import os
import pickle
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Iterator

import typer

SECRETS = ["whsec_" + base64.b64encode(f"newswire-bench-secret-{n}-0123456789".encode()).decode() for n in (1, 2)]
TARGET = "bench"


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 512

    def handle_error(self, request, client_address) -> None:  # noqa: ANN001
        pass


class BenchReceiver:
    """Answers 204 to every POST; counts the webhook-ids it saw (the bare loop sends none)."""

    def __init__(self) -> None:
        self.ids: Counter[str] = Counter()
        self.bare = 0
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *_args) -> None:  # noqa: ANN002
                pass

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("content-length") or 0)
                self.rfile.read(length)
                key = self.headers.get("webhook-id")
                with receiver.lock:
                    if key:
                        receiver.ids[key] += 1
                    else:
                        receiver.bare += 1
                self.send_response(204)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = _Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, name="bench-receiver", daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _seed(count: int) -> list[dict[str, Any]]:
    """N articles with one published version each and one pending delivery each, in bulk; returns documents."""
    from sqlalchemy import insert

    from shared.payload import utcnow
    from shared.store import Article, ArticleVersion, Delivery, session_scope
    from services.publish.engine import idempotency_key

    now = utcnow()
    text = "焦作市召开文明城市创建工作推进会。会议要求各单位落实责任，扎实推进各项工作。" * 8
    html = "".join(f"<p>{part}</p>" for part in text.split("。") if part)
    articles, versions = [], []
    for n in range(count):
        article_id = str(uuid.uuid4())
        articles.append({"id": article_id, "url": f"https://bench.example.cn/{n}.html", "title": f"新闻 {n}",
                         "latest_version": 1, "duplicates": 0, "created_at": now, "updated_at": now})
        versions.append({"article_id": article_id, "version": 1, "content_hash": uuid.uuid4().hex * 2,
                         "fetch_id": uuid.uuid4().hex, "status": "published", "published_at": now, "created_at": now,
                         "trace": [], "clean": {"title": f"新闻 {n}", "text": text, "html": html, "authors": ["记者"],
                                                "published": now.isoformat(), "site_name": "大河网"},
                         "enrich": {"language": "zh", "keywords": ["文明城市", "焦作"], "reading_time_minutes": 1}})
    with session_scope() as session:
        for start in range(0, count, 2000):
            session.execute(insert(Article), articles[start:start + 2000])
            session.execute(insert(ArticleVersion), versions[start:start + 2000])
    with session_scope() as session:
        from sqlalchemy import select

        rows = session.execute(select(ArticleVersion.id, ArticleVersion.article_id)).all()
        deliveries = [{"version_id": version_id, "target": TARGET, "event": "publish",
                       "idempotency_key": idempotency_key(article_id, 1, TARGET), "status": "pending", "attempts": 0,
                       "attempt_base": 0, "created_at": now, "next_attempt_at": now - timedelta(seconds=1)}
                      for version_id, article_id in rows]
        for start in range(0, len(deliveries), 2000):
            session.execute(insert(Delivery), deliveries[start:start + 2000])
        from services.publish.formats import article_document

        version_rows = session.execute(select(Article, ArticleVersion).join(
            ArticleVersion, ArticleVersion.article_id == Article.id)).all()
        return [article_document(article, version) for article, version in version_rows]


def _tree_cpu(pid: int) -> float | None:
    """CPU seconds (user + system) used so far by a process and its children (Linux /proc; None elsewhere)."""
    try:
        ticks = os.sysconf("SC_CLK_TCK")
        total, pids = 0.0, [pid]
        while pids:
            current = pids.pop()
            stat = Path(f"/proc/{current}/stat").read_text()
            fields = stat[stat.rindex(")") + 2:].split()
            total += (int(fields[11]) + int(fields[12])) / ticks
            for task in Path(f"/proc/{current}/task").iterdir():
                pids.extend(int(child) for child in (task / "children").read_text().split())
        return total
    except (OSError, ValueError):
        return None


def _bare_loop(url: str, bodies: list[bytes], concurrency: int = 1) -> float:
    """Seconds to POST every body with one keep-alive ``httpx.Client``, ``concurrency`` requests in flight."""
    import httpx

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    with httpx.Client(timeout=10, limits=limits) as client:
        def post_all(queue: Iterator[bytes]) -> None:
            for body in queue:
                client.post(url, content=body, headers={"content-type": "application/json"}).raise_for_status()

        queue = iter(bodies)  # shared by the threads: next() on a list iterator is atomic
        started = time.perf_counter()
        if concurrency == 1:
            post_all(queue)
        else:
            threads = [threading.Thread(target=post_all, args=(queue,)) for _ in range(concurrency)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
        return time.perf_counter() - started


def _bare_process(url: str, bodies: list[bytes], concurrency: int, workdir: Path) -> tuple[float, float]:
    """The bare loop in a process of its own, as the engine's worker is (not sharing the receiver's GIL):
    its seconds and the CPU seconds it used meanwhile."""
    path = workdir / "bare-bodies.pickle"
    path.write_bytes(pickle.dumps(bodies))
    code = ("import json, pickle, sys, time; from newswire.bench_publish import _bare_loop; "
            "bodies = pickle.load(open(sys.argv[2], 'rb')); cpu = time.process_time(); "
            "seconds = _bare_loop(sys.argv[1], bodies, int(sys.argv[3])); "
            "print(json.dumps([seconds, time.process_time() - cpu]))")
    done = subprocess.run([sys.executable, "-c", code, url, str(path), str(concurrency)], check=True,
                          capture_output=True, text=True)
    seconds, cpu = json.loads(done.stdout.strip().splitlines()[-1])
    return seconds, cpu


def run_publish_bench(deliveries: int = 20000, concurrency: int = 8, database_url: str | None = None,
                      progress: bool = True) -> dict[str, Any]:
    from newswire.embedded import EmbeddedPipeline, override_environment
    from shared.redis_server import start_redis
    from shared.store import upgrade_schema
    from services.publish.formats import render
    from services.publish.targets import Outgoing

    workdir = Path(tempfile.mkdtemp(prefix="newswire-bench-publish-"))
    redis_process, redis_url = start_redis(workdir / "redis", appendonly=False)
    database_url = database_url or f"sqlite:///{workdir / 'newswire.db'}"
    receiver = BenchReceiver()
    targets_file = workdir / "targets.yaml"
    targets_file.write_text(json.dumps({"targets": [{"name": TARGET, "kind": "webhook", "url": receiver.url + "/hook",
                                                     "secrets": SECRETS, "concurrency": concurrency}]}))
    env = {"NEWSWIRE_TARGETS_FILE": str(targets_file), "NEWSWIRE_ALLOW_PRIVATE_NETWORKS": "127.0.0.1/32",
           "NEWSWIRE_LOG_FORMAT": "text"}
    say = (lambda message: typer.echo(message, err=True)) if progress else (lambda message: None)
    pipeline = None
    try:
        with override_environment({"REDIS_URL": redis_url, "DATABASE_URL": database_url,
                                   "NEWSWIRE_DATA_DIR": str(workdir), **env}):
            upgrade_schema()
            say(f"seeding {deliveries} deliveries ...")
            documents = _seed(deliveries)
            # The very bodies the engine sends: the document with its event (the engine adds the signatures).
            bodies = [render("json", Outgoing("", "publish", {**doc, "event": "publish"}))[0] for doc in documents]
            say(f"bare httpx loop, {concurrency} in flight, own process ...")
            bare_before, bare_cpu_before = _bare_process(receiver.url + "/bare", bodies, concurrency, workdir)
            say("starting a publish worker ...")
            pipeline = EmbeddedPipeline(redis_url=redis_url, database_url=database_url, env=env, stages=("publish",),
                                        api=False, workdir=workdir / "pipeline")
            pipeline.start()
            from shared.celery_app import make_app

            celery = make_app()  # bound to this bench's Redis, whatever this process imported before
            from sqlalchemy import func, select

            from shared.store import Delivery, session_scope

            say("draining ...")
            worker_pid = pipeline.processes["worker-publish"].pid
            cpu_before = _tree_cpu(worker_pid)
            started = time.perf_counter()
            celery.send_task("publish.drain", args=[TARGET], queue="publish")
            deadline = time.monotonic() + max(120.0, deliveries / 50)
            while True:
                with receiver.lock:
                    seen = len(receiver.ids)
                if seen >= deliveries:
                    with session_scope() as session:
                        delivered = session.execute(select(func.count()).select_from(Delivery)
                                                    .where(Delivery.status == "delivered")).scalar()
                    if delivered >= deliveries:
                        break
                if time.monotonic() > deadline:
                    raise RuntimeError(f"only {seen} of {deliveries} delivered in time; logs in {pipeline.logs}")
                time.sleep(0.02)
            engine_seconds = time.perf_counter() - started
            cpu_after = _tree_cpu(worker_pid)
            engine_cpu = cpu_after - cpu_before if cpu_before is not None and cpu_after is not None else None
            time.sleep(0.5)  # anything sent twice would arrive now
            with receiver.lock:
                duplicates = sum(count - 1 for count in receiver.ids.values() if count > 1)
                received = len(receiver.ids)
            pipeline.stop()
            pipeline = None
            # The bare loop again, right after the engine: the machine is shared and its load drifts within a run;
            # the bare figure is both runs together (one before the engine, one after), so drift biases neither side.
            say(f"bare httpx loop again, {concurrency} in flight, own process ...")
            bare_after, bare_cpu_after = _bare_process(receiver.url + "/bare", bodies, concurrency, workdir)
            say("bare httpx loop, one after the other, in this process ...")
            sequential_seconds = _bare_loop(receiver.url + "/bare", bodies)
        deliveries_per_s = deliveries / engine_seconds
        bare_seconds = (bare_before + bare_after) / 2
        bare_cpu = (bare_cpu_before + bare_cpu_after) / 2
        bare_per_s = deliveries / bare_seconds
        return {
            "deliveries": deliveries,
            "deliveries_per_s": round(deliveries_per_s, 1),
            "bare_per_s": round(bare_per_s, 1),
            "ratio": round(deliveries_per_s / bare_per_s, 3),
            "duplicates": duplicates,
            "received": received,
            "engine_seconds": round(engine_seconds, 2),
            "bare_seconds": round(bare_seconds, 2),
            "bare_before_per_s": round(deliveries / bare_before, 1),
            "bare_after_per_s": round(deliveries / bare_after, 1),
            "bare_sequential_per_s": round(deliveries / sequential_seconds, 1),
            # CPU per delivery on the sending side (the publish worker's processes / the bare loop's process):
            # steadier than the rates on a shared machine.
            "engine_cpu_ms": round(engine_cpu / deliveries * 1000, 3) if engine_cpu is not None else None,
            "bare_cpu_ms": round(bare_cpu / deliveries * 1000, 3),
            "concurrency": concurrency,
            "bare_concurrency": concurrency,
            "signatures": len(SECRETS),
            "database": database_url.split(":", 1)[0],
            "cores": os.cpu_count(),
            "load_average": [round(value, 2) for value in os.getloadavg()],
        }
    finally:
        if pipeline is not None:
            pipeline.stop()
        receiver.close()
        redis_process.terminate()
        redis_process.wait(timeout=10)
        shutil.rmtree(workdir, ignore_errors=True)


def register(bench_app: typer.Typer) -> None:
    @bench_app.command("publish")
    def bench_publish(
        deliveries: int = typer.Option(20000, "--deliveries", help="Deliveries to send"),
        concurrency: int = typer.Option(8, "--concurrency", help="The target's concurrency limit"),
        database_url: str = typer.Option(None, "--database-url",
                                         help="An empty database to use (default: SQLite in a temporary folder)"),
        as_json: bool = typer.Option(False, "--json", help="Print one JSON object"),
    ) -> None:
        """Deliveries/s of the engine (signed, logged, via a worker) and of a bare httpx loop, and their ratio."""
        result = run_publish_bench(deliveries, concurrency, database_url, progress=not as_json)
        if as_json:
            print(json.dumps(result))
            return
        print(f"engine: {result['deliveries_per_s']:.0f} deliveries/s ({result['signatures']} signatures each, "
              f"{result['database']}, concurrency {result['concurrency']})")
        print(f"bare httpx loop: {result['bare_per_s']:.0f} posts/s ({result['bare_concurrency']} in flight, "
              f"own process); one at a time: {result['bare_sequential_per_s']:.0f} posts/s")
        print(f"ratio (engine / bare): {result['ratio']:.2f}; duplicates: {result['duplicates']}")
        if result["engine_cpu_ms"] is not None:
            print(f"CPU per delivery: engine {result['engine_cpu_ms']:.2f} ms, bare loop {result['bare_cpu_ms']:.2f} ms"
                  f"; load average {result['load_average'][0]:.1f} on {result['cores']} cores")
