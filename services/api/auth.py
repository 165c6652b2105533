"""No token, no access: one gate in front of every route, with an explicit allow-list; and no secret in an answer.

The gate (an ASGI middleware, so it also covers routes added later, FastAPI's own /openapi.json and /docs, and
paths that do not exist) answers 401 to a request without a valid token (``Authorization: Bearer nw_...``, or
the console's cookie), except on the public paths below. Console pages send a browser to the login page
instead. Which token may *act* is decided where the action is: every action calls ``require_operator`` (403 for a
read-only token, audited), so the audit entry names the action.

Public, and why:

- ``/healthz``, ``/livez``, ``/readyz``: probes (a load balancer or kubelet has no token);
- ``/feeds/...``: the public feeds we publish;
- ``/console/login``, ``/console/logout`` and ``/console/static/...``: signing in and out, the script and style;
- ``POST /hooks/{hook}``: inbound webhooks, verified by their own secrets (Standard Webhooks / X-Hub-Signature);
- ``/websub/{source_id}``: the WebSub hub's callback, verified by the subscription's own HMAC secret;
- ``POST /sources/{id}/push``: checks its own push token (or an operator token) in the handler;
- ``/metrics``: open for Prometheus unless ``NEWSWIRE_METRICS_REQUIRE_TOKEN`` is set.

Every answer goes through ``redacting``: the configured secrets (shared/redact.py) are masked in JSON, HTML and text
answers, and in JSON the values of keys that name a secret too: a safety net behind views that never show secrets.

``/openapi.json`` and ``/docs`` need a token (any role): the spec maps every action of the API, and the rule is
"no token, no access". A browser that logged in to the console carries the cookie, so /docs works there.
"""

from __future__ import annotations

import re
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from shared.settings import get_settings
from shared.telemetry import get_logger

log = get_logger(__name__)

ANY = None  # any method
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# (methods or ANY, path pattern): requests that need no token.
PUBLIC: list[tuple[frozenset[str] | None, re.Pattern[str]]] = [
    (ANY, re.compile(r"/(healthz|livez|readyz)")),
    (frozenset({"GET", "HEAD"}), re.compile(r"/feeds/[^/]+")),
    (ANY, re.compile(r"/console/log(in|out)")),  # logout only drops the cookie: it works with an expired one
    (frozenset({"GET", "HEAD"}), re.compile(r"/console/static/[^/]+")),
    (frozenset({"POST"}), re.compile(r"/hooks/[^/]+")),
    (frozenset({"GET", "POST"}), re.compile(r"/websub/[^/]+")),
    (frozenset({"POST"}), re.compile(r"/sources/[^/]+/push")),
]
METRICS = re.compile(r"/metrics")
# The answers that show a new secret this once, by design (a hook made or rotated): not redacted.
SHOWN_ONCE = re.compile(r"/hooks(/[^/]+/rotate)?")
CONSOLE_PAGE = re.compile(r"/console(/(?!api/)[^?]*)?")


def is_public(method: str, path: str) -> bool:
    for methods, pattern in PUBLIC:
        if (methods is ANY or method in methods) and pattern.fullmatch(path):
            return True
    if method in ("GET", "HEAD") and METRICS.fullmatch(path):
        return not get_settings().metrics_require_token
    return False


def _principal(request: Request) -> Any:
    from services.api.console.access import principal_from_request

    return principal_from_request(request)


