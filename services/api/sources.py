"""REST for sources (the same as ``newswire sources ...``), their articles, pushes and the WebSub callback.

Reads need any token (services/api/auth.py); changes need an operator token (``newswire token create --role operator``)
and are audited. A push needs an operator token or NEWSWIRE_INGEST_PUSH_TOKEN. The WebSub callback is open:
the hub proves itself with the HMAC signature of each notification.
"""

from __future__ import annotations

import hmac
import uuid
from typing import Any

from fastapi import APIRouter, HTTPException, Query, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from shared.settings import get_settings
from services.api.bodies import body_within, read_capped

router = APIRouter(tags=["sources"])


class SourceBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(max_length=4096)
    kind: str | None = None
    name: str | None = Field(default=None, max_length=500)
    interval: int | None = Field(default=None, ge=1)
    options: dict[str, Any] = Field(default_factory=dict)


class SourceChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, max_length=500)
    interval: int | None = Field(default=None, ge=1)
    options: dict[str, Any] | None = None


def _operator(request: Request, action: str, subject: str | None = None):  # noqa: ANN202
    from services.api.console.access import require_operator

    return require_operator(request, action, subject)


def _audit(principal, action: str, subject: str | None, detail: dict | None = None) -> None:  # noqa: ANN001
    from services.api.console.access import audit

    audit(principal, action, subject, result="ok", detail=detail)


