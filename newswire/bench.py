"""``newswire bench``: throughput, latency, the framework's ceiling and the work's own bound, in one run.

Phases, in the order they run:

(c) work bound: the four stage functions called directly in this process on the same sequence of pages
    (ingest fetching from the local page server, clean, enrich, publish; a throwaway SQLite store; the pipeline's
    Redis for ingest's host slots, with the workers idle, and per-host politeness lifted for the page server,
    which stands in for many sites, here and in (a)). CPU time is
    measured with ``time.thread_time()`` around the calls: the thread CPU clock of the calling thread, so the
    page server's threads and the progress bar's refresh thread in this process are not counted against the
    work. bound = cores / CPU seconds per article.
(b) no-op ceiling: N messages through the same four queues and workers, with tasks that only forward a small
    payload (``newswire.bench_tasks``).
(a) throughput: N distinct page URLs submitted at once to ``ingest.fetch``; timed from the first submission
    until every intake has a final state (published, duplicate or failed), after warm-up articles.
    latency: N more at a steady offered rate of half that throughput, at even intervals;
    latency = ArticleVersion.published_at - submit time, over the published ones.

Every pass uses its own URL prefix (/c/, /a/, /l/, /warm/), so every article is new to the store.
"""

from __future__ import annotations

import json
import math
import os
import random
import shutil
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from shared.settings import STAGES
from newswire.embedded import override_environment

FINAL_STATES = ("published", "duplicate", "near_duplicate", "failed")
POLL_INTERVAL = 0.05
SHUFFLE_SEED = 20240601
ALLOWED_NETWORKS = "127.0.0.1/32"  # the page server, nothing else
# The page server stands in for many sites: ingest's per-host politeness (K at once, R per second) would
# measure the politeness, not the pipeline, so the bench lifts it for that one host.
BENCH_SITE_SETTINGS = {"NEWSWIRE_ALLOW_PRIVATE_NETWORKS": ALLOWED_NETWORKS,
                       "NEWSWIRE_INGEST_HOST_CONCURRENCY": "64", "NEWSWIRE_INGEST_HOST_RATE": "0",
                       # The bench serves the same pages at many URLs: near-duplicates all, by construction. They go
                       # through every stage, so that what is measured is the pipeline's work on each article.
                       "NEWSWIRE_CLEAN_PUBLISH_NEAR_DUPLICATES": "true"}
# Settings a user may tune for the bench's workers (EmbeddedPipeline drops NEWSWIRE_* from the environment).
FORWARDED_SETTINGS = ("NEWSWIRE_HTTP_", "NEWSWIRE_RETRY_", "NEWSWIRE_TASK_", "NEWSWIRE_MAX_BODY_BYTES",
                      "NEWSWIRE_LOG_LEVEL")


# --------------------------------------------------------------------------------------------- pages

def default_pages_dir() -> Path:
    """NEWSWIRE_BENCH_PAGES, else ../shared/eval/extraction/dev relative to the repository root."""
    given = os.environ.get("NEWSWIRE_BENCH_PAGES")
    if given:
        return Path(given).expanduser().resolve()
    import newswire

    return Path(newswire.__file__).resolve().parents[1].parent / "shared" / "eval" / "extraction" / "dev"


@dataclass
class PageSet:
    folder: Path
    pages: dict[str, bytes]
    order: list[str]  # deterministic shuffle: a small N still sees a mix of sources and languages
    warmup: list[str]  # one page per language group (en, zh, other): each loads different models


def load_pages(folder: Path) -> PageSet:
    pages_folder = folder / "pages" if (folder / "pages").is_dir() else folder
    files = sorted(pages_folder.glob("*.html"))
    if not files:
        raise FileNotFoundError(f"no *.html pages in {pages_folder} (set NEWSWIRE_BENCH_PAGES)")
    pages = {path.name: path.read_bytes() for path in files}
    languages: dict[str, str] = {}
    truth = folder / "truth.jsonl"
    if truth.is_file():
        for line in truth.read_text(encoding="utf-8").splitlines():
            if line.strip():
                record = json.loads(line)
                languages[f"{record['id']}.html"] = (record.get("lang") or "").lower()
    order = list(pages)
    random.Random(SHUFFLE_SEED).shuffle(order)
    warmup: list[str] = []
    seen: set[str] = set()
    for name in order:
        language = languages.get(name, "")
        group = "en" if language.startswith("en") else "zh" if language.startswith("zh") else "other"
        if group not in seen:
            seen.add(group)
            warmup.append(name)
    return PageSet(folder=folder, pages=pages, order=order, warmup=warmup)


