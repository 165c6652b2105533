"""``newswire hooks add|list|show|rotate|remove|calls``, ``newswire jobs list|show|sweep``, ``newswire republish``."""

from __future__ import annotations

import json
from typing import Optional

import typer
from rich.console import Console

err = Console(stderr=True)
hooks_app = typer.Typer(help="Inbound webhooks: add (prints its secret once), list, show, rotate, remove, calls.",
                        no_args_is_help=True)
jobs_app = typer.Typer(help="Jobs accepted from hooks: list, show, sweep (queue again what was not queued).",
                       no_args_is_help=True)


def _schema() -> None:
    from shared.store import upgrade_schema

    upgrade_schema()


def _print(value: object) -> None:
    print(json.dumps(value, ensure_ascii=False, indent=2))


@hooks_app.command("add")
def hooks_add(
    name: str = typer.Argument(..., help="The hook's name: it is called at POST /hooks/NAME"),
    actions: list[str] = typer.Option(..., "--action", help="reingest, ingest, republish or retract (repeat)"),
    scheme: str = typer.Option("standard", "--scheme", help="standard (Standard Webhooks) or github"),
    targets: list[str] = typer.Option([], "--target", help="republish may reach only these targets (repeat)"),
    max_body_bytes: Optional[int] = typer.Option(None, "--max-body-bytes"),
    description: Optional[str] = typer.Option(None, "--description"),
) -> None:
    """Create a hook and print its secret, this once (give it to the caller; it is never shown again)."""
    from services.hooks import config

    _schema()
    try:
        created = config.add_hook(name, actions, scheme=scheme, targets=targets or None,
                                  max_body_bytes=max_body_bytes, description=description, actor="cli")
    except config.HookConfigError as exc:
        err.print(f"[red]{exc}[/]")
        raise typer.Exit(2 if exc.status == 422 else 1) from exc
    err.print(f"hook {name} created: POST /hooks/{name}; its secret (shown once, keep it safe):")
    print(created.secret)


@hooks_app.command("list")
def hooks_list() -> None:
    """Every hook (JSON lines); secrets show as fingerprints."""
    from services.hooks import config

    _schema()
    for hook in config.list_hooks():
        print(json.dumps(hook, ensure_ascii=False))


@hooks_app.command("show")
def hooks_show(name: str = typer.Argument(...)) -> None:
    from services.hooks import config

    _schema()
    found = config.get_hook(name)
    if found is None:
        err.print(f"[red]no hook {name}[/]")
        raise typer.Exit(1)
    _print(found)


@hooks_app.command("rotate")
def hooks_rotate(
    name: str = typer.Argument(...),
    grace: float = typer.Option(24 * 3600, "--grace", help="seconds the current secrets keep verifying (0: now)"),
) -> None:
    """Add a new secret and print it once; the old ones stay valid for --grace seconds."""
    from services.hooks import config

    _schema()
    try:
        created = config.rotate(name, grace)
    except config.HookConfigError as exc:
        err.print(f"[red]{exc}[/]")
        raise typer.Exit(1) from exc
    err.print(f"hook {name}: new secret (shown once); the previous ones verify for {grace:g} s more:")
    print(created.secret)


@hooks_app.command("remove")
def hooks_remove(name: str = typer.Argument(...)) -> None:
    from services.hooks import config

    _schema()
    if not config.remove(name):
        err.print(f"[red]no hook {name}[/]")
        raise typer.Exit(1)
    err.print(f"hook {name} removed (its calls stay in the log)")


@hooks_app.command("calls")
def hooks_calls(name: Optional[str] = typer.Argument(None, help="One hook (default: all)"),
                verdict: Optional[str] = typer.Option(None, "--verdict", help="accepted, duplicate, refused"),
                limit: int = typer.Option(50, "--limit")) -> None:
    """Recent inbound calls (JSON lines), newest first."""
    from services.hooks import intake

    _schema()
    for call in intake.calls(hook=name, verdict=verdict, limit=limit)["items"]:
        print(json.dumps(call, ensure_ascii=False))


@jobs_app.command("list")
def jobs_list(status: Optional[str] = typer.Option(None, "--status"),
              kind: Optional[str] = typer.Option(None, "--kind"),
              hook: Optional[str] = typer.Option(None, "--hook"),
              limit: int = typer.Option(50, "--limit")) -> None:
    """Recent jobs (JSON lines), newest first."""
    from services.hooks import jobs

    _schema()
    for job in jobs.listing(status=status, kind=kind, hook=hook, limit=limit)["items"]:
        print(json.dumps(job, ensure_ascii=False))


@jobs_app.command("show")
def jobs_show(job_id: str = typer.Argument(...)) -> None:
    from services.hooks import jobs

    _schema()
    found = jobs.get(job_id)
    if found is None:
        err.print(f"[red]no job {job_id}[/]")
        raise typer.Exit(1)
    _print(found)


@jobs_app.command("sweep")
def jobs_sweep() -> None:
    """Queue again the jobs that are pending, lost, or held by a dead worker (what the scheduler does each minute)."""
    from services.hooks import jobs

    _schema()
    print(json.dumps({"queued": jobs.sweep()}))


def _audit(article_id: str, result: str, *, detail: dict | None = None, message: str | None = None) -> None:
    """The audit log, as the API writes it; the actor is the command line of this host."""
    from shared.payload import utcnow
    from shared.store import session_scope
    from shared.store.models import AuditLog

    with session_scope() as session:
        session.add(AuditLog(at=utcnow(), actor="cli", role="operator", action="article.republish",
                             subject=article_id, detail=detail, result=result, message=message))


def republish_command(
    article: str = typer.Argument(..., help="An article id, or its URL"),
    targets: list[str] = typer.Option([], "--target", help="Only this target (repeat); default: all that take it"),
    version: Optional[int] = typer.Option(None, "--version", help="Default: the latest published version"),
    reason: Optional[str] = typer.Option(None, "--reason", help="Why (audited)"),
    key: Optional[str] = typer.Option(None, "--key", help="An idempotency key: the same key republishes once"),
) -> None:
    """Send an article version again: exactly one new delivery per chosen target."""
    from shared.payload import article_id_for
    from services.publish.republish import RepublishError, republish

    _schema()
    article_id = article_id_for(article) if article.startswith(("http://", "https://")) else article
    try:
        result = republish(article_id, version, targets or None, actor="cli", reason=reason,
                           key=f"cli:{key}" if key else None)
    except RepublishError as exc:
        _audit(article_id, "error", message=str(exc))
        err.print(f"[red]{exc}[/]")
        raise typer.Exit(1) from exc
    _audit(article_id, "ok", detail=result.to_dict())
    print(json.dumps(result.to_dict(), ensure_ascii=False))
    if result.targets and not result.duplicate:
        try:
            from services.publish.tasks import after_change

            after_change(result.targets)
        except Exception as exc:  # noqa: BLE001
            err.print(f"[yellow]stored; the workers will pick it up within a minute ({exc})[/]")


def register(cli: typer.Typer) -> None:
    cli.add_typer(hooks_app, name="hooks")
    cli.add_typer(jobs_app, name="jobs")
    cli.command("republish")(republish_command)
