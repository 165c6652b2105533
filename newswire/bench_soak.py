"""``newswire bench soak``: steady load through all four stages for minutes; throughput, latency over time,
memory of every process, errors.

What runs: the embedded pipeline (its own Redis and SQLite unless REDIS_URL / DATABASE_URL or ``--database-url``
say otherwise): one Celery worker per stage with its pool children, the API and the scheduler (Celery beat), as
``newswire up`` runs them. A local page server on 127.0.0.1 stands in for the remote sites (the pages of
../shared/eval/extraction/dev and ../shared/samples, each under a new URL every time, so every article is new);
a local webhook receiver is the one publish target: it verifies every Standard Webhooks signature and counts
what it receives per article.

The load: ``--rate`` articles per second for ``--minutes``, at even intervals, each submitted as a user does
(``POST /ingest`` to the API). Latency is from just before that request to the moment the receiver got the
signed delivery. After the load stops the backlog drains (up to DRAIN_SECONDS), then the end figures are taken.

Memory: resident set size (RSS) of every process at the start (after warm-up articles of each language group
went through, so the models are loaded) and at the end (backlog drained): each worker's main process and pool
children, the API, the scheduler, Redis (its own ``used_memory_rss``). A process that grew by more than
``--max-growth-mb`` fails the run (exit code 1), and so does any error: a dead letter, a failed delivery, an
article delivered twice, a bad signature, an article not delivered at all, an intake the API refused.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import typer

from newswire.bench import (BENCH_SITE_SETTINGS, Intake, PageSet, PageServer, QuietHandler, RealPass, _Bar,
                            _celery_app, _check_alive, _pipeline_env, cores, default_pages_dir, load_pages,
                            percentile, serve, warm_up)
from newswire.bench_publish import SECRETS

TARGET = "soak"
# Measured on the development machine (2 cores shared with other work, default concurrency: ingest 2, clean 1,
# enrich 1, publish 2): see docs/operations.md (Soak). A rate the pipeline keeps up with there, with headroom.
DEFAULT_RATE = 2.0
# A process may grow by this much between start and end before the run fails. See docs/operations.md (Soak).
DEFAULT_MAX_GROWTH_MB = 64.0
DRAIN_SECONDS = 300.0  # after the load stops, how long the backlog may take to be delivered
GRACE_SECONDS = 2.0  # after the last delivery: anything sent twice would arrive now
STATE_POLL_SECONDS = 1.0
MB = 1024 * 1024


def soak_pages() -> PageSet:
    """The evaluation pages (NEWSWIRE_BENCH_PAGES, else ../shared/eval/extraction/dev) and ../shared/samples."""
    pages = load_pages(default_pages_dir())
    samples = Path(__file__).resolve().parents[1].parent / "shared" / "samples"
    if samples.is_dir():
        extra = load_pages(samples)
        pages.pages.update(extra.pages)
        pages.order.extend(name for name in extra.order if name not in pages.order)
    return pages


# --------------------------------------------------------------------------------------------- receiver

class SoakReceiver:
    """The publish target: verifies each delivery's signature (401 if it does not verify), records its arrival."""

    def __init__(self, secret: str) -> None:
        from standardwebhooks.webhooks import Webhook, WebhookVerificationError

        verifier = Webhook(secret)
        self.lock = threading.Lock()
        self.arrivals: list[tuple[float, str, str]] = []  # (time, article id, webhook-id), in order of arrival
        self.bad_signatures = 0
        receiver = self

        class Handler(QuietHandler):
            def do_POST(self) -> None:  # noqa: N802
                at = time.time()
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                headers = {key.lower(): value for key, value in self.headers.items()}
                try:
                    document = verifier.verify(body, headers)
                    article_id = str(document.get("id"))
                except (WebhookVerificationError, ValueError, AttributeError):
                    with receiver.lock:
                        receiver.bad_signatures += 1
                    status = 401
                else:
                    with receiver.lock:
                        receiver.arrivals.append((at, article_id, headers["webhook-id"]))
                    status = 204
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server, self.url = serve(Handler, "soak-receiver")

    def since(self, start: int) -> list[tuple[float, str, str]]:
        with self.lock:
            return self.arrivals[start:]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


