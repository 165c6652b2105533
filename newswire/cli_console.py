"""``newswire token create|list|revoke``: API tokens for the console and the API (stored hashed)."""

from __future__ import annotations

import json
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

token_app = typer.Typer(help="API tokens: read-only (look) or operator (act). Shown once, stored hashed.",
                        no_args_is_help=True)
err = Console(stderr=True)
out = Console()


def _schema() -> None:
    from shared.store import upgrade_schema

    upgrade_schema()


@token_app.command("create")
def create(
    role: str = typer.Option(..., "--role", help="read-only or operator"),
    name: Optional[str] = typer.Option(None, "--name", help="Who or what uses it (shown in the audit log)"),
) -> None:
    """Create a token and print it once (only its hash is kept)."""
    from services.api.console.access import ROLES, create_token

    if role not in ROLES:
        err.print(f"[red]--role must be one of: {', '.join(ROLES)}[/]")
        raise typer.Exit(2)
    _schema()
    token, row = create_token(role, name)
    err.print(f"created {row.role} token {row.id} ({row.name}); it is shown this once, keep it:")
    print(token)


@token_app.command("list")
def list_(as_json: bool = typer.Option(False, "--json", help="Print JSON")) -> None:
    """Every token: id, name, role, prefix, created, last used, revoked (never the token)."""
    from services.api.console.access import list_tokens

    _schema()
    rows = [
        {"id": r.id, "name": r.name, "role": r.role, "prefix": r.prefix, "created_at": r.created_at.isoformat(),
         "last_used_at": r.last_used_at.isoformat() if r.last_used_at else None,
         "revoked_at": r.revoked_at.isoformat() if r.revoked_at else None}
        for r in list_tokens()
    ]
    if as_json:
        print(json.dumps(rows))
        return
    table = Table(title="API tokens")
    for column in ("id", "name", "role", "prefix", "created", "last used", "revoked"):
        table.add_column(column)
    for r in rows:
        table.add_row(str(r["id"]), r["name"], r["role"], r["prefix"] + "…", r["created_at"][:19],
                      (r["last_used_at"] or "never")[:19], (r["revoked_at"] or "")[:19])
    out.print(table)


@token_app.command("revoke")
def revoke(token: str = typer.Argument(..., help="The token's id, name or prefix")) -> None:
    """Revoke a token: it stops working at once."""
    from services.api.console.access import revoke_token

    _schema()
    try:
        row = revoke_token(token)
    except ValueError as exc:
        err.print(f"[red]{exc}[/]")
        raise typer.Exit(2)
    if row is None:
        err.print(f"[red]no active token matches {token!r}[/]")
        raise typer.Exit(1)
    err.print(f"revoked token {row.id} ({row.name}, {row.role})")
