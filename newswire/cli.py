"""The ``newswire`` command."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

from shared.settings import STAGES, get_settings

cli = typer.Typer(help="Newswire: ingest, clean, enrich and publish news.", no_args_is_help=True,
                  pretty_exceptions_enable=False)
console = Console(stderr=True)
out = Console()


def main() -> None:
    cli()


@cli.command()
def up(
    port: int = typer.Option(8000, help="Port of the API"),
    host: str = typer.Option("127.0.0.1", help="Address the API listens on"),
) -> None:
    """Run everything on this machine: Redis (bundled, unless REDIS_URL is set), SQLite (unless DATABASE_URL is set),
    one worker per stage, the scheduler and the API."""
    from shared.redis_server import redis_command, wait_for_redis
    from shared.store import upgrade_schema
    from newswire.supervisor import Child, Supervisor, api_command, scheduler_command, worker_command

    settings = get_settings()
    data_dir = settings.data_dir
    logs = data_dir / "logs"
    data_dir.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "NEWSWIRE_DATA_DIR": str(data_dir), "PYTHONUNBUFFERED": "1"}
    children: list[Child] = []
    supervisor = Supervisor(children, env, console=console)
    if settings.embedded_redis:
        if settings.redis_socket.exists():
            settings.redis_socket.unlink()
        redis_child = Child("redis", redis_command(data_dir, port=0, unix_socket=settings.redis_socket),
                            logs / "redis.log", stop_order=3)
        children.append(redis_child)
        supervisor.start(redis_child)
        wait_for_redis(settings.broker_url, process=redis_child.process)
    upgrade_schema()
    for stage in STAGES:
        # A worker stops when its running tasks have finished (Celery's warm shutdown): give it as long as the
        # longest may take, as the Kubernetes and Compose files do; a second Ctrl-C stops everything at once.
        children.append(Child(f"worker:{stage}", worker_command(stage), logs / f"worker-{stage}.log", stop_order=2,
                              grace=settings.task_time_limit + 30.0))
    children.append(Child("scheduler", scheduler_command(data_dir), logs / "scheduler.log", stop_order=1))
    children.append(Child("api", api_command(host, port), logs / "api.log", stop_order=1))
    for child in children:
        if child.process is None:
            supervisor.start(child)

    table = Table(title="Newswire is up", show_header=False)
    table.add_row("API", f"http://{host}:{port}  (health: /healthz, feeds: /feeds/all.json /feeds/all.atom; "
                         "everything else needs a token: Authorization: Bearer ...)")
    table.add_row("First token", "newswire token create --role operator  (printed once; read-only: --role read-only)")
    table.add_row("Redis", settings.broker_url + ("  (bundled, append-only)" if settings.embedded_redis else ""))
    table.add_row("Database", settings.sqlalchemy_url.split("@")[-1] if "@" in settings.sqlalchemy_url else settings.sqlalchemy_url)
    table.add_row("Console", f"http://{host}:{port}/console  (sign in with a token: newswire token create --role operator)")
    table.add_row("Metrics", f"http://{host}:{port}/metrics")
    table.add_row("Workers", ", ".join(STAGES))
    table.add_row("Logs", str(logs))
    table.add_row("Stop", "Ctrl-C")
    console.print(table)
    supervisor.run()


@cli.command()
def worker(
    stage: str = typer.Argument(..., help=f"One of: {', '.join(STAGES)}"),
    concurrency: Optional[int] = typer.Option(None, help="Worker processes (default per stage)"),
    loglevel: str = typer.Option("INFO"),
) -> None:
    """Run a Celery worker for one stage's queue (what `up` and each container run)."""
    from newswire.supervisor import worker_command

    if stage not in STAGES:
        console.print(f"[red]unknown stage {stage!r}: one of {', '.join(STAGES)}[/]")
        raise typer.Exit(2)
    command = worker_command(stage, concurrency, loglevel)
    os.execv(command[0], command)


@cli.command()
def scheduler(loglevel: str = typer.Option("INFO")) -> None:
    """Run the scheduler (Celery beat): exactly one per deployment."""
    from newswire.supervisor import scheduler_command

    settings = get_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    command = scheduler_command(settings.data_dir, loglevel)
    os.execv(command[0], command)


@cli.command()
def api(host: str = typer.Option("127.0.0.1"), port: int = typer.Option(8000)) -> None:
    """Run the HTTP API alone."""
    from newswire.supervisor import api_command

    command = api_command(host, port)
    os.execv(command[0], command)


@cli.command()
def migrate() -> None:
    """Apply the database migrations (Alembic) and exit."""
    from shared.store import upgrade_schema

    upgrade_schema()
    console.print("database is at the newest schema")