# ------------------------------------------------------------------------------------------------ intake

class ApiIntake(RealPass):
    """Intakes through the API's ``POST /ingest``, as a user submits them; fetch states followed in Redis."""

    def __init__(self, client, pipeline, server: PageServer, pages: PageSet, prefix: str) -> None:  # noqa: ANN001
        super().__init__(None, pipeline, server, pages, prefix)
        self.client = client
        self.by_article: dict[str, Intake] = {}
        self.refused: list[str] = []

    def submit(self, index: int, name: str | None = None) -> Intake | None:
        import httpx

        name = name or self.pages.order[index % len(self.pages.order)]
        url = self.server.url(self.prefix, index, name)
        submitted = time.time()
        try:
            response = self.client.post("/ingest", json={"url": url})
        except httpx.HTTPError as exc:
            self.refused.append(f"{url}: {exc!r}")
            return None
        if response.status_code != 202:
            self.refused.append(f"{url}: {response.status_code} {response.text[:200]}")
            return None
        answer = response.json()
        intake = Intake(fetch_id=answer["fetch_id"], url=url, submitted=submitted)
        self.intakes.append(intake)
        self.pending.append(intake)
        self.by_article[answer["id"]] = intake
        return intake


# ------------------------------------------------------------------------------------------------ memory

def process_memory(pipeline) -> list[tuple[str, int, int]]:  # noqa: ANN001
    """(group, pid, RSS bytes) of every process of the pipeline: each child with its own children, then Redis."""
    import psutil

    from shared.redis_client import get_redis

    found: list[tuple[str, int, int]] = []
    for name, process in pipeline.processes.items():
        try:
            main = psutil.Process(process.pid)
            found.append((name, main.pid, main.memory_info().rss))
            for child in sorted(main.children(recursive=True), key=lambda child: child.pid):
                try:
                    found.append((f"{name}:pool", child.pid, child.memory_info().rss))
                except psutil.NoSuchProcess:
                    continue
        except psutil.NoSuchProcess:
            continue
    info = get_redis().info()
    found.append(("redis", int(info["process_id"]), int(info["used_memory_rss"])))
    return found


def memory_report(start: list[tuple[str, int, int]], end: list[tuple[str, int, int]],
                  bound_mb: float) -> dict[str, Any]:
    """Per process start, end and growth in MB, matched by pid; a process replaced during the run has no growth
    (it is listed as gone and its successor as new)."""
    names: dict[int, str] = {}
    numbers: dict[str, int] = {}
    for group, pid, _ in start:
        if group.endswith(":pool"):
            numbers[group] = numbers.get(group, 0) + 1
            names[pid] = f"{group}-{numbers[group]}"
        else:
            names[pid] = group
    rows: dict[int, dict[str, Any]] = {
        pid: {"name": names[pid], "pid": pid, "start_mb": round(rss / MB, 1), "end_mb": None, "growth_mb": None}
        for _, pid, rss in start}
    for group, pid, rss in end:
        row = rows.setdefault(pid, {"name": f"{group}-new" if group.endswith(":pool") else f"{group} (new)",
                                    "pid": pid, "start_mb": None, "end_mb": None, "growth_mb": None})
        row["end_mb"] = round(rss / MB, 1)
        if row["start_mb"] is not None:
            row["growth_mb"] = round(row["end_mb"] - row["start_mb"], 1)
    processes = list(rows.values())
    grown = [row for row in processes if row["growth_mb"] is not None]
    worst = max(grown, key=lambda row: row["growth_mb"], default=None)
    return {
        "processes": processes,
        "start_total_mb": round(sum(rss for _, _, rss in start) / MB, 1),
        "end_total_mb": round(sum(rss for _, _, rss in end) / MB, 1),
        "growth_total_mb": round((sum(rss for _, _, rss in end) - sum(rss for _, _, rss in start)) / MB, 1),
        "max_growth_mb": bound_mb,
        "largest_growth": None if worst is None else {"name": worst["name"], "growth_mb": worst["growth_mb"]},
        "over_bound": [row["name"] for row in grown if row["growth_mb"] > bound_mb],
        "replaced": [row["name"] for row in processes if row["start_mb"] is None or row["end_mb"] is None],
    }


