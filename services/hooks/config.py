"""Hooks and their secrets: add (a secret generated and shown once), list and show (secrets hidden: only
fingerprints), rotate (a new secret; the old ones keep verifying for a grace period), remove."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets as random_secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from shared.payload import utcnow
from shared.store import session_scope
from shared.store.models import Hook, HookSecret

ACTIONS = ("reingest", "ingest", "republish", "retract")
SCHEMES = ("standard", "github")
NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
DEFAULT_GRACE = 24 * 3600  # seconds an old secret keeps verifying after a rotation


class HookConfigError(ValueError):
    """A hook cannot be created or changed as asked; ``status`` is the HTTP status to answer with."""

    def __init__(self, reason: str, status: int = 422) -> None:
        super().__init__(reason)
        self.status = status


def fingerprint(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()[:12]


def new_secret(scheme: str) -> str:
    """Standard Webhooks: ``whsec_`` + base64 of 32 random bytes; GitHub style: 64 hex characters."""
    if scheme == "github":
        return random_secrets.token_hex(32)
    return "whsec_" + base64.b64encode(random_secrets.token_bytes(32)).decode()


def _check(name: str, scheme: str, actions: list[str], targets: list[str] | None,
           max_body_bytes: int | None) -> None:
    if not NAME.match(name or ""):
        raise HookConfigError("hook names are lower-case letters, digits, '-' and '_' (at most 64)")
    if scheme not in SCHEMES:
        raise HookConfigError(f"scheme must be one of {', '.join(SCHEMES)}")
    if not actions:
        raise HookConfigError(f"a hook needs at least one action: {', '.join(ACTIONS)}")
    wrong = [a for a in actions if a not in ACTIONS]
    if wrong:
        raise HookConfigError(f"unknown action {', '.join(wrong)}: one of {', '.join(ACTIONS)}")
    if targets is not None and (not targets or any(not t or len(t) > 128 for t in targets)):
        raise HookConfigError("targets, when given, is a list of target names")
    if max_body_bytes is not None and not 1 <= max_body_bytes <= 64 * 1024 * 1024:
        raise HookConfigError("max_body_bytes is between 1 and 64 MiB")


def describe(hook: Hook, now: Any = None) -> dict[str, Any]:
    """What an API answer or a list shows of a hook: never a secret, only fingerprints and dates."""
    now = now or utcnow()
    return {
        "name": hook.name,
        "scheme": hook.scheme,
        "actions": list(hook.actions),
        "targets": list(hook.targets) if hook.targets is not None else None,
        "max_body_bytes": hook.max_body_bytes,
        "description": hook.description,
        "created_by": hook.created_by,
        "created_at": hook.created_at.isoformat(),
        "updated_at": hook.updated_at.isoformat(),
        "url_path": f"/hooks/{hook.name}",
        "signing_keys": [  # fingerprints and dates only; never the secret
            {"fingerprint": s.fingerprint, "created_at": s.created_at.isoformat(),
             "expires_at": s.expires_at.isoformat() if s.expires_at else None,
             "active": s.expires_at is None or s.expires_at > now,
             "last_used_at": s.last_used_at.isoformat() if s.last_used_at else None}
            for s in hook.secrets
        ],
    }


@dataclass
class Created:
    hook: dict[str, Any]
    secret: str  # shown this once


def add_hook(name: str, actions: list[str], *, scheme: str = "standard", targets: list[str] | None = None,
             max_body_bytes: int | None = None, description: str | None = None,
             actor: str | None = None) -> Created:
    actions = list(dict.fromkeys(actions))
    _check(name, scheme, actions, targets, max_body_bytes)
    secret = new_secret(scheme)
    now = utcnow()
    with session_scope() as session:
        if session.execute(select(Hook.id).where(Hook.name == name)).first() is not None:
            raise HookConfigError(f"a hook named {name} exists already", 409)
        hook = Hook(name=name, scheme=scheme, actions=actions, targets=targets, max_body_bytes=max_body_bytes,
                    description=(description or "")[:2000] or None, created_by=(actor or "")[:160] or None,
                    created_at=now, updated_at=now)
        hook.secrets.append(HookSecret(secret=secret, fingerprint=fingerprint(secret), created_at=now))
        session.add(hook)
        session.flush()
        return Created(describe(hook, now), secret)


def get_hook(name: str) -> dict[str, Any] | None:
    with session_scope() as session:
        hook = session.execute(select(Hook).where(Hook.name == name)).scalar_one_or_none()
        return describe(hook) if hook is not None else None


def list_hooks() -> list[dict[str, Any]]:
    with session_scope() as session:
        now = utcnow()
        return [describe(h, now) for h in session.execute(select(Hook).order_by(Hook.name)).scalars()]


def rotate(name: str, grace_seconds: float = DEFAULT_GRACE) -> Created:
    """A new secret; the secrets active now keep verifying for ``grace_seconds`` more (0: retired at once)."""
    if grace_seconds < 0 or grace_seconds > 90 * 86400:
        raise HookConfigError("grace is between 0 seconds and 90 days")
    now = utcnow()
    with session_scope() as session:
        hook = session.execute(select(Hook).where(Hook.name == name)).scalar_one_or_none()
        if hook is None:
            raise HookConfigError(f"no hook {name}", 404)
        until = now + timedelta(seconds=grace_seconds)
        for old in hook.secrets:
            if old.expires_at is None or old.expires_at > until:
                old.expires_at = until
        secret = new_secret(hook.scheme)
        hook.secrets.append(HookSecret(secret=secret, fingerprint=fingerprint(secret), created_at=now))
        hook.updated_at = now
        # Secrets retired more than a week ago are forgotten.
        for old in list(hook.secrets):
            if old.expires_at is not None and old.expires_at < now - timedelta(days=7):
                hook.secrets.remove(old)
        session.flush()
        return Created(describe(hook, now), secret)


def remove(name: str) -> bool:
    with session_scope() as session:
        hook = session.execute(select(Hook).where(Hook.name == name)).scalar_one_or_none()
        if hook is None:
            return False
        session.delete(hook)
        return True


@dataclass(frozen=True)
class Verifier:
    """What intake needs of a hook: its scheme, its active secrets (fingerprint, secret), what it may do."""

    id: int
    name: str
    scheme: str
    actions: tuple[str, ...]
    targets: tuple[str, ...] | None
    max_body_bytes: int | None
    secrets: tuple[tuple[str, str], ...]

    def __repr__(self) -> str:  # never print the secrets
        return f"Verifier({self.name!r}, {self.scheme}, {len(self.secrets)} secrets)"


def verifier(name: str) -> Verifier | None:
    now = utcnow()
    with session_scope() as session:
        hook = session.execute(select(Hook).where(Hook.name == name)).scalar_one_or_none()
        if hook is None:
            return None
        active = tuple((s.fingerprint, s.secret) for s in hook.secrets if s.expires_at is None or s.expires_at > now)
        return Verifier(hook.id, hook.name, hook.scheme, tuple(hook.actions),
                        tuple(hook.targets) if hook.targets is not None else None, hook.max_body_bytes, active)


def mark_used(hook_id: int, secret_fingerprint: str) -> None:
    with session_scope() as session:
        for row in session.execute(select(HookSecret).where(HookSecret.hook_id == hook_id,
                                                            HookSecret.fingerprint == secret_fingerprint)).scalars():
            row.last_used_at = utcnow()
