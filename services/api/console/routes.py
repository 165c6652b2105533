"""The console's routes: server-rendered pages under /console, their JSON twins under /console/api, actions,
and the audit log at /audit-log.

Every page and JSON read needs a token (read-only or operator); every action needs an operator token and is
written to the audit log with its result, refusals included.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlencode

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from markupsafe import Markup
from starlette.concurrency import run_in_threadpool

from shared.settings import STAGES, get_settings
from services.api.console import access, actions, data
from services.api.console.access import Principal

HERE = Path(__file__).parent
STATIC = {name: (HERE / "static" / name) for name in ("console.js", "console.css")}
STATIC_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}
router = APIRouter()
templates = Jinja2Templates(directory=str(HERE / "templates"))


# -- template helpers --------------------------------------------------------
def ago(value: Any) -> str:
    if value in (None, ""):
        return "never"
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value
    if isinstance(value, datetime):
        seconds = time.time() - value.timestamp()
    else:
        seconds = float(value)
    future = seconds < 0
    seconds = abs(seconds)
    if seconds < 90:
        text = f"{seconds:.0f}s"
    elif seconds < 5400:
        text = f"{seconds / 60:.0f}m"
    elif seconds < 172800:
        text = f"{seconds / 3600:.1f}h"
    else:
        text = f"{seconds / 86400:.0f}d"
    return f"in {text}" if future else f"{text} ago"


def seconds(value: Any) -> str:
    if value is None:
        return "–"
    value = float(value)
    if value < 1:
        return f"{value * 1000:.0f} ms"
    if value < 120:
        return f"{value:.1f} s"
    if value < 7200:
        return f"{value / 60:.1f} min"
    return f"{value / 3600:.1f} h"


def sparkline(series: list[list[float]], width: int = 220, height: int = 36, label: str = "") -> Markup:
    """An inline SVG line of (time, value) points, with its maximum written beside it."""
    if not series:
        return Markup(f'<span class="muted">no samples yet</span>')
    values = [float(v) for _, v in series]
    start, end = float(series[0][0]), float(series[-1][0])
    span = (end - start) or 1.0
    top = max(values) or 1.0
    points = " ".join(
        f"{(float(t) - start) / span * (width - 2) + 1:.1f},{height - 1 - (float(v) / top) * (height - 2):.1f}"
        for t, v in series
    )
    title = f"{label}: max {max(values):g}, now {values[-1]:g}, {len(values)} samples"
    return Markup(
        f'<svg class="spark" width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{title}"><title>{title}</title><polyline fill="none" stroke="currentColor" stroke-width="1.5" '
        f'points="{points}"/></svg><span class="spark-max">{max(values):g}</span>'
    )


def pretty(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2, default=str)


templates.env.filters.update(ago=ago, seconds=seconds, pretty=pretty)
templates.env.globals.update(sparkline=sparkline, STAGES=STAGES, isinf=math.isinf)


def _static_version() -> str:
    digest = hashlib.sha256()
    for path in STATIC.values():
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


templates.env.globals["static_version"] = _static_version()


# -- auth for pages ----------------------------------------------------------
class LoginRequired(Exception):
    pass


def page_principal(request: Request) -> Principal:
    principal = access.principal_from_request(request)
    if principal is None:
        raise LoginRequired()
    return principal


def render(request: Request, template: str, principal: Principal, **context: Any) -> HTMLResponse:
    context.update(request=request, principal=principal, can_act=principal.can_act, csrf=principal.csrf,
                   notice=request.query_params.get("notice"), open_letters=data.open_dead_letters(),
                   refresh=5)
    return templates.TemplateResponse(request, template, context)


def _login_redirect(request: Request) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/console/login?next={quote(target)}", status_code=303)


def page(handler):  # noqa: ANN001, ANN201
    """Wrap a page handler: no valid token -> the login page."""
    import functools
    import inspect

    @functools.wraps(handler)
    async def wrapper(**kwargs: Any) -> Response:
        request: Request = kwargs.pop("request")
        try:
            principal = await run_in_threadpool(page_principal, request)
        except LoginRequired:
            return _login_redirect(request)
        return await run_in_threadpool(functools.partial(handler, request, principal, **kwargs))

    signature = inspect.signature(handler)
    wrapper.__signature__ = signature.replace(  # type: ignore[attr-defined]
        parameters=[p for p in signature.parameters.values() if p.name != "principal"])
    return wrapper


# -- static files and login --------------------------------------------------
@router.get("/console/static/{name}", include_in_schema=False)
def static_file(name: str, request: Request) -> Response:
    path = STATIC.get(name)
    if path is None:
        raise HTTPException(404, "no such file")
    body = path.read_bytes()
    etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers={"ETag": etag})
    return Response(body, media_type=STATIC_TYPES[path.suffix], headers={"ETag": etag, "Cache-Control": "max-age=300"})


def _safe_next(value: str | None) -> str:
    return value if value and value.startswith("/console") and not value.startswith("//") else "/console"


@router.get("/console/login", include_in_schema=False)
def login_page(request: Request, next: str | None = None, error: str | None = None) -> HTMLResponse:  # noqa: A002
    return templates.TemplateResponse(request, "login.html", {"request": request, "next": _safe_next(next),
                                                              "error": error, "principal": None})


@router.post("/console/login", include_in_schema=False)
async def login(request: Request) -> Response:
    form = await _form(request)
    token = (form.get("token") or "").strip()
    target = _safe_next(form.get("next"))
    principal = await run_in_threadpool(access.principal_for_token, token, "cookie")
    if principal is None:
        await run_in_threadpool(access.audit, None, "console.login", None, result="denied",
                                message="invalid or revoked token")
        return RedirectResponse(f"/console/login?next={quote(target)}&error=invalid", status_code=303)
    await run_in_threadpool(access.audit, principal, "console.login", None, result="ok")
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(access.COOKIE, token, httponly=True, samesite="strict", path="/",
                        secure=get_settings().console_cookie_secure, max_age=12 * 3600)
    return response


@router.post("/console/logout", include_in_schema=False)
def logout() -> Response:
    response = RedirectResponse("/console/login", status_code=303)
    response.delete_cookie(access.COOKIE, path="/")
    return response


# -- pages -------------------------------------------------------------------
@router.get("/console", include_in_schema=False)
@page
def overview_page(request: Request, principal: Principal) -> HTMLResponse:
    hours = _float(request.query_params.get("hours"), 3.0, 0.25, 24.0)
    return render(request, "overview.html", principal, view=data.overview(hours=hours), hours=hours, nav="overview")


@router.get("/console/sources", include_in_schema=False)
@page
def sources_page(request: Request, principal: Principal) -> HTMLResponse:
    q = request.query_params.get("q") or None
    status = request.query_params.get("status") or None
    return render(request, "sources.html", principal, view=data.sources(q=q, status=status), q=q or "",
                  status=status or "", nav="sources")


@router.get("/console/targets", include_in_schema=False)
@page
def targets_page(request: Request, principal: Principal) -> HTMLResponse:
    return render(request, "targets.html", principal, view=data.targets(), nav="targets")


@router.get("/console/dead-letters", include_in_schema=False)
@page
def dead_letters_page(request: Request, principal: Principal) -> HTMLResponse:
    flt = data.LetterFilter(**dict(request.query_params))
    before = _int(request.query_params.get("before"))
    return render(request, "dead_letters.html", principal, view=data.dead_letters(flt, limit=50, before_id=before),
                  flt=flt, nav="dead-letters", query=urlencode(flt.as_dict()))


@router.get("/console/dead-letters/{letter_id}", include_in_schema=False)
@page
def dead_letter_page(request: Request, principal: Principal, letter_id: int) -> HTMLResponse:
    letter = data.dead_letter(letter_id)
    if letter is None:
        raise HTTPException(404, f"no dead letter {letter_id}")
    return render(request, "dead_letter.html", principal, letter=letter, nav="dead-letters")


@router.get("/console/stories", include_in_schema=False)
@page
def stories_page(request: Request, principal: Principal) -> Response:
    q = (request.query_params.get("q") or "").strip()
    results = data.search_stories(q) if q else []
    if len(results) == 1 and request.query_params.get("go") != "0":
        return RedirectResponse(f"/console/stories/{results[0]['id']}", status_code=303)
    return render(request, "stories.html", principal, q=q, results=results, nav="stories")


@router.get("/console/stories/{article_id}", include_in_schema=False)
@page
def story_page(request: Request, principal: Principal, article_id: str) -> HTMLResponse:
    view = data.story(article_id)
    if view is None:
        raise HTTPException(404, f"no article {article_id}")
    return render(request, "story.html", principal, story=view, nav="stories")


@router.get("/console/hooks", include_in_schema=False)
@page
def hooks_page(request: Request, principal: Principal) -> HTMLResponse:
    from services.hooks import config as hook_config, intake, jobs

    hook = (request.query_params.get("hook") or "").strip()[:64] or None
    status = request.query_params.get("status") or None
    status = status if status in jobs.STATES else None
    verdict = request.query_params.get("verdict") or None
    verdict = verdict if verdict in ("accepted", "duplicate", "refused") else None
    return render(request, "hooks.html", principal, hooks=hook_config.list_hooks(),
                  jobs=jobs.listing(status=status, hook=hook, limit=50),
                  calls=intake.calls(hook=hook, verdict=verdict, limit=50), job_states=jobs.STATES,
                  hook=hook or "", status=status or "", verdict=verdict or "", nav="hooks")


@router.get("/console/audit", include_in_schema=False)
@page
def audit_page(request: Request, principal: Principal) -> HTMLResponse:
    return render(request, "audit.html", principal, entries=access.audit_entries(limit=200), nav="audit")


# -- JSON reads --------------------------------------------------------------
@router.get("/console/api/whoami", tags=["console"])
def whoami(request: Request) -> dict[str, Any]:
    principal = access.require_reader(request)
    return {"name": principal.name, "role": principal.role, "can_act": principal.can_act}


@router.get("/console/api/overview", tags=["console"])
def overview_json(request: Request, hours: float = Query(3.0, ge=0.25, le=24.0)) -> dict[str, Any]:
    access.require_reader(request)
    return data.overview(hours=hours)


@router.get("/console/api/sources", tags=["console"])
def sources_json(request: Request, q: str | None = None, status: str | None = None,
                 limit: int = Query(500, ge=1, le=5000)) -> dict[str, Any]:
    access.require_reader(request)
    return data.sources(limit=limit, q=q, status=status)


@router.get("/console/api/targets", tags=["console"])
def targets_json(request: Request) -> dict[str, Any]:
    access.require_reader(request)
    return data.targets()


@router.get("/console/api/dead-letters", tags=["console"])
def dead_letters_json(request: Request, stage: str | None = None, source: str | None = None,
                      target: str | None = None, error: str | None = None, status: str | None = None,
                      from_id: int | None = None, to_id: int | None = None, before: int | None = None,
                      limit: int = Query(100, ge=1, le=500)) -> dict[str, Any]:
    access.require_reader(request)
    flt = data.LetterFilter(stage=stage, source=source, target=target, error=error, status=status,
                            from_id=from_id, to_id=to_id)
    return data.dead_letters(flt, limit=limit, before_id=before)


@router.get("/console/api/dead-letters/{letter_id}", tags=["console"])
def dead_letter_json(request: Request, letter_id: int) -> dict[str, Any]:
    access.require_reader(request)
    letter = data.dead_letter(letter_id)
    if letter is None:
        raise HTTPException(404, f"no dead letter {letter_id}")
    return letter


@router.get("/console/api/stories", tags=["console"])
def stories_json(request: Request, q: str = Query(..., min_length=1, max_length=4096)) -> dict[str, Any]:
    access.require_reader(request)
    return {"items": data.search_stories(q)}


@router.get("/console/api/stories/{article_id}", tags=["console"])
def story_json(request: Request, article_id: str) -> dict[str, Any]:
    access.require_reader(request)
    view = data.story(article_id)
    if view is None:
        raise HTTPException(404, f"no article {article_id}")
    return view


@router.get("/audit-log", tags=["console"])
def audit_log(request: Request, limit: int = Query(100, ge=1, le=1000), before: int | None = None,
              action: str | None = None) -> dict[str, Any]:
    """Every console action: who, what, on what, when, and the result (ok, denied, error)."""
    access.require_reader(request)
    items = access.audit_entries(limit=limit, before_id=before, action=action)
    return {"items": items, "next_before": items[-1]["id"] if len(items) == limit else None}


# -- actions -----------------------------------------------------------------
async def _form(request: Request) -> dict[str, Any]:
    """The body as a dict: JSON, or an HTML form (urlencoded; lists kept for repeated keys such as ids)."""
    from services.api.bodies import body_within

    raw = await body_within(request, 1_000_000, "request body too large")
    if request.headers.get("content-type", "").startswith("application/json"):
        try:
            body = json.loads(raw or b"{}")
        except (ValueError, RecursionError) as exc:  # RecursionError: arrays nested thousands deep
            raise HTTPException(400, f"invalid JSON: {exc}") from exc
        if not isinstance(body, dict):
            raise HTTPException(400, "the body must be a JSON object")
        return body
    parsed = parse_qs(raw.decode("utf-8", "replace"), keep_blank_values=False)
    return {key: (values if key == "ids" else values[-1]) for key, values in parsed.items()}


def _is_form(request: Request) -> bool:
    return request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded") \
        and request.headers.get(access.CSRF_HEADER) != access.CSRF_HEADER_VALUE


def _back(request: Request, body: dict[str, Any], notice: str) -> Response:
    back = _safe_next(body.get("back") or "/console")
    joiner = "&" if "?" in back else "?"
    return RedirectResponse(f"{back}{joiner}notice={quote(notice)}", status_code=303)


def _ids(body: dict[str, Any]) -> list[int]:
    raw = body.get("ids") or []
    if isinstance(raw, (str, int)):
        raw = [raw]
    ids = []
    for value in raw:
        for part in str(value).replace(",", " ").split():
            if not part.isdigit():
                raise HTTPException(422, f"dead letter ids are numbers, not {part!r}")
            ids.append(int(part))
    return ids


async def _letters_action(request: Request, name: str) -> Response:
    body = await _form(request)
    await run_in_threadpool(access.require_reader, request)
    filt = body.get("filter") if isinstance(body.get("filter"), dict) else None
    if filt is None and str(body.get("all_matching", "")) in ("1", "true", "on"):
        filt = {key: body.get(key) for key in data.LetterFilter.FIELDS}
    flt = data.LetterFilter(**filt) if filt is not None else None
    given = _ids(body) if flt is None else []
    if flt is not None:
        subject = "filter " + json.dumps(flt.as_dict(), ensure_ascii=False)
    else:
        subject = "dead letters " + ",".join(str(i) for i in given[:50]) + ("…" if len(given) > 50 else "")
    principal = await run_in_threadpool(access.require_operator, request, f"dead_letter.{name}", subject,
                                        body.get("csrf"))
    ids = await run_in_threadpool(actions.matching_ids, flt) if flt is not None else given
    if not ids:
        await run_in_threadpool(access.audit, principal, f"dead_letter.{name}", subject, result="error",
                                message="nothing selected")
        if _is_form(request):
            return _back(request, body, "nothing selected")
        raise HTTPException(422, "no dead letters given or matching (ids, or filter)")
    action = actions.replay if name == "replay" else actions.discard
    result = await run_in_threadpool(action, ids)
    outcome = "ok" if not result.failed else ("error" if not result.done else "partial")
    articles = await run_in_threadpool(_articles_of, result.done)
    await run_in_threadpool(
        access.audit, principal, f"dead_letter.{name}", subject + (" " + " ".join(articles) if articles else ""),
        result=outcome, detail={**result.as_dict(), "filter": flt.as_dict() if flt else None},
        message=f"{len(result.done)} {name}ed, {len(result.failed)} refused",
    )
    if _is_form(request):
        return _back(request, body, f"{len(result.done)} {name}ed" + (f", {len(result.failed)} refused" if result.failed else ""))
    return JSONResponse(result.as_dict(), status_code=200 if result.done or not result.failed else 409)


def _articles_of(letter_ids: list[int]) -> list[str]:
    from sqlalchemy import select

    from shared.store import DeadLetter, session_scope

    if not letter_ids:
        return []
    with session_scope() as session:
        return sorted({a for a in session.execute(
            select(DeadLetter.article_id).where(DeadLetter.id.in_(letter_ids[:200]))).scalars() if a})


@router.post("/console/api/dead-letters/replay", tags=["console"])
async def replay_letters(request: Request) -> Response:
    """Replay dead letters: ``{"ids": [...]}`` or ``{"filter": {stage, source, target, error, status, from_id,
    to_id}}`` (at most 1000 at once). Each goes back to its task with its stored arguments."""
    return await _letters_action(request, "replay")


@router.post("/console/api/dead-letters/discard", tags=["console"])
async def discard_letters(request: Request) -> Response:
    """Discard open dead letters: same body as replay."""
    return await _letters_action(request, "discard")


@router.post("/console/api/sources/{source_id}/{verb}", tags=["console"])
async def source_action(request: Request, source_id: int, verb: str) -> Response:
    """pause, resume or fetch (now) one source."""
    if verb not in ("pause", "resume", "fetch"):
        raise HTTPException(404, "source actions: pause, resume, fetch")
    body = await _form(request)
    principal = await run_in_threadpool(access.require_operator, request, f"source.{verb}", f"source {source_id}",
                                        body.get("csrf"))
    try:
        if verb == "fetch":
            result = await run_in_threadpool(actions.fetch_source_now, source_id)
        else:
            result = await run_in_threadpool(actions.set_source_status, source_id,
                                             "paused" if verb == "pause" else "active")
    except actions.ActionError as exc:
        await run_in_threadpool(access.audit, principal, f"source.{verb}", f"source {source_id}", result="error",
                                message=str(exc))
        if _is_form(request):
            return _back(request, body, str(exc))
        raise HTTPException(exc.status, str(exc)) from exc
    await run_in_threadpool(access.audit, principal, f"source.{verb}", f"source {source_id}", result="ok",
                            detail=result)
    if _is_form(request):
        return _back(request, body, f"source {source_id}: {verb} done")
    return JSONResponse(result)


# -- helpers -----------------------------------------------------------------
def _float(value: str | None, default: float, low: float, high: float) -> float:
    try:
        return min(high, max(low, float(value))) if value else default
    except ValueError:
        return default


def _int(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None


def now_utc() -> datetime:
    return datetime.now(timezone.utc)