# --------------------------------------------------------------------------------------------- intervals

@dataclass
class Window:
    """What happened in one reporting interval: intakes sent, deliveries that arrived, fetches that failed."""

    index: int
    phase: str = "load"
    sent: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    failed: int = 0

    def row(self, seconds: float, backlog: int, rss_mb: float) -> dict[str, Any]:
        def ms(q: float) -> float | None:
            value = percentile(self.latencies_ms, q)
            return None if value is None else round(value, 1)

        return {"interval": self.index + 1, "phase": self.phase, "seconds": round(seconds, 1), "sent": self.sent,
                "delivered": len(self.latencies_ms),
                # a last row of a fraction of a second (the drain's end) has no meaningful rate
                "delivered_per_s": round(len(self.latencies_ms) / seconds, 3) if seconds >= 1 else None,
                "p50_ms": ms(50), "p95_ms": ms(95), "p99_ms": ms(99), "failed": self.failed, "backlog": backlog,
                "rss_mb": rss_mb, "load1": round(os.getloadavg()[0], 2)}


def _say_row(row: dict[str, Any]) -> None:
    def ms(value: float | None) -> str:
        return "-" if value is None else f"{value:.0f}"

    rate = "-" if row["delivered_per_s"] is None else f"{row['delivered_per_s']:.2f}"
    typer.echo(f"[{row['phase']} {row['interval']:>3}] sent {row['sent']:>4}  delivered {row['delivered']:>4} "
               f"({rate}/s)  p50/p95/p99 {ms(row['p50_ms'])}/{ms(row['p95_ms'])}/"
               f"{ms(row['p99_ms'])} ms  failed {row['failed']}  backlog {row['backlog']}  "
               f"rss {row['rss_mb']:.0f} MB  load {row['load1']:.2f}", err=True)


# ------------------------------------------------------------------------------------------------ the run

def _store_errors(since: datetime) -> dict[str, int]:
    from sqlalchemy import func, select

    from shared.store import Delivery, DeliveryAttempt, session_scope
    from shared.store.models import DeadLetter

    def count(query) -> int:  # noqa: ANN001
        return int(session.execute(query).scalar() or 0)

    with session_scope() as session:
        ours = select(Delivery.id).where(Delivery.target == TARGET, Delivery.created_at >= since)
        return {
            "dead_letters": count(select(func.count()).select_from(DeadLetter).where(DeadLetter.created_at >= since)),
            "failed_deliveries": count(select(func.count()).select_from(Delivery)
                                       .where(Delivery.id.in_(ours), Delivery.status == "failed")),
            "failed_attempts": count(select(func.count()).select_from(DeliveryAttempt)
                                     .where(DeliveryAttempt.delivery_id.in_(ours),
                                            DeliveryAttempt.error.is_not(None))),
            "deliveries_unsent": count(select(func.count()).select_from(Delivery)
                                       .where(Delivery.id.in_(ours),
                                              Delivery.status.in_(("pending", "retrying", "sending")))),
        }


