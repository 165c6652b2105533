"""The publish engine's API: targets (state, pause/resume), why a story (did not) reach a target, retract and
correct a story, failed deliveries and their replay. Reads are open like the rest of the API; actions need an
operator token and are audited."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, HTTPException, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func, select
from starlette.concurrency import run_in_threadpool

from shared.errors import PermanentError
from shared.store import ArticleVersion, Delivery, session_scope
from services.api.console.access import audit, require_operator
from services.api.metrics import register_gauge
from services.publish import lifecycle, replay, state
from services.publish.explain import explain
from services.publish.limits import breaker_states
from services.publish.targets import configured_targets

router = APIRouter(tags=["publish"])


def _breaker_open() -> dict[str, float]:
    return {name: float(value == "open") for name, value in breaker_states(sorted(configured_targets())).items()}


def _disabled() -> dict[str, float]:
    return {name: float(s["disabled"] or s["paused"]) for name, s in state.all_states().items()}


def _disabled_reason() -> dict[str, str]:
    return {name: s["reason"] for name, s in state.all_states().items() if s["reason"]}


register_gauge("breaker_open", _breaker_open)  # newswire_breaker_open{target}, and the console's targets page
register_gauge("target_disabled", _disabled)
register_gauge("target_disabled_reason", _disabled_reason)  # type: ignore[arg-type]


def _kick(names: list[str]) -> None:
    from services.publish.tasks import after_change

    after_change(names)


def targets_view() -> list[dict[str, Any]]:
    configured = configured_targets()
    states = state.all_states()
    with session_scope() as session:
        counts: dict[str, dict[str, int]] = {}
        for target, status, count in session.execute(
            select(Delivery.target, Delivery.status, func.count()).group_by(Delivery.target, Delivery.status)
        ).all():
            counts.setdefault(target, {})[status] = count
    breakers = breaker_states(sorted(configured))
    items = []
    for name in sorted(set(configured) | set(counts)):
        target = configured.get(name)
        shown = states.get(name) or state.describe(None, name)
        items.append({
            **shown,
            "kind": getattr(target, "kind", None),
            "configured": target is not None,
            "breaker": breakers.get(name),
            "rules": len(target.rules) if target is not None else None,
            "deliveries": counts.get(name, {}),
        })
    return items


@router.get("/targets", summary="Targets: state (paused, disabled, breaker), rules, deliveries by status")
def list_targets() -> dict[str, Any]:
    """Every target (a handful: one page, ``next_cursor`` is always null). Credentials are never shown."""
    return {"items": targets_view(), "next_cursor": None}


@router.get("/targets/{name}", summary="One target")
def show_target(name: str) -> dict[str, Any]:
    found = next((item for item in targets_view() if item["name"] == name), None)
    if found is None:
        raise HTTPException(404, f"no target {name}")
    return found


@router.post("/targets/{name}/pause")
def pause_target(request: Request, name: str) -> dict[str, Any]:
    principal = require_operator(request, "target.pause", name)
    if name not in configured_targets():
        raise HTTPException(404, f"no target {name}")
    shown = state.set_paused(name, True, f"paused by {principal.actor}")
    audit(principal, "target.pause", name, result="ok")
    return shown


@router.post("/targets/{name}/resume")
def resume_target(request: Request, name: str) -> dict[str, Any]:
    """Resume a paused target, or re-enable a disabled one (the breaker is reset too)."""
    principal = require_operator(request, "target.resume", name)
    if name not in configured_targets():
        raise HTTPException(404, f"no target {name}")
    from services.publish.limits import Limits

    shown = state.enable(name)
    Limits(name).reset()
    audit(principal, "target.resume", name, result="ok")
    _kick([name])
    return shown


@router.get("/articles/{article_id}/explain")
def explain_article(article_id: str) -> dict[str, Any]:
    """For every version and target: sent or not, the rule that decided, and what came of it."""
    found = explain(article_id)
    if found is None:
        raise HTTPException(404, f"no article {article_id}")
    return found


class Note(BaseModel):
    model_config = ConfigDict(extra="forbid")
    note: str | None = Field(None, max_length=2000)


def _lifecycle(request: Request, article_id: str, body: Note | None, kind: str) -> dict[str, Any]:
    principal = require_operator(request, f"article.{kind}", article_id)
    act = lifecycle.retract if kind == "retract" else lifecycle.correct
    try:
        result = act(article_id, configured_targets(), note=body.note if body else None, actor=principal.actor)
    except PermanentError as exc:
        audit(principal, f"article.{kind}", article_id, result="error", message=str(exc))
        raise HTTPException(404, str(exc)) from exc
    audit(principal, f"article.{kind}", article_id, result="ok", detail=result.to_dict())
    _kick(result.targets)
    return result.to_dict()


@router.post("/articles/{article_id}/retract")
async def retract_article(request: Request, article_id: str, body: Note | None = None) -> dict[str, Any]:
    return await run_in_threadpool(_lifecycle, request, article_id, body, "retract")


@router.post("/articles/{article_id}/correct")
async def correct_article(request: Request, article_id: str, body: Note | None = None) -> dict[str, Any]:
    return await run_in_threadpool(_lifecycle, request, article_id, body, "correct")


def _aware(when: datetime | None) -> datetime | None:
    from datetime import timezone

    return when.replace(tzinfo=timezone.utc) if when is not None and when.tzinfo is None else when


@router.get("/deliveries", summary="Deliveries: filter by status, target, article, time; cursor paging")
def list_deliveries(status: str | None = Query(None, max_length=50), target: str | None = Query(None, max_length=200),
                    article_id: str | None = Query(None, max_length=200), since: datetime | None = None,
                    until: datetime | None = None, limit: int = Query(100, ge=1, le=1000),
                    cursor: str | None = Query(None, max_length=512)) -> dict[str, Any]:
    """Newest first; ``since``/``until`` bound the creation time (ISO 8601, UTC when no offset is given)."""
    from services.api import paging

    before = paging.int_key(paging.decode(cursor, "before"), "before")
    with session_scope() as session:
        query = (select(Delivery, ArticleVersion.article_id, ArticleVersion.version)
                 .join(ArticleVersion, ArticleVersion.id == Delivery.version_id)
                 .order_by(Delivery.id.desc()).limit(limit + 1))
        if status:
            query = query.where(Delivery.status == status)
        if target:
            query = query.where(Delivery.target == target)
        if article_id:
            query = query.where(ArticleVersion.article_id == article_id)
        if since:
            query = query.where(Delivery.created_at >= _aware(since))
        if until:
            query = query.where(Delivery.created_at < _aware(until))
        if before is not None:
            query = query.where(Delivery.id < before)
        rows, next_cursor = paging.page(session.execute(query).all(), limit,
                                        lambda row: paging.encode(before=row[0].id))
        items = [{"id": d.id, "article_id": article_id, "version": version, "target": d.target, "event": d.event,
                  "key": d.idempotency_key, "status": d.status, "attempts": d.attempts,
                  "last_status_code": d.last_status_code, "last_error": d.last_error,
                  "created_at": d.created_at.isoformat(),
                  "delivered_at": d.delivered_at.isoformat() if d.delivered_at else None}
                 for d, article_id, version in rows]
    return {"items": items, "next_cursor": next_cursor}


class ReplayBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    ids: list[int] | None = Field(None, max_length=10000)
    target: str | None = None
    since: datetime | None = None
    until: datetime | None = None


@router.post("/deliveries/replay")
def replay_deliveries(request: Request, body: ReplayBody) -> dict[str, Any]:
    """Failed deliveries sent again with a fresh schedule: by ids, or by range (target, created since/until)."""
    principal = require_operator(request, "deliveries.replay", body.target or (str(body.ids) if body.ids else "all"))
    if body.ids:
        count, targets = replay.replay_ids_count(body.ids)
    else:
        count, targets = replay.replay_range(body.target, _aware(body.since), _aware(body.until))
    audit(principal, "deliveries.replay", body.target, result="ok",
          detail={"ids": body.ids, "since": str(body.since), "until": str(body.until), "count": count})
    _kick(targets)
    return {"replayed": count, "targets": targets}


@router.post("/console/api/targets/{name}/{verb}", tags=["console"])
async def console_target_action(request: Request, name: str, verb: str):  # noqa: ANN201
    """The console's pause / resume buttons (form or JSON; operator token, csrf proof for cookies)."""
    from fastapi.responses import JSONResponse

    from services.api.console.routes import _back, _form, _is_form

    if verb not in ("pause", "resume"):
        raise HTTPException(404, "target actions: pause, resume")
    body = await _form(request)
    principal = await run_in_threadpool(require_operator, request, f"target.{verb}", name, body.get("csrf"))
    if name not in configured_targets():
        raise HTTPException(404, f"no target {name}")
    if verb == "pause":
        shown = await run_in_threadpool(state.set_paused, name, True, f"paused by {principal.actor}")
    else:
        from services.publish.limits import Limits

        shown = await run_in_threadpool(state.enable, name)
        await run_in_threadpool(Limits(name).reset)
        await run_in_threadpool(_kick, [name])
    await run_in_threadpool(audit, principal, f"target.{verb}", name, result="ok")
    if _is_form(request):
        return _back(request, body, f"target {name}: {verb} done")
    return JSONResponse(shown)