class _PageServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request, client_address) -> None:  # noqa: ANN001
        pass


class QuietHandler(BaseHTTPRequestHandler):
    """HTTP/1.1 keep-alive, no request log: the base of the bench's local servers."""

    protocol_version = "HTTP/1.1"

    def log_message(self, *_args) -> None:  # noqa: ANN002
        pass


def serve(handler: type[BaseHTTPRequestHandler], name: str) -> tuple[ThreadingHTTPServer, str]:
    """A threading HTTP server on a free port of 127.0.0.1, serving from a daemon thread; returns it and its URL."""
    server = _PageServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, name=name, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


class PageServer:
    """Serves the pages on 127.0.0.1 under any prefix: /<pass>/<i>/<name>.html -> the page <name>.html."""

    def __init__(self, pages: dict[str, bytes]) -> None:
        served = pages

        class Handler(QuietHandler):
            def do_GET(self) -> None:  # noqa: N802
                name = self.path.split("?", 1)[0].rsplit("/", 1)[-1]
                body = served.get(name)
                status = 200
                if body is None:
                    status, body = 404, b"not found"
                self.send_response(status)
                self.send_header("Content-Type", "text/html" if status == 200 else "text/plain")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                try:
                    self.wfile.write(body)
                except OSError:
                    pass

        self.server, self.base = serve(Handler, "bench-pages")

    def url(self, prefix: str, index: int, name: str) -> str:
        return f"{self.base}/{prefix}/{index}/{name}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


# ------------------------------------------------------------------------------------------ helpers

def cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover  (not Linux)
        return os.cpu_count() or 1


def percentile(values: list[float], q: float) -> float | None:
    """Linear interpolation between closest ranks (numpy's default)."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100.0
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


class _Bar:
    """A rich progress bar on stderr, or nothing."""

    def __init__(self, enabled: bool) -> None:
        self.progress = Progress(
            TextColumn("{task.description:<30}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
            TextColumn("{task.fields[note]}"), console=Console(stderr=True), disable=not enabled,
        )

    def __enter__(self) -> "_Bar":
        self.progress.__enter__()
        return self

    def __exit__(self, *exc) -> None:  # noqa: ANN002
        self.progress.__exit__(*exc)

    def phase(self, description: str, total: int) -> int:
        return self.progress.add_task(description, total=total, note="")

    def update(self, task: int, **kwargs: Any) -> None:  # noqa: ANN401
        self.progress.update(task, **kwargs)


# -------------------------------------------------------------------------- (c) the work's own bound

@dataclass
class WorkResult:
    articles: int
    cpu_seconds: float
    stage_cpu: dict[str, float]
    failures: int
    failure_reasons: dict[str, int] = field(default_factory=dict)

    @property
    def cpu_per_article(self) -> float:
        return self.cpu_seconds / self.articles


def _run_stages(url: str, stage_cpu: dict[str, float]) -> None:
    """One article through the four stage functions, in this thread; adds each stage's thread CPU time."""
    from shared.payload import IngestRequest
    from services.clean.service import clean
    from services.enrich.service import enrich
    from services.ingest.service import ingest
    from services.publish.service import publish

    clock = time.thread_time
    start = clock()
    try:
        outcome = ingest(IngestRequest(url=url))
    finally:
        stage_cpu["ingest"] += clock() - start
    for payload in outcome.articles:
        start = clock()
        try:
            done = clean(payload)  # fills the payload in; older versions returned (payload, outcome)
        finally:
            stage_cpu["clean"] += clock() - start
        payload, version = done if isinstance(done, tuple) else (payload, done)
        if version.kind == "duplicate":
            continue
        start = clock()
        try:
            payload = enrich(payload) or payload
        finally:
            stage_cpu["enrich"] += clock() - start
        start = clock()
        try:
            publish(payload, {})
        finally:
            stage_cpu["publish"] += clock() - start


