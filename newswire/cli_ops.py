"""``newswire dlq list|show|replay|discard`` and ``newswire stages list|pause|resume``.

Like the other commands, they act on the store and Redis directly (no API, no token: whoever runs them can read the
configuration). Each action is written to the audit log with the actor ``cli (user@host)``, as the API writes its
own, so ``GET /audit-log`` shows both.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any, Optional

import typer
from rich.console import Console
from rich.table import Table

from shared.settings import STAGES

dlq_app = typer.Typer(help="Dead letters: list, show, replay or discard them (by id or by filter).",
                      no_args_is_help=True)
stages_app = typer.Typer(help="Stages' queues: list them, pause or resume one on every host.", no_args_is_help=True)
out = Console()
err = Console(stderr=True)


def _schema() -> None:
    from shared.store import upgrade_schema

    upgrade_schema()


def _since(value: str | None) -> str | None:
    if not value:
        return None
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        err.print(f"[red]--since must be an ISO 8601 time (2026-11-29T08:00:00Z), not {value!r}[/]")
        raise typer.Exit(2)
    return (when if when.tzinfo else when.replace(tzinfo=timezone.utc)).isoformat()


def _filter(stage: str | None, source: str | None, target: str | None, error: str | None, since: str | None,
            status: str | None, article: str | None = None) -> Any:
    from services.api.console.data import LetterFilter

    if stage and stage not in STAGES:
        err.print(f"[red]--stage must be one of {', '.join(STAGES)}[/]")
        raise typer.Exit(2)
    return LetterFilter(stage=stage, source=source, target=target, error=error, since=_since(since), status=status,
                        article_id=article)


STAGE = typer.Option(None, "--stage", help=f"One of {', '.join(STAGES)}")
SOURCE = typer.Option(None, "--source", help="A source id, or text in the URL")
TARGET = typer.Option(None, "--target", help="The publish target of a failed delivery")
ERROR = typer.Option(None, "--error", help="Text in the error or its type")
SINCE = typer.Option(None, "--since", help="Created at or after (ISO 8601, UTC if no offset)")


@dlq_app.command("list")
def dlq_list(
    stage: Optional[str] = STAGE, source: Optional[str] = SOURCE, target: Optional[str] = TARGET,
    error: Optional[str] = ERROR, since: Optional[str] = SINCE,
    status: str = typer.Option("open", "--status", help="open, replayed, discarded or any"),
    limit: int = typer.Option(50, "--limit", min=1, max=10000),
    as_json: bool = typer.Option(False, "--json", help="Print JSON"),
) -> None:
    """Dead letters, newest first."""
    from services.api.console.data import dead_letters

    _schema()
    found = dead_letters(_filter(stage, source, target, error, since, status), limit=limit)
    if as_json:
        print(json.dumps({"items": found["items"], "matching": found["matching"]}, ensure_ascii=False, default=str))
        return
    table = Table(title=f"Dead letters ({found['matching']} matching)")
    for column in ("id", "stage", "status", "url / target", "error", "attempts", "at"):
        table.add_column(column)
    for item in found["items"]:
        table.add_row(str(item["id"]), item["stage"], item["status"], item["target"] or item["url"] or "",
                      (item["error"] or "")[:80], str(item["attempts"]), item["created_at"][:19])
    out.print(table)


@dlq_app.command("show")
def dlq_show(letter_id: int = typer.Argument(..., help="A dead letter's id")) -> None:
    """One dead letter as JSON: its payload and error."""
    from services.api.console.data import dead_letter

    _schema()
    letter = dead_letter(letter_id)
    if letter is None:
        err.print(f"[red]no dead letter {letter_id}[/]")
        raise typer.Exit(1)
    print(json.dumps(letter, ensure_ascii=False, indent=2, default=str))


def _act(name: str, ids: list[int], stage: str | None, source: str | None, target: str | None, error: str | None,
         since: str | None, as_json: bool) -> None:
    from services.api.console import actions
    from services.api.console.access import audit, cli_actor

    _schema()
    given_filter = any((stage, source, target, error, since))
    if bool(ids) == given_filter:
        err.print("[red]give dead letter ids, or a filter (--stage, --source, --target, --error, --since), "
                  "not both[/]")
        raise typer.Exit(2)
    flt = _filter(stage, source, target, error, since, None) if given_filter else None
    selected = actions.matching_ids(flt) if flt is not None else list(dict.fromkeys(ids))
    subject = ("filter " + str(flt.as_dict())) if flt is not None else \
        "dead letters " + ",".join(map(str, selected[:50])) + ("…" if len(selected) > 50 else "")
    if not selected:
        audit(None, f"dead_letter.{name}", subject, result="error", message="nothing selected",
              actor=cli_actor(), role="cli")
        err.print("no open dead letters match")
        raise typer.Exit(1)
    result = (actions.replay if name == "replay" else actions.discard)(selected)
    outcome = "ok" if not result.failed else ("error" if not result.done else "partial")
    audit(None, f"dead_letter.{name}", subject, result=outcome,
          detail={**result.as_dict(), "filter": flt.as_dict() if flt else None},
          message=f"{len(result.done)} {name}ed, {len(result.failed)} refused", actor=cli_actor(), role="cli")
    if as_json:
        print(json.dumps(result.as_dict()))
    else:
        out.print(f"{len(result.done)} {name}ed" + (f", {len(result.failed)} refused:" if result.failed else ""))
        for letter_id, reason in result.failed.items():
            out.print(f"  {letter_id}: {reason}")
        if result.more:
            out.print("more remain (1000 at a time): run again")
    if result.failed and not result.done:
        raise typer.Exit(1)


IDS = typer.Argument(None, help="Dead letter ids (or use a filter)")


@dlq_app.command("replay")
def dlq_replay(ids: Optional[list[int]] = IDS, stage: Optional[str] = STAGE, source: Optional[str] = SOURCE,
               target: Optional[str] = TARGET, error: Optional[str] = ERROR, since: Optional[str] = SINCE,
               as_json: bool = typer.Option(False, "--json")) -> None:
    """Send dead letters back to their task, with their stored arguments (open ones matching a filter, or by id)."""
    _act("replay", ids or [], stage, source, target, error, since, as_json)


@dlq_app.command("discard")
def dlq_discard(ids: Optional[list[int]] = IDS, stage: Optional[str] = STAGE, source: Optional[str] = SOURCE,
                target: Optional[str] = TARGET, error: Optional[str] = ERROR, since: Optional[str] = SINCE,
                as_json: bool = typer.Option(False, "--json")) -> None:
    """Discard open dead letters (by id, or all matching a filter)."""
    _act("discard", ids or [], stage, source, target, error, since, as_json)


# -- stages ------------------------------------------------------------------------------------------------
@stages_app.command("list")
def stages_list(as_json: bool = typer.Option(False, "--json", help="Print JSON")) -> None:
    """Per stage: paused (by whom, since when), queue length, oldest message, live and consuming workers."""
    from shared import stage_control

    view = stage_control.stages_view()
    if as_json:
        print(json.dumps([view[stage] for stage in STAGES]))
        return
    table = Table(title="Stages")
    for column in ("stage", "state", "queue", "oldest", "workers", "consuming"):
        table.add_column(column)
    for stage in STAGES:
        row = view[stage]
        state = f"[yellow]paused[/] by {row['paused_by']} at {(row['paused_at'] or '')[:19]}" if row["paused"] \
            else "running"
        table.add_row(stage, state, str(row["queue_length"]), f"{row['oldest_age_seconds']:.0f} s",
                      str(len(row["workers"])), str(len(row["consuming"])))
    out.print(table)


def _stage_action(verb: str, stage: str, reason: str | None) -> None:
    from shared import stage_control
    from services.api.console.access import audit, cli_actor

    if stage not in STAGES:
        err.print(f"[red]unknown stage {stage!r}: one of {', '.join(STAGES)}[/]")
        raise typer.Exit(2)
    _schema()
    actor = cli_actor()
    try:
        shown = stage_control.pause(stage, actor, reason) if verb == "pause" else stage_control.resume(stage, actor)
    except Exception as exc:
        audit(None, f"stage.{verb}", stage, result="error", message=str(exc), actor=actor, role="cli")
        err.print(f"[red]{verb} failed: {exc}[/]")
        raise typer.Exit(1)
    audit(None, f"stage.{verb}", stage, result="ok", detail={"reason": reason} if reason else None, actor=actor,
          role="cli")
    out.print(f"{stage}: {'paused' if shown['paused'] else 'running'}; {shown['queue_length']} queued")


@stages_app.command("pause")
def stages_pause(stage: str = typer.Argument(..., help=f"One of {', '.join(STAGES)}"),
                 reason: Optional[str] = typer.Option(None, "--reason", help="Why (shown in /stages)")) -> None:
    """Stop every worker of STAGE taking messages (now and after restarts); messages stay queued."""
    _stage_action("pause", stage, reason)


@stages_app.command("resume")
def stages_resume(stage: str = typer.Argument(..., help=f"One of {', '.join(STAGES)}")) -> None:
    """Let the workers of STAGE take messages again."""
    _stage_action("resume", stage, None)