def run_soak(minutes: float, rate: float, interval: float, max_growth_mb: float,
             database_url: str | None = None, progress: bool = True) -> dict[str, Any]:
    """Run the soak; returns the figures (see the module docstring). ``ok`` is False on any error or growth."""
    import httpx

    from newswire.embedded import EmbeddedPipeline, override_environment
    from newswire.supervisor import DEFAULT_CONCURRENCY
    from shared.settings import STAGES

    if minutes <= 0 or rate <= 0 or interval <= 0:
        raise ValueError("--minutes, --rate and --interval must be positive")
    if max_growth_mb < 0:
        raise ValueError("--max-growth-mb must be 0 or more")
    pages = soak_pages()
    server = PageServer(pages.pages)
    receiver = SoakReceiver(SECRETS[-1])
    workdir = Path(tempfile.mkdtemp(prefix="newswire-soak-"))
    targets_file = workdir / "targets.yaml"
    targets_file.write_text(json.dumps({"targets": [{"name": TARGET, "kind": "webhook", "url": receiver.url + "/hook",
                                                     "secrets": SECRETS}]}))
    external_redis = os.environ.get("REDIS_URL") or None
    database_url = database_url or os.environ.get("DATABASE_URL") or None
    say = (lambda message: typer.echo(message, err=True)) if progress else (lambda message: None)
    concurrency = {stage: int(os.environ.get(f"NEWSWIRE_{stage.upper()}_CONCURRENCY", DEFAULT_CONCURRENCY[stage]))
                   for stage in STAGES}
    load_start = os.getloadavg()
    try:
        say("starting Redis, the workers, the API and the scheduler ...")
        pipeline = EmbeddedPipeline(redis_url=external_redis, database_url=database_url,
                                    env={**_pipeline_env(), "NEWSWIRE_TARGETS_FILE": str(targets_file)},
                                    api=True, scheduler=True, workdir=workdir / "pipeline")
        with pipeline, override_environment({"REDIS_URL": pipeline.redis_url, "DATABASE_URL": pipeline.database_url,
                                             "NEWSWIRE_DATA_DIR": str(pipeline.workdir), **BENCH_SITE_SETTINGS}):
            with _Bar(progress) as bar:
                warm_up(_celery_app(), pipeline, server, pages, bar)
            deadline = time.monotonic() + 60
            while len(receiver.since(0)) < len(pages.warmup) and time.monotonic() < deadline:
                time.sleep(0.1)
            warm_seen = len(receiver.since(0))
            since = datetime.now(timezone.utc)
            start_memory = process_memory(pipeline)
            # No token, no access: the pipeline's own operator token.
            with httpx.Client(base_url=pipeline.api_url, headers=pipeline.auth, timeout=30) as client:
                intake = ApiIntake(client, pipeline, server, pages, "soak")
                driver = Driver(intake, receiver, pipeline, warm_seen, show=progress)
                load_seconds, drained = driver.run(minutes * 60.0, rate, interval)
            time.sleep(GRACE_SECONDS)
            driver.take_arrivals()
            end_memory = process_memory(pipeline)
            store = _store_errors(since)
            bench_rss = _own_rss()
    finally:
        receiver.close()
        server.close()
        shutil.rmtree(workdir, ignore_errors=True)

    sent = len(intake.intakes)
    receipts = driver.receipts
    latencies = driver.latencies_ms
    failed_fetch = intake.count("failed")
    duplicates = sum(count - 1 for count in receipts.values() if count > 1)
    undelivered = sum(1 for article_id, item in intake.by_article.items()
                      if article_id not in receipts and item.state != "failed")
    firsts = [at for at, article_id, _ in receiver.arrivals if article_id in receipts]
    span = (max(firsts) - intake.intakes[0].submitted) if firsts and sent else 0.0
    memory = memory_report(start_memory, end_memory, max_growth_mb)
    errors = {**store, "failed_fetches": failed_fetch, "content_duplicates": intake.count("duplicate"),
              "duplicates": duplicates, "bad_signatures": receiver.bad_signatures, "undelivered": undelivered,
              "refused_intakes": len(intake.refused)}
    counted = ("dead_letters", "failed_deliveries", "duplicates", "bad_signatures", "undelivered",
               "refused_intakes", "content_duplicates")
    problems = [f"{key}: {errors[key]}" for key in counted if errors[key]]
    problems += [f"{name} grew by more than {max_growth_mb:g} MB" for name in memory["over_bound"]]
    if memory["replaced"]:  # a worker child that died (crash, OOM, time limit) and was replaced, or a new one
        problems.append("processes replaced during the run: " + ", ".join(memory["replaced"]))
    if not drained:
        problems.append(f"backlog not drained {DRAIN_SECONDS:.0f}s after the load stopped")

    def ms(q: float) -> float | None:
        value = percentile(latencies, q)
        return None if value is None else round(value, 1)

    return {
        "minutes": minutes,
        "rate": rate,
        "interval_s": interval,
        "sent": sent,
        "delivered": len(receipts),
        "delivered_once": sum(1 for count in receipts.values() if count == 1),
        "sent_per_s": round(sent / load_seconds, 3) if load_seconds > 0 else None,
        "delivered_per_s": round(len(receipts) / span, 3) if span > 0 else None,
        "p50_ms": ms(50),
        "p95_ms": ms(95),
        "p99_ms": ms(99),
        "intervals": driver.rows,
        "memory": memory,
        "errors": errors,
        "ok": not problems,
        "problems": problems + [f"refused: {line}" for line in intake.refused[:5]],
        "bench_process_rss_mb": bench_rss,
        "load_average": {"start": [round(x, 2) for x in load_start], "end": [round(x, 2) for x in os.getloadavg()]},
        "cores": cores(),
        "pages": len(pages.pages),
        "concurrency": concurrency,
        "redis": "external" if external_redis else "embedded",
        "database": database_url.split(":", 1)[0] if database_url else "embedded sqlite",
    }