def measure_work(server: PageServer, pages: PageSet, articles: int, bar: _Bar) -> WorkResult:
    from shared.store import upgrade_schema

    folder = Path(tempfile.mkdtemp(prefix="newswire-bench-work-"))
    url = f"sqlite:///{folder / 'work.db'}"
    task = bar.phase("(c) stage functions in-process", articles)
    stage_cpu = {stage: 0.0 for stage in STAGES}
    failures = 0
    reasons: dict[str, int] = {}
    try:
        with override_environment({"DATABASE_URL": url, "NEWSWIRE_DATA_DIR": str(folder), **BENCH_SITE_SETTINGS}):
            upgrade_schema(url)
            scratch = {stage: 0.0 for stage in STAGES}
            for index, name in enumerate(pages.warmup):  # first calls load models: not counted
                try:
                    _run_stages(server.url("warm-c", index, name), scratch)
                except Exception:  # noqa: BLE001
                    pass
            for index in range(articles):
                name = pages.order[index % len(pages.order)]
                try:
                    _run_stages(server.url("c", index, name), stage_cpu)
                except Exception as exc:  # noqa: BLE001  (the pipeline spends this CPU too, then dead-letters)
                    failures += 1
                    reasons[type(exc).__name__] = reasons.get(type(exc).__name__, 0) + 1
                    if failures == articles:  # not one page went through: the bench is broken, not the pages
                        raise RuntimeError(f"phase (c): every article failed; the last with {exc!r}") from exc
                bar.update(task, completed=index + 1, note=f"{failures} failed" if failures else "")
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return WorkResult(articles=articles, cpu_seconds=sum(stage_cpu.values()), stage_cpu=stage_cpu,
                      failures=failures, failure_reasons=reasons)


# ------------------------------------------------------------------------------ the running pipeline

def _celery_app():  # noqa: ANN202
    """shared.celery_app.app, or a fresh app if that one was made for another broker before the env changed."""
    import shared.celery_app as module
    from shared.settings import get_settings

    if module.app.conf.broker_url != get_settings().broker_url:
        return module.make_app()
    return module.app


def _check_alive(pipeline) -> None:  # noqa: ANN001
    for name, process in pipeline.processes.items():
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited with {process.returncode} during the bench: "
                               f"see {pipeline.logs / (name + '.log')}")


@dataclass
class Intake:
    fetch_id: str
    url: str
    submitted: float  # wall clock, seconds since the epoch
    state: str | None = None
    seen_final: float | None = None  # wall clock when this process saw the final state
    published_at: float | None = None

    @property
    def finished(self) -> float | None:
        return self.published_at if self.published_at is not None else self.seen_final


