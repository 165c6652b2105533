"""``newswire sources add|list|show|fetch|pause|resume|remove|import|export``: the source list from the shell.

The commands work on the store and Redis directly (no API needed); ``fetch`` hands the poll to the
ingest workers, and with ``--wait`` returns when the source's new items have gone through.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import List, Optional

import typer
from rich.console import Console
from rich.table import Table

sources_app = typer.Typer(help="Sources: feeds, sitemaps, index pages, pages, wire files, folders, push.",
                          no_args_is_help=True)
console = Console(stderr=True)
out = Console()


@sources_app.callback()
def _ready() -> None:
    """The store at the newest schema before any command (cheap when it already is)."""
    from shared.store import upgrade_schema

    upgrade_schema()


def _fail(exc: Exception, code: int = 1) -> None:
    console.print(f"[red]{getattr(exc, 'reason', None) or exc}[/]")
    raise typer.Exit(code)


def _options(pairs: list[str]) -> dict:
    options: dict = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep:
            raise typer.BadParameter(f"--option wants name=value, not {pair!r}")
        lowered = value.strip().lower()
        options[name.strip()] = (True if lowered == "true" else False if lowered == "false"
                                 else float(value) if _number(value) and "." in value
                                 else int(value) if _number(value) else value)
    return options


def _number(value: str) -> bool:
    try:
        float(value)
    except ValueError:
        return False
    return True


def _print(data: object) -> None:
    out.print_json(json.dumps(data, ensure_ascii=False, default=str))


@sources_app.command("add")
def add(
    url: str = typer.Argument(..., help="Feed, sitemap, index page or page URL; or a local file or folder"),
    kind: Optional[str] = typer.Option(None, help="feed, sitemap, index, page, wire, file, dir, push (guessed if unset)"),
    name: Optional[str] = typer.Option(None, help="A display name"),
    interval: Optional[int] = typer.Option(None, help="Seconds between polls (adapted to the source's cadence)"),
    option: List[str] = typer.Option([], "--option", "-o", help="Per-source setting name=value (repeatable), "
                                     "e.g. full_text=always, selector='h2 a', host_rate=0.5"),
    as_json: bool = typer.Option(False, "--json", help="Print the source as JSON instead of its id"),
) -> None:
    """Add a source; print its id."""
    from services.ingest import sources

    try:
        source = sources.add(url, kind=kind, name=name, interval=interval, options=_options(option))
    except sources.SourceError as exc:
        _fail(exc, 2 if exc.status != 409 else 1)
    if as_json:
        _print(source)
    else:
        print(source["id"])


@sources_app.command("list")
def list_(
    status: Optional[str] = typer.Option(None, help="active, paused or suspended"),
    kind: Optional[str] = typer.Option(None),
    q: Optional[str] = typer.Option(None, help="Text in the URL, name or title"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """List sources with their health."""
    from services.ingest import sources

    result = sources.list_sources(status=status, kind=kind, q=q, limit=100_000)
    if as_json:
        _print(result)
        return
    table = Table(title=f"{result['total']} source(s)")
    for column in ("id", "kind", "health", "name / url", "last fetch", "new", "errors", "next poll"):
        table.add_column(column)
    for row in result["items"]:
        table.add_row(str(row["id"]), row["kind"], row["health"], (row["name"] or row["title"] or row["url"])[:60],
                      (row["last_fetch"] or "-")[:19], str(row["items_new"]), str(row["error_streak"]),
                      (row["next_poll"] or "-")[:19])
    out.print(table)


@sources_app.command("show")
def show(source_id: int = typer.Argument(...), as_json: bool = typer.Option(False, "--json")) -> None:
    """A source's settings and health: last fetch, status, items new/updated/unchanged, bytes, error streak, next poll."""
    from services.ingest import sources

    try:
        source = sources.show(source_id)
    except sources.SourceError as exc:
        _fail(exc)
    if as_json:
        _print(source)
        return
    table = Table(show_header=False, title=f"source {source_id}")
    for key, value in source.items():
        table.add_row(key, json.dumps(value, ensure_ascii=False, default=str) if isinstance(value, (dict, list)) else str(value))
    out.print(table)