def _wait_for(fetch_id: str, timeout: float) -> list[dict]:
    """Wait until the intake ``fetch_id`` (and, for a feed, each entry) has ended; return the outcomes."""
    from shared.jobs import get_fetch_state

    deadline = time.monotonic() + timeout
    pending = [fetch_id]
    outcomes: list[dict] = []
    while pending:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{len(pending)} intake(s) not finished after {timeout:.0f}s")
        still = []
        for current in pending:
            state = get_fetch_state(current)
            if state is None:
                still.append(current)
            elif state["state"] == "feed":
                pending_children = state.get("children", [])
                still.extend(pending_children)
                if not pending_children:
                    outcomes.append(state)
            else:
                outcomes.append({"fetch_id": current, **state})
        pending = still
        if pending:
            time.sleep(0.2)
    return outcomes


@cli.command()
def ingest(
    target: str = typer.Argument(..., help="A page or feed URL, or a local file"),
    url: Optional[str] = typer.Option(None, help="For a file: the URL it came from"),
    wait: bool = typer.Option(False, "--wait", help="Wait until it is published and print it as JSON"),
    timeout: float = typer.Option(120.0, help="How long --wait waits, in seconds"),
) -> None:
    """Submit a URL or a file to the ingest stage."""
    from shared.celery_app import app as celery
    from shared.payload import IngestRequest

    if target.startswith(("http://", "https://")):
        request = IngestRequest(url=target)
    else:
        path = Path(target).expanduser().resolve()
        if not path.is_file():
            console.print(f"[red]no such file: {path}[/]")
            raise typer.Exit(2)
        request = IngestRequest(path=str(path), url=url)
    try:
        celery.send_task("ingest.fetch", args=[request.to_message()], queue="ingest")
    except Exception as exc:  # noqa: BLE001
        console.print(f"[red]cannot reach the queue at {get_settings().broker_url}: {exc}[/]\n"
                      "Is `newswire up` running (or REDIS_URL set to a running Redis)?")
        raise typer.Exit(3)
    console.print(f"submitted (fetch id {request.fetch_id})")
    if not wait:
        return
    try:
        outcomes = _wait_for(request.fetch_id, timeout)
    except TimeoutError as exc:
        console.print(f"[red]{exc}[/]")
        raise typer.Exit(1)
    from services.api.app import article_detail

    results = []
    failed = False
    for outcome in outcomes:
        if outcome["state"] in ("published", "duplicate", "near_duplicate"):
            detail = article_detail(outcome["article_id"])
            version = next((v for v in detail["versions"] if v["version"] == outcome["version"]), None) if detail else None
            results.append({"outcome": outcome["state"], **(version or {"id": outcome["article_id"]})})
        else:
            failed = failed or outcome["state"] == "failed"
            results.append({"outcome": outcome["state"], **{k: v for k, v in outcome.items() if k != "state"}})
    out.print_json(json.dumps(results[0] if len(results) == 1 else results, ensure_ascii=False, default=str))
    if failed:
        raise typer.Exit(1)


@cli.command()
def extract(
    path: Path = typer.Argument(..., exists=True, dir_okay=False, help="An HTML file"),
    url: Optional[str] = typer.Option(None, help="The URL the page came from"),
) -> None:
    """Run the clean stage's extraction on one file (no queues, no store) and print JSON."""
    from shared.errors import NewswireError
    from services.clean.extract import extract as run_extract

    try:
        part = run_extract(path.read_bytes(), url)
    except NewswireError as exc:
        console.print(f"[red]{exc.reason}[/]")
        raise typer.Exit(1)
    out.print_json(part.model_dump_json())


@cli.command()
def status(as_json: bool = typer.Option(False, "--json", help="Print JSON")) -> None:
    """Queue depths, live workers per stage, recent failures."""
    from sqlalchemy import func, select

    from shared.redis_client import get_redis
    from shared.store import DeadLetter, session_scope
    from shared.workers import live_workers

    report: dict = {"queues": {}, "workers": {}, "recent_failures": [], "dead_letters_open": None}
    try:
        client = get_redis()
        for stage in STAGES:
            report["queues"][stage] = client.llen(stage)
        report["unacked"] = client.hlen("unacked")
        report["workers"] = live_workers()
        report["duplicates_dropped"] = int(client.get("newswire:counter:duplicates") or 0)
    except Exception as exc:  # noqa: BLE001
        report["redis_error"] = str(exc)
    try:
        with session_scope() as session:
            report["dead_letters_open"] = session.execute(
                select(func.count()).select_from(DeadLetter).where(DeadLetter.status == "open")
            ).scalar_one()
            for letter in session.execute(select(DeadLetter).order_by(DeadLetter.id.desc()).limit(10)).scalars():
                report["recent_failures"].append(
                    {"id": letter.id, "stage": letter.stage, "url": letter.url, "error": letter.error,
                     "attempts": letter.attempts, "at": letter.created_at.isoformat()}
                )
    except Exception as exc:  # noqa: BLE001
        report["database_error"] = str(getattr(exc, "orig", None) or exc).splitlines()[0]
    if as_json:
        out.print_json(json.dumps(report, default=str))
        return
    table = Table(title="Stages")
    for column in ("stage", "queued", "workers"):
        table.add_column(column)
    for stage in STAGES:
        workers = report["workers"].get(stage, [])
        table.add_row(stage, str(report["queues"].get(stage, "?")), str(len(workers)) if workers else "[red]0[/]")
    out.print(table)
    for key in ("redis_error", "database_error"):
        if key in report:
            out.print(f"[red]{key.replace('_', ' ')}: {report[key]}[/]")
    out.print(f"open dead letters: {report['dead_letters_open']}; duplicates dropped: {report.get('duplicates_dropped', '?')}")
    if report["recent_failures"]:
        failures = Table(title="Recent failures")
        for column in ("id", "stage", "url", "error", "attempts", "at"):
            failures.add_column(column)
        for failure in report["recent_failures"]:
            failures.add_row(str(failure["id"]), failure["stage"], failure["url"] or "", failure["error"][:80],
                             str(failure["attempts"]), failure["at"][:19])
        out.print(failures)