def _own_rss() -> float:
    import psutil

    return round(psutil.Process().memory_info().rss / MB, 1)


class Driver:
    """Submits at even intervals for a while, then waits for the backlog; one row per interval."""

    def __init__(self, intake: ApiIntake, receiver: SoakReceiver, pipeline, seen: int, show: bool) -> None:  # noqa: ANN001
        self.intake = intake
        self.receiver = receiver
        self.pipeline = pipeline
        self.seen = seen  # arrivals already read (the warm-up's)
        self.show = show
        self.receipts: dict[str, int] = {}  # article id -> deliveries received
        self.latencies_ms: list[float] = []
        self.rows: list[dict[str, Any]] = []
        self.failed = 0

    def take_arrivals(self, window: Window | None = None) -> None:
        for at, article_id, _ in self.receiver.since(self.seen):
            self.seen += 1
            item = self.intake.by_article.get(article_id)
            if item is None:
                continue
            self.receipts[article_id] = self.receipts.get(article_id, 0) + 1
            if self.receipts[article_id] == 1:
                latency = (at - item.submitted) * 1000.0
                self.latencies_ms.append(latency)
                if window is not None:
                    window.latencies_ms.append(latency)

    def take_states(self, window: Window) -> None:
        _check_alive(self.pipeline)
        self.intake.poll()
        failed = self.intake.count("failed")
        window.failed += failed - self.failed
        self.failed = failed

    def backlog(self) -> int:
        """Sent, not delivered, not failed for good."""
        return sum(1 for article_id, item in self.intake.by_article.items()
                   if article_id not in self.receipts and item.state in (None, "published"))

    def close(self, window: Window, seconds: float) -> None:
        rss = round(sum(rss for _, _, rss in process_memory(self.pipeline)) / MB, 1)
        row = window.row(seconds, self.backlog(), rss)
        self.rows.append(row)
        if self.show:
            _say_row(row)

    def run(self, load_seconds: float, rate: float, interval: float) -> tuple[float, bool]:
        """Returns how long the load ran and whether the backlog drained."""
        step = 1.0 / rate
        start = time.monotonic()
        stop_load = start + load_seconds
        drain_until = stop_load + DRAIN_SECONDS
        window, window_start, next_poll, index = Window(0), start, start, 0
        while True:
            now = time.monotonic()
            while now < stop_load and now >= start + index * step:
                if self.intake.submit(index) is not None:
                    window.sent += 1
                index += 1
            self.take_arrivals(window)
            if now >= next_poll:
                self.take_states(window)
                next_poll = now + STATE_POLL_SECONDS
            if now >= window_start + interval:
                self.close(window, now - window_start)
                window, window_start = Window(window.index + 1, "load" if now < stop_load else "drain"), now
            if now >= stop_load and (not self.backlog() or now >= drain_until):
                break
            next_submit = start + index * step if now < stop_load else now + 0.05
            time.sleep(max(0.0, min(0.05, next_submit - time.monotonic())))
        self.take_states(window)
        if window.sent or window.latencies_ms or window.failed or not self.rows:
            self.close(window, time.monotonic() - window_start)
        return min(load_seconds, time.monotonic() - start), not self.backlog()