@sources_app.command("fetch")
def fetch(
    source_id: int = typer.Argument(...),
    wait: bool = typer.Option(False, "--wait", help="Return when the new entries have been ingested"),
    timeout: float = typer.Option(300.0, help="How long --wait waits, in seconds"),
) -> None:
    """Poll a source now (by the ingest workers)."""
    from shared.celery_app import app as celery
    from shared.payload import IngestRequest
    from services.ingest import sources

    try:
        sources.get_view(source_id)
    except sources.SourceError as exc:
        _fail(exc)
    request = IngestRequest(source_id=source_id, source_poll=True)
    try:
        celery.send_task("ingest.fetch", args=[request.to_message()], queue="ingest")
    except Exception as exc:  # noqa: BLE001
        console.print(f"[red]cannot reach the queue: {exc}[/]\nIs `newswire up` running (or REDIS_URL set)?")
        raise typer.Exit(3)
    console.print(f"polling source {source_id} (fetch id {request.fetch_id})")
    if not wait:
        return
    report = wait_for_poll(request.fetch_id, timeout)
    _print(report)
    if report.get("poll") == "failed" or report.get("timed_out"):
        raise typer.Exit(1)


def wait_for_poll(fetch_id: str, timeout: float) -> dict:
    """Wait for the poll, then for each item it handed on; summarise."""
    from newswire.cli import _wait_for
    from shared.jobs import get_fetch_state
    import time

    deadline = time.monotonic() + timeout
    state = None
    while time.monotonic() < deadline:
        state = get_fetch_state(fetch_id)
        if state is not None:
            break
        time.sleep(0.2)
    if state is None:
        return {"fetch_id": fetch_id, "timed_out": True, "error": f"the poll did not report within {timeout:.0f}s"}
    report = {"fetch_id": fetch_id, **{k: state.get(k) for k in ("source_id", "poll", "new", "updated", "unchanged",
                                                                    "error", "title")}}
    report["notes"] = state.get("skipped", [])
    try:
        outcomes = _wait_for(fetch_id, max(1.0, deadline - time.monotonic())) if state.get("children") else []
    except TimeoutError as exc:
        report.update(timed_out=True, error=str(exc))
        return report
    counts: dict[str, int] = {}
    for outcome in outcomes:
        counts[outcome.get("state", "?")] = counts.get(outcome.get("state", "?"), 0) + 1
    report["items"] = counts
    report["failures"] = [{k: v for k, v in o.items() if k in ("fetch_id", "stage", "error", "dead_letter")}
                          for o in outcomes if o.get("state") == "failed"][:50]
    return report


def _simple(action: str):  # noqa: ANN202
    def command(source_id: int = typer.Argument(...), as_json: bool = typer.Option(False, "--json")) -> None:
        from services.ingest import sources

        try:
            result = getattr(sources, action)(source_id)
        except sources.SourceError as exc:
            _fail(exc)
        if as_json:
            _print(result)
        else:
            out.print(f"source {source_id}: {'removed' if action == 'remove' else result['status']}")
    command.__doc__ = {"pause": "Stop polling a source (kept, with its history).",
                       "resume": "Poll a paused or suspended source again, now.",
                       "remove": "Delete a source and its item records (articles stay)."}[action]
    return command


for _action in ("pause", "resume", "remove"):
    sources_app.command(_action)(_simple(_action))


@sources_app.command("import")
def import_(path: Path = typer.Argument(..., help="An OPML file ('-' for standard input)")) -> None:
    """Add every source of an OPML file (folders flattened); existing URLs are left alone."""
    from shared.errors import PermanentError
    from services.ingest.opml import import_opml

    body = sys.stdin.buffer.read() if str(path) == "-" else path.read_bytes()
    try:
        result = import_opml(body)
    except PermanentError as exc:
        _fail(exc, 2)
    _print(result)


@sources_app.command("export")
def export(output: Optional[Path] = typer.Option(None, "--output", "-o", help="Write here instead of stdout")) -> None:
    """Write the source list as OPML 2.0 (kind, interval and options kept as newswire:* attributes)."""
    from services.ingest import sources
    from services.ingest.opml import export_opml

    text = export_opml(sources.list_sources(limit=1_000_000)["items"])
    if output:
        output.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
