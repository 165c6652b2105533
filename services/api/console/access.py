"""API tokens with roles, and the audit log.

- A token is ``nw_`` + 43 random URL-safe characters (256 bits). Only its SHA-256 is stored (a fast hash is
  right for a random secret of that length: there is nothing to brute-force), with its first characters to
  recognise it in a list. It is printed once, by ``newswire token create``.
- Roles: ``read-only`` sees everything; ``operator`` may also act. An action by a read-only token is refused
  with 403 and the refusal is audited too.
- Tokens travel in ``Authorization: Bearer <token>``; the console's login form instead keeps the token in an
  HttpOnly, SameSite=Strict cookie. A form or script acting through the cookie must also prove it comes from
  the console: the ``X-Requested-With: newswire-console`` header (scripts) or the ``csrf`` field (forms), a
  value derived from the token that another site cannot know.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from fastapi import HTTPException, Request
from sqlalchemy import select

from shared.payload import utcnow
from shared.store import session_scope
from shared.store.models import ApiToken, AuditLog
from shared.telemetry import get_logger

log = get_logger(__name__)

ROLES = ("read-only", "operator")
COOKIE = "newswire_token"
CSRF_HEADER = "x-requested-with"
CSRF_HEADER_VALUE = "newswire-console"
TOKEN_PREFIX = "nw_"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Principal:
    token_id: int
    name: str
    role: str
    via: str  # bearer or cookie
    token_hash: str

    @property
    def can_act(self) -> bool:
        return self.role == "operator"

    @property
    def actor(self) -> str:
        return f"{self.name} (token {self.token_id})"

    @property
    def csrf(self) -> str:
        return csrf_for(self.token_hash)


def csrf_for(token_hash: str) -> str:
    return hmac.new(token_hash.encode(), b"newswire-console-csrf", hashlib.sha256).hexdigest()[:32]


# -- tokens ------------------------------------------------------------------
def create_token(role: str, name: str | None = None) -> tuple[str, ApiToken]:
    """A new token of ``role``; returns (the token, shown this once; its row)."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with session_scope() as session:
        row = ApiToken(name=(name or f"{role} token").strip()[:128] or role, role=role, token_hash=hash_token(token),
                       prefix=token[:10], created_at=utcnow())
        session.add(row)
        session.flush()
        session.expunge(row)
    return token, row


def list_tokens() -> list[ApiToken]:
    with session_scope() as session:
        rows = list(session.execute(select(ApiToken).order_by(ApiToken.id)).scalars())
        for row in rows:
            session.expunge(row)
        return rows


def revoke_token(token_id_or_prefix: str) -> ApiToken | None:
    """Revoke by id, name or displayed prefix (exactly one must match); returns the row, or None."""
    with session_scope() as session:
        rows = list(session.execute(select(ApiToken).where(ApiToken.revoked_at.is_(None))).scalars())
        matches = [r for r in rows if str(r.id) == token_id_or_prefix or r.name == token_id_or_prefix
                   or (len(token_id_or_prefix) >= 6 and r.prefix.startswith(token_id_or_prefix))]
        if len(matches) != 1:
            if len(matches) > 1:
                raise ValueError(f"{len(matches)} tokens match {token_id_or_prefix!r}: give the id")
            return None
        matches[0].revoked_at = utcnow()
        session.flush()
        session.expunge(matches[0])
        return matches[0]


def principal_for_token(token: str, via: str = "bearer") -> Principal | None:
    if not token or not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    digest = hash_token(token)
    with session_scope() as session:
        row = session.execute(select(ApiToken).where(ApiToken.token_hash == digest)).scalar_one_or_none()
        if row is None or row.revoked_at is not None or not hmac.compare_digest(row.token_hash, digest):
            return None
        now = utcnow()
        if row.last_used_at is None or now - row.last_used_at > timedelta(minutes=1):
            row.last_used_at = now
        return Principal(row.id, row.name, row.role, via, row.token_hash)


