"""Inbound webhooks, their jobs and calls, and republication (issue 6). Thin: the logic is in services/hooks and
services/publish/republish.py.

- POST /hooks/{hook}: no token; the hook's own secrets sign the call (Standard Webhooks, or GitHub style).
- GET /hooks, /hooks/{hook}, /hooks/{hook}/calls, /hook-calls, /jobs, /jobs/{id}: any API token; no secret is
  ever shown (fingerprints only).
- POST /hooks, POST /hooks/{hook}/rotate, DELETE /hooks/{hook}, POST /articles/{id}/republish: an operator
  token, audited. Creating or rotating answers the new secret, that once.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from services.api.bodies import read_capped
from services.api.console.access import audit, require_operator, require_reader
from services.hooks import config, intake, jobs
from services.hooks.actions import NoNul

router = APIRouter(tags=["hooks"])

_HOOK_BODY_DOC = {
    "requestBody": {"required": True, "content": {"application/json": {"schema": {
        "type": "object",
        "description": "Signed per Standard Webhooks (webhook-id, webhook-timestamp, webhook-signature) or, for "
                       "GitHub-style hooks, X-Hub-Signature-256 with X-GitHub-Delivery.",
        "properties": {
            "action": {"type": "string", "enum": ["reingest", "ingest", "republish", "retract"]},
            "url": {"type": "string"}, "article_id": {"type": "string"}, "version": {"type": "integer"},
            "targets": {"type": "array", "items": {"type": "string"}}, "note": {"type": "string"},
            "reason": {"type": "string"}, "body": {"type": "string"}, "content_type": {"type": "string"},
            "source_id": {"type": "integer"},
        },
    }}}},
}


@router.post("/hooks/{hook}", status_code=202, openapi_extra=_HOOK_BODY_DOC,
             responses={200: {"description": "A webhook-id seen before: not acted on again"},
                        400: {"description": "Malformed headers or body"}, 401: {"description": "Bad signature"},
                        403: {"description": "Action not allowed"}, 404: {"description": "No such hook"},
                        409: {"description": "webhook-id reused with another body"},
                        413: {"description": "Body too large"}, 422: {"description": "Invalid request"}})
async def receive_hook(hook: str, request: Request) -> JSONResponse:
    """An inbound webhook: verified, stored, then queued. 202 with the job id; GET /jobs/{id} tells its state."""
    limit = await run_in_threadpool(intake.limit_for, hook)
    body, size = await read_capped(request, limit)
    call = intake.Call(hook=hook, headers={k.lower(): v for k, v in request.headers.items()}, body=body, size=size,
                       remote_addr=request.client.host if request.client else None)
    answer = await run_in_threadpool(intake.receive, call)
    return JSONResponse(status_code=answer.status, content=answer.body, headers=answer.headers)


# -- hooks (configuration) ----------------------------------------------------------------------------------
class HookBody(NoNul):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(max_length=64)
    actions: list[Literal["reingest", "ingest", "republish", "retract"]] = Field(min_length=1)
    scheme: Literal["standard", "github"] = "standard"
    targets: list[str] | None = Field(None, max_length=100, description="republish may reach only these")
    max_body_bytes: int | None = Field(None, ge=1, le=64 * 1024 * 1024)
    description: str | None = Field(None, max_length=2000)


class RotateBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    grace_seconds: float = Field(config.DEFAULT_GRACE, ge=0, le=90 * 86400,
                                 description="how long the current secrets keep verifying")


@router.get("/hooks")
def list_hooks(request: Request) -> dict[str, Any]:
    require_reader(request)
    return {"items": config.list_hooks()}


@router.post("/hooks", status_code=201)
def add_hook(request: Request, body: HookBody) -> dict[str, Any]:
    """Create a hook; the answer holds its secret, shown this once."""
    principal = require_operator(request, "hook.add", body.name)
    try:
        created = config.add_hook(body.name, list(body.actions), scheme=body.scheme, targets=body.targets,
                                  max_body_bytes=body.max_body_bytes, description=body.description,
                                  actor=principal.actor)
    except config.HookConfigError as exc:
        audit(principal, "hook.add", body.name, result="error", message=str(exc))
        raise HTTPException(exc.status, str(exc)) from exc
    audit(principal, "hook.add", body.name, result="ok",
          detail={"actions": list(body.actions), "scheme": body.scheme, "targets": body.targets,
                  "secret_fingerprint": created.hook["signing_keys"][0]["fingerprint"]})
    return {**created.hook, "signing_key": created.secret}  # shown this once


@router.get("/hooks/{hook}")
def show_hook(request: Request, hook: str) -> dict[str, Any]:
    require_reader(request)
    found = config.get_hook(hook)
    if found is None:
        raise HTTPException(404, f"no hook {hook}")
    return found


@router.post("/hooks/{hook}/rotate")
def rotate_hook(request: Request, hook: str, body: RotateBody | None = None) -> dict[str, Any]:
    """A new secret (answered this once); the current ones keep verifying for ``grace_seconds``."""
    principal = require_operator(request, "hook.rotate", hook)
    grace = body.grace_seconds if body else config.DEFAULT_GRACE
    try:
        created = config.rotate(hook, grace)
    except config.HookConfigError as exc:
        audit(principal, "hook.rotate", hook, result="error", message=str(exc))
        raise HTTPException(exc.status, str(exc)) from exc
    audit(principal, "hook.rotate", hook, result="ok",
          detail={"grace_seconds": grace, "secret_fingerprint": created.hook["signing_keys"][-1]["fingerprint"]})
    return {**created.hook, "signing_key": created.secret}  # shown this once


@router.delete("/hooks/{hook}")
def remove_hook(request: Request, hook: str) -> dict[str, Any]:
    principal = require_operator(request, "hook.remove", hook)
    if not config.remove(hook):
        audit(principal, "hook.remove", hook, result="error", message="no such hook")
        raise HTTPException(404, f"no hook {hook}")
    audit(principal, "hook.remove", hook, result="ok")
    return {"name": hook, "removed": True}


# -- calls and jobs -------------------------------------------------------------------------------------------
def _before(cursor: str | None) -> int | None:
    if cursor is None:
        return None
    if not cursor.isdigit() or len(cursor) > 18:
        raise HTTPException(400, "invalid cursor")
    return int(cursor)


@router.get("/hooks/{hook}/calls")
def hook_calls(request: Request, hook: str, verdict: str | None = None, limit: int = Query(50, ge=1, le=500),
               cursor: str | None = None) -> dict[str, Any]:
    """Every inbound call of this hook, newest first: verdict, reason, what it triggered, its job."""
    require_reader(request)
    return intake.calls(hook=hook, verdict=verdict, limit=limit, before=_before(cursor))


@router.get("/hook-calls")
def all_hook_calls(request: Request, hook: str | None = None, verdict: str | None = None,
                   limit: int = Query(50, ge=1, le=500), cursor: str | None = None) -> dict[str, Any]:
    """Inbound calls of every hook (unknown hook names included), newest first."""
    require_reader(request)
    return intake.calls(hook=hook, verdict=verdict, limit=limit, before=_before(cursor))


@router.get("/jobs")
def list_jobs(request: Request, status: Literal["pending", "queued", "running", "done", "failed"] | None = None,
              kind: str | None = None, hook: str | None = None, limit: int = Query(50, ge=1, le=500),
              cursor: str | None = None) -> dict[str, Any]:
    require_reader(request)
    try:
        return jobs.listing(status=status, kind=kind, hook=hook, limit=limit, cursor=cursor)
    except (ValueError, UnicodeDecodeError) as exc:
        raise HTTPException(400, "invalid cursor") from exc


@router.get("/jobs/{job_id}")
def get_job(request: Request, job_id: str) -> dict[str, Any]:
    """A job's state: pending, queued, running, done (with its result) or failed (with its error)."""
    require_reader(request)
    found = jobs.get(job_id)
    if found is None:
        raise HTTPException(404, f"no job {job_id}")
    return found