class RealPass:
    """Submit intakes to ingest.fetch and follow their fetch states in Redis."""

    def __init__(self, app, pipeline, server: PageServer, pages: PageSet, prefix: str) -> None:  # noqa: ANN001
        self.app = app
        self.pipeline = pipeline
        self.server = server
        self.pages = pages
        self.prefix = prefix
        self.intakes: list[Intake] = []
        self.pending: list[Intake] = []

    def submit(self, index: int, name: str | None = None) -> Intake:
        from shared.payload import IngestRequest

        name = name or self.pages.order[index % len(self.pages.order)]
        request = IngestRequest(url=self.server.url(self.prefix, index, name))
        intake = Intake(fetch_id=request.fetch_id, url=request.url, submitted=time.time())
        self.app.send_task("ingest.fetch", args=[request.to_message()], queue="ingest")
        self.intakes.append(intake)
        self.pending.append(intake)
        return intake

    def poll(self) -> int:
        """Read the states of the pending intakes; returns how many became final."""
        if not self.pending:
            return 0
        from shared.redis_client import get_redis

        raw = get_redis().mget([f"newswire:fetch:{intake.fetch_id}" for intake in self.pending])
        now = time.time()
        still: list[Intake] = []
        newly = 0
        for intake, value in zip(self.pending, raw):
            state = json.loads(value)["state"] if value else None
            if state in FINAL_STATES:
                intake.state, intake.seen_final = state, now
                newly += 1
            else:
                still.append(intake)
        self.pending = still
        return newly

    def wait(self, deadline: float, on_progress=None) -> None:  # noqa: ANN001
        while self.pending and time.monotonic() < deadline:
            _check_alive(self.pipeline)
            if self.poll() and on_progress:
                on_progress()
            time.sleep(POLL_INTERVAL)

    def read_published_at(self) -> None:
        from sqlalchemy import select

        from shared.store import ArticleVersion, session_scope

        ids = [intake.fetch_id for intake in self.intakes if intake.state == "published"]
        found: dict[str, float] = {}
        with session_scope() as session:
            for start in range(0, len(ids), 500):
                rows = session.execute(
                    select(ArticleVersion.fetch_id, ArticleVersion.published_at)
                    .where(ArticleVersion.fetch_id.in_(ids[start:start + 500]))
                ).all()
                found.update({fetch_id: at.timestamp() for fetch_id, at in rows if at is not None})
        for intake in self.intakes:
            intake.published_at = found.get(intake.fetch_id)

    def count(self, state: str | None) -> int:
        return sum(1 for intake in self.intakes if intake.state == state)

    @property
    def done(self) -> int:
        return sum(1 for intake in self.intakes if intake.state is not None)

    def note(self) -> str:
        failed = self.count("failed")
        return f"{failed} failed" if failed else ""


def warm_up(app, pipeline, server: PageServer, pages: PageSet, bar: _Bar, timeout: float = 180.0) -> None:  # noqa: ANN001
    """Warm-up articles (one per language group: each loads its own models) through all four stages, untimed."""
    run = RealPass(app, pipeline, server, pages, "warm")
    task = bar.phase("warm-up", len(pages.warmup))
    for index, name in enumerate(pages.warmup):
        run.submit(index, name)
    run.wait(time.monotonic() + timeout, lambda: bar.update(task, completed=run.done))
    bar.update(task, completed=run.done)
    if run.pending:
        raise RuntimeError(f"warm-up articles did not finish in {timeout:.0f}s; worker logs in {pipeline.logs}")


@dataclass
class ThroughputResult:
    articles: int
    elapsed: float
    published: int
    duplicates: int
    failures: int
    unfinished: int

    @property
    def rate(self) -> float:
        return (self.articles - self.unfinished) / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def published_rate(self) -> float:
        return self.published / self.elapsed if self.elapsed > 0 else 0.0


def measure_throughput(app, pipeline, server: PageServer, pages: PageSet, articles: int, bar: _Bar,  # noqa: ANN001
                       timeout: float) -> ThroughputResult:
    run = RealPass(app, pipeline, server, pages, "a")
    task = bar.phase("(a) throughput", articles)
    start = time.time()
    for index in range(articles):
        run.submit(index)
    run.wait(time.monotonic() + timeout, lambda: bar.update(task, completed=run.done, note=run.note()))
    run.read_published_at()
    bar.update(task, completed=run.done, note=run.note())
    ends = [intake.finished for intake in run.intakes if intake.finished is not None]
    elapsed = (max(ends) - start) if ends else timeout
    return ThroughputResult(articles=articles, elapsed=elapsed, published=run.count("published"),
                            duplicates=run.count("duplicate"), failures=run.count("failed"),
                            unfinished=len(run.pending))


@dataclass
class LatencyResult:
    offered_rate: float
    latencies_ms: list[float]
    failures: int
    duplicates: int
    unfinished: int
    achieved_rate: float


