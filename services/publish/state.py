"""Target state an operator can see and change: paused, disabled (and why), failing since when."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select

from shared.payload import utcnow
from shared.store import session_scope
from shared.store.models import TargetState


def _row(session: Any, name: str) -> TargetState:
    row = session.get(TargetState, name)
    if row is None:
        row = TargetState(name=name, paused=False, disabled=False, updated_at=utcnow())
        session.add(row)
    return row


def get_state(name: str) -> dict[str, Any]:
    with session_scope() as session:
        row = session.get(TargetState, name)
        return describe(row, name)


def describe(row: TargetState | None, name: str) -> dict[str, Any]:
    if row is None:
        return {"name": name, "paused": False, "disabled": False, "reason": None, "failing_since": None,
                "last_success_at": None}
    return {"name": name, "paused": row.paused, "disabled": row.disabled, "reason": row.reason,
            "failing_since": row.failing_since.isoformat() if row.failing_since else None,
            "last_success_at": row.last_success_at.isoformat() if row.last_success_at else None}


def all_states() -> dict[str, dict[str, Any]]:
    with session_scope() as session:
        return {row.name: describe(row, row.name) for row in session.execute(select(TargetState)).scalars()}


def set_paused(name: str, paused: bool, reason: str | None = None) -> dict[str, Any]:
    with session_scope() as session:
        row = _row(session, name)
        row.paused = paused
        if paused:
            row.reason = reason or "paused by an operator"
        elif not row.disabled:
            row.reason = None
        row.updated_at = utcnow()
        return describe(row, name)


def enable(name: str) -> dict[str, Any]:
    """Resume and re-enable: clears pause, disable and the failing streak."""
    with session_scope() as session:
        row = _row(session, name)
        row.paused = row.disabled = False
        row.reason = row.failing_since = None
        row.updated_at = utcnow()
        return describe(row, name)


def disable(session: Any, name: str, reason: str) -> None:
    row = _row(session, name)
    if not row.disabled:
        row.disabled, row.reason, row.updated_at = True, reason, utcnow()


def record_outcomes(session: Any, name: str, any_success: bool, any_failure: bool,
                    disable_after: float) -> str | None:
    """Track failing_since; returns the reason if the target has failed long enough to be disabled."""
    now = utcnow()
    row = _row(session, name)
    if any_success:
        row.failing_since = None
        row.last_success_at = now
    elif any_failure:
        if row.failing_since is None:
            row.failing_since = now
        elif (now - row.failing_since).total_seconds() >= disable_after:
            since: datetime = row.failing_since
            reason = f"failing since {since.isoformat(timespec='seconds')} (over {disable_after:.0f}s) with no success"
            disable(session, name, reason)
            return reason
    return None