# ------------------------------------------------------------------------------------------------ the command

def print_soak(result: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    def number(value: float | None, digits: int = 0) -> str:
        return "-" if value is None else f"{value:,.{digits}f}"

    console = Console(width=max(Console().width, 132))  # the interval table is wide; a file gets it whole
    table = Table(title=f"newswire bench soak: {result['minutes']:g} min at {result['rate']:g} articles/s, "
                        f"{result['cores']} cores, {result['database']}")
    for column in ("interval", "phase", "s", "sent", "delivered", "/s", "p50 ms", "p95 ms", "p99 ms", "failed",
                   "backlog", "RSS MB", "load"):
        table.add_column(column, justify="left" if column == "phase" else "right")
    for row in result["intervals"]:
        table.add_row(str(row["interval"]), row["phase"], number(row["seconds"]), str(row["sent"]),
                      str(row["delivered"]), number(row["delivered_per_s"], 2), number(row["p50_ms"]),
                      number(row["p95_ms"]), number(row["p99_ms"]), str(row["failed"]), str(row["backlog"]),
                      number(row["rss_mb"]), number(row["load1"], 2))
    console.print(table)
    memory = result["memory"]
    table = Table(title=f"memory (RSS), start (after warm-up) and end (backlog drained); "
                        f"bound {memory['max_growth_mb']:g} MB per process")
    for column in ("process", "pid", "start MB", "end MB", "growth MB"):
        table.add_column(column, justify="left" if column == "process" else "right")
    for row in memory["processes"]:
        table.add_row(row["name"], str(row["pid"]), number(row["start_mb"], 1), number(row["end_mb"], 1),
                      number(row["growth_mb"], 1))
    table.add_row("all", "", number(memory["start_total_mb"], 1), number(memory["end_total_mb"], 1),
                  number(memory["growth_total_mb"], 1))
    console.print(table)
    errors = result["errors"]
    console.print(f"sent {result['sent']} ({number(result['sent_per_s'], 2)}/s), delivered {result['delivered']} "
                  f"({result['delivered_once']} exactly once), {number(result['delivered_per_s'], 2)} delivered/s; "
                  f"latency intake to delivery p50 {number(result['p50_ms'])} ms, p95 {number(result['p95_ms'])} ms, "
                  f"p99 {number(result['p99_ms'])} ms")
    console.print("errors: " + ", ".join(f"{key} {value}" for key, value in errors.items()))
    load = result["load_average"]
    console.print(f"load average (1, 5, 15 min) at start {load['start']}, at end {load['end']}; "
                  f"this process {result['bench_process_rss_mb']} MB")
    console.print("ok" if result["ok"] else "FAILED: " + "; ".join(result["problems"]))


def register(bench_app: typer.Typer) -> None:
    @bench_app.command("soak")
    def bench_soak(
        minutes: float = typer.Option(..., "--minutes", help="How long the load runs"),
        rate: float = typer.Option(DEFAULT_RATE, "--rate", help="Articles per second, at even intervals"),
        interval: float = typer.Option(60.0, "--interval", help="Seconds per row of the report"),
        max_growth_mb: float = typer.Option(DEFAULT_MAX_GROWTH_MB, "--max-growth-mb",
                                            help="Fail if a process's RSS grew by more (MB)"),
        database_url: str = typer.Option(None, "--database-url",
                                         help="An empty database (default: DATABASE_URL, else SQLite in a temporary "
                                              "folder)"),
        as_json: bool = typer.Option(False, "--json", help="Print one JSON object"),
    ) -> None:
        """Steady load through all four stages: throughput, latency over time, memory of every process, errors.

        Exits with 1 if a process grew by more than --max-growth-mb, or an article failed, was lost or was delivered
        twice."""
        try:
            result = run_soak(minutes, rate, interval, max_growth_mb, database_url, progress=not as_json)
        except ValueError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from exc
        if as_json:
            print(json.dumps(result))
        else:
            print_soak(result)
        if not result["ok"]:
            raise typer.Exit(1)