def token_from_request(request: Request) -> tuple[str, str] | None:
    header = request.headers.get("authorization", "")
    if header[:7].lower() == "bearer ":
        return header[7:].strip(), "bearer"
    cookie = request.cookies.get(COOKIE)
    if cookie:
        return cookie, "cookie"
    return None


def principal_from_request(request: Request) -> Principal | None:
    found = token_from_request(request)
    if found is None:
        return None
    cached = getattr(request.state, "newswire_principal", None)
    if cached is not None:
        return cached
    principal = principal_for_token(*found)
    request.state.newswire_principal = principal
    return principal


def require_reader(request: Request) -> Principal:
    """Any valid token (401 otherwise)."""
    principal = principal_from_request(request)
    if principal is None:
        detail = "invalid or revoked token" if token_from_request(request) else "an API token is required"
        raise HTTPException(401, detail, headers={"WWW-Authenticate": "Bearer"})
    return principal


def require_operator(request: Request, action: str, subject: str | None = None, csrf: str | None = None) -> Principal:
    """An operator token, with proof of origin when it came in a cookie; a refusal is audited."""
    principal = require_reader(request)
    if not principal.can_act:
        audit(principal, action, subject, result="denied", message="read-only token")
        raise HTTPException(403, "this token is read-only: actions need an operator token")
    if principal.via == "cookie":
        header_ok = request.headers.get(CSRF_HEADER, "") == CSRF_HEADER_VALUE
        field_ok = csrf is not None and hmac.compare_digest(csrf, principal.csrf)
        if not (header_ok or field_ok):
            audit(principal, action, subject, result="denied", message="missing console origin proof (csrf)")
            raise HTTPException(403, "cookie-authenticated actions must come from the console (csrf)")
    return principal


# -- audit -------------------------------------------------------------------
# The entries written while one API request is handled (the token gate sets a list per request): an action that
# wrote none is audited by the gate itself, with its HTTP status as the result (services/api/auth.py).
_request_audits: ContextVar[list[int] | None] = ContextVar("newswire_request_audits", default=None)


def cli_actor() -> str:
    """Who acts from the command line: ``cli (user@host)``."""
    import getpass
    import socket

    try:
        user = getpass.getuser()
    except Exception:  # noqa: BLE001
        user = "unknown"
    return f"cli ({user}@{socket.gethostname()})"


def audit(principal: Principal | None, action: str, subject: str | None, *, result: str,
          detail: dict[str, Any] | None = None, message: str | None = None, actor: str | None = None,
          role: str | None = None) -> int | None:
    """Write one audit entry (never raises: an action's answer must not depend on it, but it is logged).

    ``actor``/``role`` name who acted when there is no token (the CLI: ``cli_actor()``, role "cli")."""
    try:
        from shared.redact import redact, redact_text

        detail = redact(detail) if detail is not None else None
        message = redact_text(message) if message else message
        with session_scope() as session:
            entry = AuditLog(
                at=utcnow(),
                actor=(actor or (principal.actor if principal else "anonymous"))[:160],
                role=role or (principal.role if principal else None),
                action=action,
                subject=subject,
                detail=detail,
                result=result,
                message=(message or "")[:2000] or None,
            )
            session.add(entry)
            session.flush()
            written = _request_audits.get()
            if written is not None:
                written.append(entry.id)
            return entry.id
    except Exception as exc:  # noqa: BLE001
        log.error("audit entry not written (%s %s %s): %s", action, subject, result, exc)
        return None


def audit_entries(limit: int = 100, before_id: int | None = None, action: str | None = None) -> list[dict[str, Any]]:
    with session_scope() as session:
        query = select(AuditLog).order_by(AuditLog.id.desc()).limit(limit)
        if before_id:
            query = query.where(AuditLog.id < before_id)
        if action:
            query = query.where(AuditLog.action == action)
        return [
            {"id": e.id, "at": e.at.isoformat(), "actor": e.actor, "role": e.role, "action": e.action,
             "subject": e.subject, "detail": e.detail, "result": e.result, "message": e.message}
            for e in session.execute(query).scalars()
        ]