class TokenGate:
    """ASGI middleware: every HTTP request off the allow-list needs a valid token."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if not SHOWN_ONCE.fullmatch(scope["path"]) or scope["method"] != "POST":
            send = redacting(send)
        if scope["method"] == "OPTIONS" or is_public(scope["method"], scope["path"]):
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        try:
            principal = await run_in_threadpool(_principal, request)
        except Exception as exc:  # noqa: BLE001  (the store is down: say so, never 500)
            log.warning("token check failed: %s", exc)
            response = JSONResponse({"detail": f"store unavailable: {type(exc).__name__}"}, status_code=503)
            await response(scope, receive, send)
            return
        if principal is None:
            response = self._refusal(request)
            await response(scope, receive, send)
            return
        if scope["method"] in SAFE_METHODS:
            await self.app(scope, receive, send)
            return
        await self._acting(principal, scope, receive, send)

    async def _acting(self, principal: Any, scope: Scope, receive: Receive, send: Send) -> None:
        """An action: every one leaves an audit entry. The handler writes its own (named, with what it did); one
        that wrote none (refused by validation, a 404, a handler without audit) gets one here with the status."""
        from services.api.console.access import _request_audits, audit

        status: dict[str, int] = {}

        async def watching(message: dict) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        written: list[int] = []
        token = _request_audits.set(written)
        try:
            await self.app(scope, receive, watching)
        finally:
            _request_audits.reset(token)
            if not written:
                code = status.get("code", 500)
                result = "ok" if code < 400 else ("denied" if code in (401, 403) else "error")
                route = scope.get("route")
                action = f"{scope['method']} {getattr(route, 'path', None) or scope['path']}"[:64]
                await run_in_threadpool(audit, principal, action, scope["path"][:500], result=result,
                                        message=f"HTTP {code}")

    @staticmethod
    def _refusal(request: Request) -> Any:
        from urllib.parse import quote

        path = request.url.path
        if request.method in ("GET", "HEAD") and CONSOLE_PAGE.fullmatch(path):
            target = path + (f"?{request.url.query}" if request.url.query else "")
            return RedirectResponse(f"/console/login?next={quote(target)}", status_code=303)
        given = request.headers.get("authorization", "")[:7].lower() == "bearer " or bool(
            request.cookies.get("newswire_token"))
        detail = "invalid or revoked token" if given else \
            "an API token is required (Authorization: Bearer ...; newswire token create --role read-only|operator)"
        return JSONResponse({"detail": detail}, status_code=401, headers={"WWW-Authenticate": "Bearer"})


# -- secrets never leave in an answer ------------------------------------------------------------------------
REDACTED_TYPES = (b"application/json", b"text/", b"application/problem+json")
KEYS_NAMING_SECRETS = re.compile(
    rb'"[A-Za-z0-9_-]*(secrets?|password|passwd|token|authorization|api_?key|private_?key|credentials?)"\s*:',
    re.IGNORECASE)


def redact_body(body: bytes, content_type: bytes) -> bytes:
    """Mask the configured secrets in an answer; in JSON, also the values of keys that name a secret."""
    from shared import redact

    if not body or not content_type.startswith(REDACTED_TYPES):
        return body
    if content_type.startswith((b"application/json", b"application/problem+json")) and \
            KEYS_NAMING_SECRETS.search(body):
        import json

        try:
            return json.dumps(redact.redact(json.loads(body)), ensure_ascii=False,
                              separators=(",", ":")).encode("utf-8")
        except ValueError:
            pass
    text = body.decode("utf-8", "surrogateescape")
    masked = redact.redact_text(text)
    return body if masked == text else masked.encode("utf-8", "surrogateescape")


def redacting(send: Send) -> Send:
    """Wrap ``send``: a whole answer (one body message) is redacted and its Content-Length fixed; a streamed one
    is redacted chunk by chunk when it has no Content-Length."""
    state: dict[str, Any] = {"start": None, "type": b"", "length": False}

    async def wrapped(message: dict) -> None:
        kind = message["type"]
        if kind == "http.response.start":
            headers = list(message.get("headers", []))
            state["type"] = next((v.lower() for k, v in headers if k.lower() == b"content-type"), b"")
            state["length"] = any(k.lower() == b"content-length" for k, _ in headers)
            state["start"] = message
            return
        if kind == "http.response.body" and state["start"] is not None:
            start, state["start"] = state["start"], None
            body = message.get("body", b"")
            if not message.get("more_body", False):
                new = redact_body(body, state["type"])
                if new is not body:
                    headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
                    headers.append((b"content-length", str(len(new)).encode()))
                    start = {**start, "headers": headers}
                    message = {**message, "body": new}
                await send(start)
                await send(message)
                return
            await send(start)
        if kind == "http.response.body" and not state["length"] and message.get("body"):
            message = {**message, "body": redact_body(message["body"], state["type"])}
        await send(message)

    return wrapped


def install(app: Any) -> None:
    app.add_middleware(TokenGate)
