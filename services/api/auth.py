"""No token, no access: one gate in front of every route, with an explicit allow-list.

The gate (an ASGI middleware, so it also covers routes added later, FastAPI's own /openapi.json and /docs, and
paths that do not exist) answers 401 to a request without a valid token (``Authorization: Bearer nw_...``, or
the console's cookie), except on the public paths below. Console pages send a browser to the login page
instead. Which token may *act* is decided where the action is: every action calls ``require_operator`` (403 for a
read-only token, audited), so the audit entry names the action.

Public, and why:

- ``/healthz``, ``/livez``, ``/readyz``: probes (a load balancer or kubelet has no token);
- ``/feeds/...``: the public feeds we publish;
- ``/console/login`` and ``/console/static/...``: the login form and its script and style;
- ``POST /hooks/{hook}``: inbound webhooks, verified by their own secrets (Standard Webhooks / X-Hub-Signature);
- ``/websub/{source_id}``: the WebSub hub's callback, verified by the subscription's own HMAC secret;
- ``POST /sources/{id}/push``: checks its own push token (or an operator token) in the handler;
- ``/metrics``: open for Prometheus unless ``NEWSWIRE_METRICS_REQUIRE_TOKEN`` is set.

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
# (methods or ANY, path pattern): requests that need no token.
PUBLIC: list[tuple[frozenset[str] | None, re.Pattern[str]]] = [
    (ANY, re.compile(r"/(healthz|livez|readyz)")),
    (frozenset({"GET", "HEAD"}), re.compile(r"/feeds/[^/]+")),
    (ANY, re.compile(r"/console/login")),
    (frozenset({"GET", "HEAD"}), re.compile(r"/console/static/[^/]+")),
    (frozenset({"POST"}), re.compile(r"/hooks/[^/]+")),
    (frozenset({"GET", "POST"}), re.compile(r"/websub/[^/]+")),
    (frozenset({"POST"}), re.compile(r"/sources/[^/]+/push")),
]
METRICS = re.compile(r"/metrics")
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
        if scope["type"] != "http" or scope["method"] == "OPTIONS" or is_public(scope["method"], scope["path"]):
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
        await self.app(scope, receive, send)

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


def install(app: Any) -> None:
    app.add_middleware(TokenGate)