def _call(function, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
    from services.ingest.sources import SourceError

    try:
        return function(*args, **kwargs)
    except SourceError as exc:
        raise HTTPException(exc.status, exc.reason) from exc


@router.get("/sources", summary="Sources: filter by status, kind, text; cursor paging")
def list_sources(status: str | None = Query(None, max_length=50), kind: str | None = Query(None, max_length=50),
                 q: str | None = Query(None, max_length=4096), limit: int = Query(100, ge=1, le=5000),
                 cursor: str | None = Query(None, max_length=512),
                 offset: int = Query(0, ge=0, le=10_000_000, description="deprecated: use cursor")) -> dict[str, Any]:
    """By id. Pass ``next_cursor`` back as ``cursor`` for the next page (null on the last one)."""
    from services.api import paging
    from services.ingest import sources

    after = paging.int_key(paging.decode(cursor, "after"), "after")
    found = sources.list_sources(status=status, kind=kind, q=q, limit=limit + 1, offset=offset, after_id=after)
    items, next_cursor = paging.page(found["items"], limit, lambda item: paging.encode(after=item["id"]))
    return {**found, "items": items, "next_cursor": next_cursor}


@router.post("/sources", status_code=201)
def add_source(body: SourceBody, request: Request) -> dict[str, Any]:
    from services.ingest import sources

    principal = _operator(request, "source.add", body.url)
    source = _call(sources.add, body.url, kind=body.kind, name=body.name, interval=body.interval,
                   options=body.options, remote=True)
    _audit(principal, "source.add", f"source {source['id']}", {"url": body.url})
    return source


@router.get("/sources/export")
def export_sources() -> Response:
    from services.ingest import sources
    from services.ingest.opml import export_opml

    text = export_opml(sources.list_sources(limit=1_000_000)["items"])
    return Response(content=text, media_type="text/x-opml; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="newswire-sources.opml"'})


@router.post("/sources/import")
async def import_sources(request: Request) -> dict[str, Any]:
    from shared.errors import PermanentError
    from services.ingest.opml import import_opml

    principal = await run_in_threadpool(_operator, request, "source.import")
    body = await body_within(request, get_settings().max_body_bytes, "OPML too large")
    try:
        result = await run_in_threadpool(import_opml, body, True)
    except PermanentError as exc:
        raise HTTPException(400, exc.reason) from exc
    await run_in_threadpool(_audit, principal, "source.import", None, {"added": len(result["added"])})
    return result


@router.get("/sources/{source_id}")
def show_source(source_id: int) -> dict[str, Any]:
    from services.ingest import sources

    return _call(sources.show, source_id)


@router.patch("/sources/{source_id}")
def change_source(source_id: int, body: SourceChange, request: Request) -> dict[str, Any]:
    from services.ingest import sources

    principal = _operator(request, "source.change", f"source {source_id}")
    result = _call(sources.update, source_id, name=body.name, interval=body.interval, options=body.options)
    _audit(principal, "source.change", f"source {source_id}", body.model_dump(exclude_none=True))
    return result


@router.delete("/sources/{source_id}")
def remove_source(source_id: int, request: Request) -> dict[str, Any]:
    from services.ingest import sources

    principal = _operator(request, "source.remove", f"source {source_id}")
    result = _call(sources.remove, source_id)
    _audit(principal, "source.remove", f"source {source_id}", {"url": result["url"]})
    return result


# Before /sources/{source_id}/{verb}, which would otherwise take (and refuse) every push.
@router.post("/sources/{source_id}/push", status_code=202)
async def push_to_source(source_id: int, request: Request, url: str | None = None) -> JSONResponse:
    """A body for the source: a feed, a ninjs / NewsML-G2 item, or an HTML page (with ?url=)."""
    settings = get_settings()
    header = request.headers.get("authorization", "")
    push_token = settings.ingest_push_token
    if not (push_token and header[:7].lower() == "bearer " and hmac.compare_digest(header[7:].strip(), push_token)):
        await run_in_threadpool(_operator, request, "source.push", f"source {source_id}")
    body = await body_within(request, settings.max_body_bytes, f"body exceeds {settings.max_body_bytes} bytes")
    if not body.strip():
        raise HTTPException(422, "empty body")
    return await run_in_threadpool(_enqueue_push, source_id, body, url, request.headers.get("content-type"))


@router.post("/sources/{source_id}/{verb}")
def act_on_source(source_id: int, verb: str, request: Request) -> dict[str, Any]:
    from services.ingest import sources

    if verb not in ("pause", "resume", "fetch"):
        raise HTTPException(404, f"no action {verb!r}: pause, resume, fetch, push")
    principal = _operator(request, f"source.{verb}", f"source {source_id}")
    result = _call(getattr(sources, "fetch_now" if verb == "fetch" else verb), source_id)
    _audit(principal, f"source.{verb}", f"source {source_id}")
    return result


@router.get("/sources/{source_id}/fetches/{fetch_id}")
def poll_state(source_id: int, fetch_id: str) -> dict[str, Any]:
    """What became of a poll (and, once they end, of each item it handed on)."""
    from shared.jobs import get_fetch_state

    state = get_fetch_state(fetch_id)
    if state is None or state.get("source_id") not in (None, source_id):
        raise HTTPException(404, "no such poll (yet)")
    children = [get_fetch_state(child) or {"state": "pending"} for child in state.get("children", [])[:1000]]
    counts: dict[str, int] = {}
    for child in children:
        counts[child["state"]] = counts.get(child["state"], 0) + 1
    return {**state, "items": counts, "done": "pending" not in counts}


@router.get("/sources/{source_id}/articles")
def source_articles(source_id: int, limit: int = Query(100, ge=1, le=5000),
                    offset: int = Query(0, ge=0)) -> dict[str, Any]:
    from services.ingest import sources

    return _call(sources.articles, source_id, limit=limit, offset=offset)


def _enqueue_push(source_id: int, body: bytes, url: str | None, content_type: str | None) -> JSONResponse:
    from shared.store import session_scope
    from shared.store.blobs import put_blob
    from services.ingest import sources

    _call(sources.get_view, source_id)
    with session_scope() as session:
        key = put_blob(session, body, content_type)
    fetch_id = uuid.uuid4().hex
    message = {"source_id": source_id, "raw_key": key, "url": url, "content_type": content_type,
               "fetch_id": fetch_id}
    try:
        from shared.celery_app import app as celery

        celery.send_task("ingest.push", args=[message], queue="ingest")
    except Exception as exc:  # noqa: BLE001
        raise HTTPException(503, f"queue unavailable, nothing was accepted: {exc}") from exc
    return JSONResponse(status_code=202, content={"source_id": source_id, "fetch_id": fetch_id, "status": "accepted"})


# -- WebSub callback ------------------------------------------------------------------
@router.get("/websub/{source_id}", include_in_schema=False)
def websub_verify(source_id: int, request: Request) -> PlainTextResponse:
    from services.ingest.websub import WebSubError, verify_intent

    try:
        challenge = verify_intent(source_id, dict(request.query_params))
    except WebSubError as exc:
        return PlainTextResponse(exc.reason, status_code=exc.status)
    return PlainTextResponse(challenge, status_code=200)


@router.post("/websub/{source_id}", include_in_schema=False)
async def websub_notify(source_id: int, request: Request) -> JSONResponse:
    from services.ingest.websub import accept_notification

    body, _size = await read_capped(request, get_settings().max_body_bytes)  # open to anyone: never held whole
    if body is None:
        return JSONResponse(status_code=413, content={"accepted": False, "reason": "body too large"})
    signature = request.headers.get("x-hub-signature-256") and f"sha256={request.headers['x-hub-signature-256'].split('=', 1)[-1]}" \
        or request.headers.get("x-hub-signature")
    accepted, reason = await run_in_threadpool(accept_notification, source_id, body, signature)
    if not accepted:
        # The spec wants a 2xx even for a bad signature (so a forger learns nothing); we keep nothing of it.
        return JSONResponse(status_code=202, content={"accepted": False, "reason": reason})
    return await run_in_threadpool(_enqueue_push, source_id, body, None, request.headers.get("content-type"))
