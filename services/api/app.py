"""The HTTP face of Newswire: health, articles, intake, published feeds, dead letters."""

from __future__ import annotations

import base64
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlsplit

from fastapi import FastAPI, HTTPException, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from redis.exceptions import RedisError
from sqlalchemy import and_, or_, select, text
from sqlalchemy.exc import SQLAlchemyError

from shared.payload import IngestRequest, article_id_for
from shared.settings import STAGES, get_settings
from shared.store import Article, DeadLetter, session_scope
from shared.store.blobs import put_blob
from services.publish.formats import article_document

TAGS = [
    {"name": "health", "description": "Probes (public)."},
    {"name": "actions", "description": "Re-ingest a URL now (operator)."},
    {"name": "articles", "description": "Articles with their versions, trace, deliveries and routing decisions."},
    {"name": "sources", "description": "Sources: list, add, change, pause, resume, fetch now, push."},
    {"name": "publish", "description": "Targets, deliveries, why a story (did not) reach a target, retract, correct."},
    {"name": "dead letters", "description": "What failed for good: list, show, replay, discard (one or in bulk)."},
    {"name": "stages", "description": "The four stages' queues: see them, pause and resume them on every host."},
    {"name": "feeds", "description": "The public feeds (no token)."},
    {"name": "console", "description": "The operator console's JSON and the audit log."},
]
app = FastAPI(title="Newswire", version="0.1.0", openapi_tags=TAGS,
              description="Ingest, clean, enrich and publish news.\n\nEvery operation needs a token "
                          "(`Authorization: Bearer nw_...`; `newswire token create --role read-only|operator`), "
                          "except the probes, the public feeds, inbound webhooks and the WebSub callback. "
                          "Read-only tokens read everything (secrets hidden); actions need an operator token and "
                          "are audited. Lists page with `limit` and an opaque `cursor` (`next_cursor` in the answer).")
from services.api.auth import install as _install_token_gate  # noqa: E402

_install_token_gate(app)  # no token, no access: one gate for every route (see services/api/auth.py)


@app.exception_handler(RequestValidationError)
async def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
    errors = [
        {"loc": list(error.get("loc", [])), "msg": error.get("msg"), "type": error.get("type")}
        for error in exc.errors()
    ]
    return JSONResponse(status_code=422, content={"detail": "invalid request", "errors": errors})


def _bad_value(exc: BaseException) -> bool:
    """A value the store cannot hold (a number past 64 bits, a NUL in text): the request's fault, not the store's."""
    from sqlalchemy.exc import DataError, StatementError

    if isinstance(exc, (OverflowError, DataError)):
        return True
    return isinstance(exc, StatementError) and isinstance(exc.orig, (OverflowError, ValueError))


@app.exception_handler(OverflowError)
async def _out_of_range(_request: Request, exc: OverflowError) -> JSONResponse:
    return JSONResponse(status_code=422, content={"detail": "invalid request: a number is out of range"})


@app.exception_handler(SQLAlchemyError)
async def _store_down(_request: Request, exc: SQLAlchemyError) -> JSONResponse:
    if _bad_value(exc):
        return JSONResponse(status_code=422, content={"detail": "invalid request: a value the store cannot hold "
                                                                f"({type(getattr(exc, 'orig', exc)).__name__})"})
    return JSONResponse(status_code=503, content={"detail": f"store unavailable: {type(exc).__name__}"})


@app.exception_handler(RedisError)
async def _redis_down(_request: Request, exc: RedisError) -> JSONResponse:
    return JSONResponse(status_code=503, content={"detail": f"Redis unavailable: {exc}"})


# -- health -----------------------------------------------------------------
@app.get("/healthz", tags=["health"], summary="Redis, the database and a live worker per stage (public)")
def healthz() -> JSONResponse:
    from services.api.probes import store_checks

    checks, missing = store_checks()
    if "redis" not in missing:
        from shared.workers import live_workers

        workers = live_workers()
        checks["workers"] = workers
        missing += [f"worker:{stage}" for stage in STAGES if not workers.get(stage)]
    body = {"status": "ok" if not missing else "unavailable", "missing": missing, "checks": checks}
    return JSONResponse(status_code=200 if not missing else 503, content=body)