def measure_latency(app, pipeline, server: PageServer, pages: PageSet, articles: int, rate: float,  # noqa: ANN001
                    bar: _Bar, timeout: float) -> LatencyResult:
    run = RealPass(app, pipeline, server, pages, "l")
    task = bar.phase(f"(a) latency at {rate:.2f} articles/s", articles)
    interval = 1.0 / rate
    start = time.monotonic()
    deadline = start + articles * interval + timeout
    sent = 0
    while (sent < articles or run.pending) and time.monotonic() < deadline:
        now = time.monotonic()
        while sent < articles and now >= start + sent * interval:
            run.submit(sent)
            sent += 1
        _check_alive(pipeline)
        run.poll()
        bar.update(task, completed=run.done, note=f"{sent} sent" + (f", {run.note()}" if run.note() else ""))
        next_submit = start + sent * interval if sent < articles else math.inf
        time.sleep(max(0.0, min(POLL_INTERVAL, next_submit - time.monotonic())))
    run.read_published_at()
    bar.update(task, completed=run.done, note=run.note())
    latencies = [(intake.published_at - intake.submitted) * 1000.0 for intake in run.intakes
                 if intake.state == "published" and intake.published_at is not None]
    submit_span = run.intakes[-1].submitted - run.intakes[0].submitted if len(run.intakes) > 1 else 0.0
    achieved = (len(run.intakes) - 1) / submit_span if submit_span > 0 else rate
    return LatencyResult(offered_rate=rate, latencies_ms=latencies, failures=run.count("failed"),
                         duplicates=run.count("duplicate"), unfinished=len(run.pending), achieved_rate=achieved)


def measure_noop(app, pipeline, articles: int, bar: _Bar, timeout: float) -> float:  # noqa: ANN001
    """Articles/s through the four queues with tasks that do nothing (after one warm-up message)."""
    from newswire.bench_tasks import done_key, finished_key
    from shared.redis_client import get_redis

    client = get_redis()

    def run_once(count: int, task: int | None) -> tuple[float, float]:
        run = uuid.uuid4().hex
        started = time.time()
        for index in range(count):
            app.send_task("ingest.noop", args=[{"run": run, "i": index, "expected": count}], queue="ingest")
        limit = time.monotonic() + timeout
        while time.monotonic() < limit:
            _check_alive(pipeline)
            finished = client.get(finished_key(run))
            if task is not None:
                bar.update(task, completed=int(client.get(done_key(run)) or 0))
            if finished:
                if task is not None:
                    bar.update(task, completed=count)
                return started, float(finished)
            time.sleep(0.01)
        done = int(client.get(done_key(run)) or 0)
        raise RuntimeError(f"no-op tasks: {done} of {count} done after {timeout:.0f}s (are the workers started "
                           f"with --include newswire.bench_tasks? logs in {pipeline.logs})")

    run_once(1, None)
    task = bar.phase("(b) no-op stages", articles)
    started, finished = run_once(articles, task)
    return articles / max(finished - started, 1e-9)


# ------------------------------------------------------------------------------------------ the run

def _pipeline_env() -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key.startswith(FORWARDED_SETTINGS)}
    env.update(BENCH_SITE_SETTINGS)
    return env