# -- republish ------------------------------------------------------------------------------------------------
class RepublishBody(NoNul):
    model_config = ConfigDict(extra="forbid")

    version: int | None = Field(None, ge=1, le=2**31 - 1, description="default: the latest published version")
    targets: list[str] | None = Field(None, max_length=100, description="default: every target that takes it")
    reason: str | None = Field(None, max_length=2000)


def _republish(request: Request, article_id: str, body: RepublishBody | None) -> dict[str, Any]:
    from services.publish.republish import RepublishError, republish
    from services.publish.tasks import after_change

    principal = require_operator(request, "article.republish", article_id)
    body = body or RepublishBody()
    given = request.headers.get("idempotency-key")
    key = f"api:{principal.token_id}:{given[:200]}" if given else None
    try:
        result = republish(article_id, body.version, body.targets, actor=principal.actor, reason=body.reason, key=key)
    except RepublishError as exc:
        audit(principal, "article.republish", article_id, result="error", message=str(exc))
        raise HTTPException(exc.status, str(exc)) from exc
    audit(principal, "article.republish", article_id, result="ok", detail=result.to_dict())
    if not result.duplicate:
        try:
            after_change(result.targets)
        except Exception:  # noqa: BLE001  (the rows are stored: the publish sweep drains them within a minute)
            pass
    return result.to_dict()


@router.post("/articles/{article_id}/republish")
async def republish_article(request: Request, article_id: str, body: RepublishBody | None = None) -> dict[str, Any]:
    """Send an article version again: one new delivery per target (all that take it, or those named). An
    ``Idempotency-Key`` header makes a retried request create nothing more."""
    return await run_in_threadpool(_republish, request, article_id, body)
