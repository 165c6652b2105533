"""``newswire explain``, ``targets list|check|pause|resume``, ``retract``, ``correct``, ``deliveries list|replay``."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

err = Console(stderr=True)
out = Console()
targets_app = typer.Typer(help="Publish targets: list them, check their configuration, pause and resume.",
                          no_args_is_help=True)
deliveries_app = typer.Typer(help="Deliveries: list them, replay failed ones (one by one or by range).",
                             no_args_is_help=True)


def _schema() -> None:
    from shared.store import upgrade_schema

    upgrade_schema()


def _after_change(names: list[str]) -> None:
    """Drain the targets now (needs Redis); without it, the minute sweep picks the rows up."""
    if not names:
        return
    try:
        from services.publish.tasks import after_change

        after_change(names)
    except Exception as exc:  # noqa: BLE001
        err.print(f"[yellow]queued in the store; the workers will pick it up within a minute ({exc})[/]")


def _targets() -> dict:
    from services.publish.targets import configured_targets

    try:
        return configured_targets()
    except Exception as exc:  # noqa: BLE001
        err.print(f"[red]the targets configuration does not load: {exc}[/]")
        raise typer.Exit(2) from exc


def explain_command(
    article: str = typer.Argument(..., help="An article id, or its URL"),
    as_json: bool = typer.Option(False, "--json", help="Print JSON"),
) -> None:
    """Why did this story (not) reach each target: the decision, the rule that made it, what came of it."""
    from shared.payload import article_id_for
    from services.publish.explain import explain

    _schema()
    article_id = article_id_for(article) if article.startswith(("http://", "https://")) else article
    found = explain(article_id)
    if found is None:
        err.print(f"[red]no article {article_id}[/]")
        raise typer.Exit(1)
    if as_json:
        print(json.dumps(found, ensure_ascii=False, indent=2))
        return
    out.print(f"[bold]{found['title'] or ''}[/] {found['url']} ({found['id']})")
    for event in found["events"]:
        out.print(f"  {event['kind']} of version {event['version']} by {event['actor']} at {event['at']}: "
                  f"{event['note'] or ''}")
    for version in found["versions"]:
        table = Table(title=f"version {version['version']} ({version['status']})")
        for column in ("target", "decision", "rule", "reason", "deliveries"):
            table.add_column(column)
        for target in version["targets"]:
            sent = ", ".join(f"{d['event']}: {d['status']} after {d['attempts']} attempt(s)"
                             + (f" ({d['last_error']})" if d["last_error"] and d["status"] != "delivered" else "")
                             for d in target["deliveries"]) or "-"
            table.add_row(target["target"], target["decision"], target["rule"] or "-", target["reason"], sent)
        if not version["targets"]:
            table.add_row("-", "-", "-", "not routed (not published, or published before routing existed)", "-")
        out.print(table)


@targets_app.command("list")
def targets_list(as_json: bool = typer.Option(False, "--json", help="Print JSON")) -> None:
    """Every target: kind, state (paused, disabled and why), breaker, deliveries by status."""
    from services.api.publish import targets_view

    _schema()
    _targets()
    items = targets_view()
    if as_json:
        print(json.dumps({"items": items}, ensure_ascii=False, indent=2))
        return
    table = Table(title="targets")
    for column in ("name", "kind", "state", "breaker", "deliveries", "reason"):
        table.add_column(column)
    for item in items:
        shown = "disabled" if item["disabled"] else "paused" if item["paused"] else "active"
        table.add_row(item["name"], item["kind"] or "(not configured)", shown, item["breaker"] or "-",
                      " ".join(f"{k}={v}" for k, v in sorted(item["deliveries"].items())), item["reason"] or "")
    out.print(table)


@targets_app.command("check")
def targets_check(name: Optional[str] = typer.Argument(None, help="One target; all by default")) -> None:
    """Validate the configuration; for targets that send, check the address may be reached (no request is sent)."""
    import socket
    from urllib.parse import urlsplit

    from shared.http import address_refusal
    from shared.settings import get_settings
    import ipaddress

    targets = _targets()
    chosen = {name: targets[name]} if name else targets
    if name and name not in targets:
        err.print(f"[red]no target {name}[/]")
        raise typer.Exit(1)
    allowed = get_settings().private_networks_allowed()
    failed = False
    for target_name, target in sorted(chosen.items()):
        problem = None
        if target.kind in ("webhook", "wordpress"):
            host = urlsplit(target.url).hostname or ""
            try:
                addresses = {info[4][0] for info in socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)}
                refusals = [r for r in (address_refusal(ipaddress.ip_address(a.split("%")[0]), allowed)
                                        for a in addresses) if r]
                if refusals and len(refusals) == len(addresses):
                    problem = "; ".join(refusals) + " (NEWSWIRE_ALLOW_PRIVATE_NETWORKS)"
            except socket.gaierror as exc:
                problem = f"cannot resolve {host}: {exc.strerror or exc}"
        elif target.kind == "files":
            directory = target.directory
            parent = directory if directory.exists() else directory.parent
            import os

            if not os.access(parent, os.W_OK):
                problem = f"{parent} is not writable"
        failed |= problem is not None
        out.print(f"{target_name} ({target.kind}, {target.url}): " + (f"[red]{problem}[/]" if problem else "ok"))
    raise typer.Exit(1 if failed else 0)


@targets_app.command("pause")
def targets_pause(name: str = typer.Argument(...), reason: Optional[str] = typer.Option(None, "--reason")) -> None:
    """Stop sending to a target; its deliveries wait (nothing is lost)."""
    from services.publish import state

    _schema()
    if name not in _targets():
        err.print(f"[red]no target {name}[/]")
        raise typer.Exit(1)
    print(json.dumps(state.set_paused(name, True, reason or "paused from the command line")))


@targets_app.command("resume")
def targets_resume(name: str = typer.Argument(...)) -> None:
    """Resume a paused target, or re-enable a disabled one (its breaker is reset); what waited is sent."""
    from services.publish import state
    from services.publish.limits import Limits

    _schema()
    if name not in _targets():
        err.print(f"[red]no target {name}[/]")
        raise typer.Exit(1)
    shown = state.enable(name)
    try:
        Limits(name).reset()
    except Exception as exc:  # noqa: BLE001
        err.print(f"[yellow]breaker not reset (Redis: {exc})[/]")
    print(json.dumps(shown))
    _after_change([name])


def _lifecycle(kind: str, article: str, note: Optional[str]) -> None:
    from shared.errors import PermanentError
    from shared.payload import article_id_for
    from services.publish import lifecycle

    _schema()
    article_id = article_id_for(article) if article.startswith(("http://", "https://")) else article
    act = lifecycle.retract if kind == "retract" else lifecycle.correct
    try:
        result = act(article_id, _targets(), note=note, actor="cli")
    except PermanentError as exc:
        err.print(f"[red]{exc}[/]")
        raise typer.Exit(1) from exc
    print(json.dumps(result.to_dict(), ensure_ascii=False))
    _after_change(result.targets)


def retract_command(article: str = typer.Argument(..., help="An article id, or its URL"),
                    note: Optional[str] = typer.Option(None, "--note", help="Why (sent to the targets)")) -> None:
    """Retract a story: cancel what is pending, send a retraction to every target that got any version."""
    _lifecycle("retract", article, note)


def correct_command(article: str = typer.Argument(..., help="An article id, or its URL"),
                    note: Optional[str] = typer.Option(None, "--note", help="What was corrected")) -> None:
    """Send the latest version again, flagged as a correction, to every target that got any version."""
    _lifecycle("correct", article, note)


@deliveries_app.command("list")
def deliveries_list(status: Optional[str] = typer.Option(None, "--status"),
                    target: Optional[str] = typer.Option(None, "--target"),
                    limit: int = typer.Option(50, "--limit")) -> None:
    """Recent deliveries (JSON lines), newest first."""
    from services.api.publish import list_deliveries

    _schema()
    for item in list_deliveries(status=status, target=target, since=None, until=None, limit=limit)["items"]:
        print(json.dumps(item, ensure_ascii=False))


@deliveries_app.command("replay")
def deliveries_replay(
    ids: list[int] = typer.Option([], "--id", help="A delivery id (repeat for several)"),
    target: Optional[str] = typer.Option(None, "--target", help="Every failed delivery of this target"),
    since: Optional[datetime] = typer.Option(None, "--since", help="Created at or after (ISO 8601, UTC)"),
    until: Optional[datetime] = typer.Option(None, "--until", help="Created before (ISO 8601, UTC)"),
) -> None:
    """Send failed deliveries again with a fresh retry schedule: by id, or by range (target, time window)."""
    from datetime import timezone

    from services.publish import replay

    _schema()
    if not ids and not (target or since or until):
        err.print("[red]give --id, or a range (--target, --since, --until)[/]")
        raise typer.Exit(2)
    utc = lambda value: value.replace(tzinfo=timezone.utc) if value and value.tzinfo is None else value  # noqa: E731
    if ids:
        count, names = replay.replay_ids_count(ids)
    else:
        count, names = replay.replay_range(target, utc(since), utc(until))
    print(json.dumps({"replayed": count, "targets": names}))
    _after_change(names)


def register(cli: typer.Typer) -> None:
    cli.command("explain")(explain_command)
    cli.command("retract")(retract_command)
    cli.command("correct")(correct_command)
    cli.add_typer(targets_app, name="targets")
    cli.add_typer(deliveries_app, name="deliveries")