def run_bench(articles: int, progress: bool = True, pages_dir: Path | None = None) -> dict[str, Any]:
    """Run the three measurements; returns the figures (see the module docstring)."""
    from newswire.embedded import EmbeddedPipeline
    from newswire.supervisor import DEFAULT_CONCURRENCY

    if articles < 1:
        raise ValueError("--articles must be at least 1")
    pages = load_pages(pages_dir or default_pages_dir())
    server = PageServer(pages.pages)
    external_redis = os.environ.get("REDIS_URL") or None
    external_database = os.environ.get("DATABASE_URL") or None
    timeout = 120.0 + 3.0 * articles
    concurrency = {stage: int(os.environ.get(f"NEWSWIRE_{stage.upper()}_CONCURRENCY", DEFAULT_CONCURRENCY[stage]))
                   for stage in STAGES}
    try:
        with _Bar(progress) as bar:
            starting = bar.phase("starting Redis and workers", 1)
            pipeline = EmbeddedPipeline(redis_url=external_redis, database_url=external_database,
                                        env=_pipeline_env(), api=False,
                                        extra_worker_args=["--include", "newswire.bench_tasks"])
            with pipeline:
                bar.update(starting, completed=1, note=pipeline.redis_url or "")
                with override_environment({"REDIS_URL": pipeline.redis_url, "DATABASE_URL": pipeline.database_url,
                                           "NEWSWIRE_DATA_DIR": str(pipeline.workdir),
                                           **BENCH_SITE_SETTINGS}):
                    # (c) first, while the workers idle: the stage functions need Redis (host slots) too.
                    work = measure_work(server, pages, articles, bar)
                    app = _celery_app()
                    noop_rate = measure_noop(app, pipeline, articles, bar, timeout)
                    warm_up(app, pipeline, server, pages, bar)
                    throughput = measure_throughput(app, pipeline, server, pages, articles, bar, timeout)
                    if throughput.rate <= 0:
                        raise RuntimeError(f"no article finished in {timeout:.0f}s; worker logs in {pipeline.logs}")
                    latency = measure_latency(app, pipeline, server, pages, articles, throughput.rate / 2, bar,
                                              timeout)
    finally:
        server.close()

    n_cores = cores()
    bound = n_cores / work.cpu_per_article if work.cpu_seconds > 0 else math.inf

    def rounded(value: float | None, digits: int = 3) -> float | None:
        return None if value is None else round(value, digits)

    return {
        "articles_per_s": rounded(throughput.rate),
        "noop_articles_per_s": rounded(noop_rate),
        "work_bound_articles_per_s": rounded(bound),
        "efficiency": rounded(throughput.rate / bound, 4),
        "p50_ms": rounded(percentile(latency.latencies_ms, 50), 1),
        "p95_ms": rounded(percentile(latency.latencies_ms, 95), 1),
        "p99_ms": rounded(percentile(latency.latencies_ms, 99), 1),
        "cores": n_cores,
        # more detail
        "articles": articles,
        "pages": len(pages.pages),
        "published_per_s": rounded(throughput.published_rate),
        "throughput_elapsed_s": rounded(throughput.elapsed),
        "failures": throughput.failures + throughput.unfinished,
        "duplicates": throughput.duplicates,
        "latency_offered_per_s": rounded(latency.offered_rate),
        "latency_submitted_per_s": rounded(latency.achieved_rate),
        "latency_samples": len(latency.latencies_ms),
        "latency_failures": latency.failures + latency.unfinished,
        "cpu_s_per_article": rounded(work.cpu_per_article, 5),
        "stage_cpu_ms_per_article": {stage: round(seconds / articles * 1000.0, 2)
                                     for stage, seconds in work.stage_cpu.items()},
        "work_failures": work.failures,
        "concurrency": concurrency,
        "redis": "external" if external_redis else "embedded",
        "database": "external" if external_database else "embedded sqlite",
    }


def print_report(result: dict[str, Any], console: Console) -> None:
    def number(value: float | None, unit: str = "") -> str:
        return "-" if value is None else f"{value:,.2f}{unit}"

    table = Table(title=f"newswire bench: {result['articles']} articles per pass, {result['cores']} cores",
                  show_header=True)
    table.add_column("measure")
    table.add_column("value", justify="right")
    table.add_column("notes")
    table.add_row("(a) throughput, real stages", number(result["articles_per_s"], " articles/s"),
                  f"{result['failures']} failed of {result['articles']}; "
                  f"{number(result['published_per_s'])} published/s")
    table.add_row("(a) latency p50 / p95 / p99",
                  f"{number(result['p50_ms'])} / {number(result['p95_ms'])} / {number(result['p99_ms'])} ms",
                  f"ingest to publish at {number(result['latency_offered_per_s'])} articles/s offered; "
                  f"{result['latency_failures']} failed")
    table.add_row("(b) no-op ceiling", number(result["noop_articles_per_s"], " articles/s"),
                  "same queues and workers, stages that do nothing")
    stages = ", ".join(f"{stage} {ms:.1f}" for stage, ms in result["stage_cpu_ms_per_article"].items())
    table.add_row("(c) work bound", number(result["work_bound_articles_per_s"], " articles/s"),
                  f"{result['cores']} cores / {result['cpu_s_per_article'] * 1000:.1f} ms CPU per article "
                  f"({stages})")
    efficiency = result["efficiency"]
    table.add_row("efficiency (a) / (c)", "-" if efficiency is None else f"{efficiency * 100:.1f}%", "")
    console.print(table)