# -- intake -----------------------------------------------------------------
class IngestBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(max_length=4096, description="The page or feed URL; with html, where the html came from")
    html: str | None = Field(default=None, description="The page itself, when pushing instead of fetching")

    @field_validator("url")
    @classmethod
    def _http(cls, value: str) -> str:
        parts = urlsplit(value.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("url must be an absolute http(s) URL")
        if any(ord(char) < 0x20 or ord(char) == 0x7F for char in value.strip()):
            # No URL holds them (RFC 3986); a NUL would also fail the audit row on PostgreSQL after the 202.
            raise ValueError("url must not contain control characters")
        return value.strip()

    @field_validator("html")
    @classmethod
    def _size(cls, value: str | None) -> str | None:
        if value is not None:
            limit = get_settings().max_body_bytes
            if not value.strip():
                raise ValueError("html is empty")
            if len(value.encode("utf-8")) > limit:
                raise ValueError(f"html exceeds {limit} bytes")
        return value


def _invalid_body(errors: list[dict[str, Any]]) -> JSONResponse:
    return JSONResponse(status_code=422, content={"detail": "invalid request", "errors": errors})


@app.post(
    "/ingest",
    status_code=202,
    tags=["actions"],
    summary="Re-ingest a URL now (or push a page): operator token",
    openapi_extra={"requestBody": {"required": True, "content": {"application/json": {"schema": IngestBody.model_json_schema()}}}},
)
async def ingest_endpoint(request: Request) -> JSONResponse:
    """Accept a URL to fetch, or a pushed page (html with the url it came from). Answers 202 with the article id.

    Operator token only (audited as ``ingest.url``)."""
    from starlette.concurrency import run_in_threadpool
    from services.api.console.access import audit, require_operator

    principal = await run_in_threadpool(require_operator, request, "ingest.url", None)
    from services.api.bodies import read_capped

    raw, _size = await read_capped(request, get_settings().max_body_bytes * 2 + 8192)
    if raw is None:
        return JSONResponse(status_code=413, content={"detail": "request body too large"})
    try:
        body = IngestBody.model_validate_json(raw)
    except ValidationError as exc:
        errors = [{"loc": list(e.get("loc", [])), "msg": e.get("msg"), "type": e.get("type")} for e in exc.errors()]
        await run_in_threadpool(audit, principal, "ingest.url", None, result="error", message="invalid request")
        return _invalid_body(errors)
    try:
        answer = await run_in_threadpool(ingest, body)
    except HTTPException as exc:
        await run_in_threadpool(audit, principal, "ingest.url", body.url, result="error", message=str(exc.detail))
        raise
    await run_in_threadpool(audit, principal, "ingest.url", body.url, result="ok",
                            detail={"pushed_html": body.html is not None})
    return answer


def ingest(body: IngestBody) -> JSONResponse:
    request = IngestRequest(url=body.url)
    if body.html is not None:
        try:
            with session_scope() as session:
                request.raw_key = put_blob(session, body.html.encode("utf-8"), "text/html")
        except Exception as exc:  # noqa: BLE001
            raise HTTPException(503, f"store unavailable: {exc}") from exc
        request.content_type = "text/html"
        request.follow_feeds = False
    try:
        from shared.celery_app import app as celery

        celery.send_task("ingest.fetch", args=[request.to_message()], queue="ingest")
    except Exception as exc:  # noqa: BLE001
        raise HTTPException(503, f"queue unavailable, nothing was accepted: {exc}") from exc
    return JSONResponse(
        status_code=202,
        content={"id": article_id_for(body.url), "fetch_id": request.fetch_id, "status": "accepted"},
    )


# -- articles ---------------------------------------------------------------
def _encode_cursor(when: datetime, article_id: str) -> str:
    return base64.urlsafe_b64encode(f"{when.isoformat()}|{article_id}".encode()).decode()


def _decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        when, article_id = base64.urlsafe_b64decode(cursor.encode()).decode().split("|", 1)
        moment = datetime.fromisoformat(when)
        return (moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)), article_id
    except Exception as exc:  # noqa: BLE001
        raise HTTPException(400, "invalid cursor") from exc


def _article_summary(article: Article) -> dict[str, Any]:
    return {
        "id": article.id,
        "url": article.url,
        "title": article.title,
        "latest_version": article.latest_version,
        "duplicates": article.duplicates,
        "source_id": article.source_id,
        "cluster_id": article.cluster_id,
        "near_duplicate_of": article.near_duplicate_of,
        "created_at": article.created_at.isoformat(),
        "updated_at": article.updated_at.isoformat(),
    }


@app.get("/articles", tags=["articles"], summary="Articles, most recently updated first (filter, cursor paging)")
def list_articles(limit: int = Query(50, ge=1, le=500), cursor: str | None = Query(None, max_length=512),
                  source_id: int | None = Query(None, ge=0, le=2**62), q: str | None = Query(None, max_length=500),
                  since: datetime | None = None) -> dict[str, Any]:
    """``source_id``: from one source; ``q``: text in the title or URL; ``since``: updated at or after."""
    with session_scope() as session:
        query = select(Article).order_by(Article.updated_at.desc(), Article.id.desc()).limit(limit + 1)
        if source_id is not None:
            query = query.where(Article.source_id == source_id)
        if q:
            query = query.where(or_(Article.title.contains(q), Article.url.contains(q)))
        if since is not None:
            query = query.where(Article.updated_at >= (since if since.tzinfo else since.replace(tzinfo=timezone.utc)))
        if cursor:
            when, article_id = _decode_cursor(cursor)
            query = query.where(or_(Article.updated_at < when, and_(Article.updated_at == when, Article.id < article_id)))
        rows = list(session.execute(query).scalars())
        items = [_article_summary(article) for article in rows[:limit]]
        next_cursor = _encode_cursor(rows[limit - 1].updated_at, rows[limit - 1].id) if len(rows) > limit else None
    return {"items": items, "next_cursor": next_cursor}