from newswire.cli_console import token_app  # noqa: E402  (issue 7)

cli.add_typer(token_app, name="token")

# API and operations (issue 6)
from newswire.cli_ops import dlq_app, stages_app  # noqa: E402

cli.add_typer(dlq_app, name="dlq")
cli.add_typer(stages_app, name="stages")

# Ingest (issue 11): this area's commands are registered below this line
from newswire.cli_sources import sources_app  # noqa: E402

cli.add_typer(sources_app, name="sources")
# (end of Ingest)

# Clean (issue 4): this area's commands are registered below this line
# (end of Clean)

# Enrich (issue 10): this area's commands are registered below this line
# (end of Enrich)

# Publish (issue 5): this area's commands are registered below this line
from newswire.cli_publish import register as _register_publish  # noqa: E402

_register_publish(cli)
# (end of Publish)

# Hooks (issue 6): this area's commands are registered below this line
from newswire.cli_hooks import register as _register_hooks  # noqa: E402

_register_hooks(cli)
# (end of Hooks)

# Deploy (issue 9): this area's commands are registered below this line
probe_app = typer.Typer(help="Container health probes (exit 0 = healthy), as Kubernetes runs them.")
cli.add_typer(probe_app, name="probe")


@probe_app.command("worker")
def probe_worker(
    stage: Optional[str] = typer.Argument(None, help=f"One of: {', '.join(STAGES)} (default: any on this host)"),
    liveness: bool = typer.Option(False, "--liveness", help="Pass while Redis is unreachable (not the worker's fault)"),
) -> None:
    """Is this host's worker for STAGE (or any worker of this host, as in a container) consuming? (its heartbeat)"""
    from newswire.probe import worker_heartbeat

    _probe_exit(worker_heartbeat(stage, liveness=liveness))


@probe_app.command("migrations")
def probe_migrations(
    wait: float = typer.Option(0.0, "--wait", help="Keep checking for up to this many seconds"),
) -> None:
    """Is the database at the migrations this code ships? (an init container waits on it)"""
    from newswire.probe import migrations_current

    deadline = time.monotonic() + wait
    result = migrations_current()
    while not result.ok and time.monotonic() < deadline:
        time.sleep(min(2.0, max(0.1, deadline - time.monotonic())))
        result = migrations_current()
    _probe_exit(result)


def _probe_exit(result) -> None:  # noqa: ANN001
    print(("ok: " if result.ok else "failing: ") + result.message, file=sys.stdout if result.ok else sys.stderr)
    raise typer.Exit(0 if result.ok else 1)


# (end of Deploy)

bench_app = typer.Typer(help="Benchmarks that print figures: the whole pipeline by default, or one stage.")
cli.add_typer(bench_app, name="bench")


@bench_app.callback(invoke_without_command=True)
def bench(
    ctx: typer.Context,
    articles: int = typer.Option(200, "--articles", help="Articles per measurement"),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object"),
) -> None:
    """Measure throughput, latency, the framework's ceiling and the work's own bound, in one run."""
    if ctx.invoked_subcommand is not None:
        return
    from newswire.bench import run_bench

    result = run_bench(articles, progress=not as_json)
    if as_json:
        print(json.dumps(result))
    else:
        from newswire.bench import print_report

        print_report(result, out)


from newswire.bench_console import register as _register_console_bench  # noqa: E402  (issue 7)

_register_console_bench(bench_app)
from newswire.bench_ingest import register as _register_ingest_bench  # noqa: E402  (issue 11)

_register_ingest_bench(bench_app)
from newswire.bench_publish import register as _register_publish_bench  # noqa: E402  (issue 5)

_register_publish_bench(bench_app)
from newswire.bench_enrich import register as _register_enrich_bench  # noqa: E402  (issue 10)

_register_enrich_bench(bench_app)
from newswire.bench_soak import register as _register_soak_bench  # noqa: E402  (issue 8)

_register_soak_bench(bench_app)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