def _story(session: Any, article: Article) -> dict[str, Any] | None:
    """The story (near-duplicate cluster) the article belongs to, with its other pages: the story's sources."""
    if not article.cluster_id:
        return None
    from services.clean.versions import story_articles

    return {"cluster_id": article.cluster_id,
            "sources": [{"article_id": other.id, "url": other.url, "source_id": other.source_id, "title": other.title,
                         "near_duplicate_of": other.near_duplicate_of, "created_at": other.created_at.isoformat()}
                        for other in story_articles(session, article.cluster_id, but=article.id)]}


def article_detail(article_id: str) -> dict[str, Any] | None:
    with session_scope() as session:
        article = session.get(Article, article_id)
        if article is None:
            return None
        detail = _article_summary(article)
        detail["story"] = _story(session, article)
        detail["links"] = {"explain": f"/articles/{article.id}/explain",
                           "deliveries": f"/deliveries?article_id={article.id}",
                           "dead_letters": f"/dead-letters?article_id={article.id}"}
        detail["versions"] = [
            {
                **article_document(article, version),
                "status": version.status,
                "created_at": version.created_at.isoformat(),
                "published_at": version.published_at.isoformat() if version.published_at else None,
                "trace": version.trace,
                "deliveries": [
                    {
                        "target": d.target,
                        "event": d.event,
                        "key": d.idempotency_key,
                        "status": d.status,
                        "attempts": d.attempts,
                        "last_status_code": d.last_status_code,
                        "last_error": d.last_error,
                        "delivered_at": d.delivered_at.isoformat() if d.delivered_at else None,
                        "attempt_log": [
                            {
                                "attempt": a.attempt,
                                "started_at": a.started_at.isoformat(),
                                "duration_ms": a.duration_ms,
                                "status_code": a.status_code,
                                "error": a.error,
                                "worker": a.worker,
                                "response_excerpt": a.response_excerpt,
                            }
                            for a in d.attempt_log
                        ],
                    }
                    for d in version.deliveries
                ],
            }
            for version in article.versions
        ]
        from services.publish.explain import routing_by_version  # publish engine (issue 5)

        routing = routing_by_version(session, [version.id for version in article.versions])
        for version, shown in zip(article.versions, detail["versions"]):
            shown["routing"] = routing.get(version.id, [])
        return detail


@app.get("/articles/{article_id}", tags=["articles"],
         summary="One article: versions, trace, deliveries with their attempts, routing decisions")
def get_article(article_id: str) -> dict[str, Any]:
    """Each version carries its ``trace`` (stage by stage), its ``deliveries`` and its ``routing`` (the decision
    per target, with the rule and reason, as in ``/articles/{id}/explain``)."""
    detail = article_detail(article_id)
    if detail is None:
        raise HTTPException(404, f"no article {article_id}")
    return detail


# -- dead letters and stages: services/api/rest.py (issue 6) -----------------------------------------------
from services.api.rest import router as rest_router  # noqa: E402

app.include_router(rest_router)


from services.api.metrics import router as metrics_router  # noqa: E402  (issue 7)
app.include_router(metrics_router)
from services.api.console import router as console_router  # noqa: E402  (issue 7)
from shared.telemetry import configure_logging  # noqa: E402

app.include_router(console_router)

# Ingest (issue 11): this area's routers are included below this line
from services.api.sources import router as sources_router  # noqa: E402

app.include_router(sources_router)
# (end of Ingest)

# Publish (issue 5): this area's routers are included below this line
from services.api.feeds import router as feeds_router  # noqa: E402
from services.api.publish import router as publish_router  # noqa: E402

app.include_router(feeds_router)
app.include_router(publish_router)
# (end of Publish)

# Hooks (issue 6): inbound webhooks, jobs, hook calls, republish
from services.api.hooks import router as hooks_router  # noqa: E402

app.include_router(hooks_router)
# (end of Hooks)

# Deploy (issue 9): this area's routers are included below this line
from services.api.probes import router as probes_router  # noqa: E402
app.include_router(probes_router)
# (end of Deploy)

configure_logging()  # JSON lines, unless the process configured logging already
