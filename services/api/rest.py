"""REST resources of issue 6 beside the older ones: dead letters (list, show, replay, discard, one or in bulk) and
stages (their queues: list, pause, resume).

Reads need any token (the gate in services/api/auth.py); actions need an operator token and are audited with who,
what, when and the result, refusals included (services/api/console/access.py). The actions reuse the console's
(services/api/console/actions.py), so the API, the console and the CLI do the same thing.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, HTTPException, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from shared.settings import STAGES
from shared.store import DeadLetter, session_scope
from services.api import paging
from services.api.console import actions
from services.api.console.access import Principal, audit, require_operator
from services.api.console.data import LetterFilter, letter_dict

router = APIRouter()
StageName = Literal["ingest", "clean", "enrich", "publish"]
assert set(StageName.__args__) == set(STAGES)  # type: ignore[attr-defined]


# -- dead letters ----------------------------------------------------------------------------------------
class LetterQuery(BaseModel):
    """Which dead letters: every field narrows the selection (all given must match)."""

    model_config = ConfigDict(extra="forbid")
    stage: StageName | None = None
    source: str | None = Field(None, max_length=4096, description="a source id, or text in the URL")
    target: str | None = Field(None, max_length=200, description="the publish target a delivery letter is for")
    error: str | None = Field(None, max_length=2000, description="text in the error or its type")
    status: Literal["open", "replayed", "discarded", "any"] | None = Field(
        None, description="default: open (for bulk actions); lists default to any")
    article_id: str | None = Field(None, max_length=200)
    since: datetime | None = Field(None, description="created at or after (ISO 8601)")
    from_id: int | None = Field(None, ge=0)
    to_id: int | None = Field(None, ge=0)


def letter_filter(query: LetterQuery) -> LetterFilter:
    return LetterFilter(**query.model_dump(exclude_none=True))


@router.get("/dead-letters", tags=["dead letters"], summary="List dead letters (filter, cursor paging)")
def list_dead_letters(
    stage: StageName | None = None,
    source: str | None = Query(None, max_length=4096, description="a source id, or text in the URL"),
    target: str | None = Query(None, max_length=200),
    error: str | None = Query(None, max_length=2000, description="text in the error or its type"),
    status: Literal["open", "replayed", "discarded", "any"] = "any",
    article_id: str | None = Query(None, max_length=200),
    since: datetime | None = None,
    limit: int = paging.LIMIT,
    cursor: str | None = paging.CURSOR,
) -> dict[str, Any]:
    """Newest first. Each item has its payload, error and attempts; ``next_cursor`` pages on."""
    flt = letter_filter(LetterQuery(stage=stage, source=source, target=target, error=error, status=status,
                                    article_id=article_id, since=since))
    before = paging.int_key(paging.decode(cursor, "before"), "before")
    with session_scope() as session:
        query = flt.query().order_by(DeadLetter.id.desc()).limit(limit + 1)
        if before is not None:
            query = query.where(DeadLetter.id < before)
        rows = list(session.execute(query).scalars())
        shown, next_cursor = paging.page(rows, limit, lambda row: paging.encode(before=row.id))
        items = [letter_dict(letter) for letter in shown]
    return {"items": items, "next_cursor": next_cursor, "filter": flt.as_dict()}


@router.get("/dead-letters/{letter_id}", tags=["dead letters"], summary="One dead letter: payload and error")
def show_dead_letter(letter_id: int = Path(..., ge=1, le=2**62)) -> dict[str, Any]:
    with session_scope() as session:
        letter = session.get(DeadLetter, letter_id)
        if letter is None:
            raise HTTPException(404, f"no dead letter {letter_id}")
        shown = letter_dict(letter)
        shown["replayable"] = letter.status != "discarded"
        return shown


class BulkBody(BaseModel):
    """By ids, or by filter (every open letter matching it, at most 1000 at a time: ``more_remain`` says so)."""

    model_config = ConfigDict(extra="forbid")
    ids: list[int] | None = Field(None, max_length=10000)
    filter: LetterQuery | None = None


def _act(principal: Principal, name: str, ids: list[int], subject: str, flt: LetterFilter | None) -> JSONResponse:
    if not ids:
        audit(principal, f"dead_letter.{name}", subject, result="error", message="nothing selected")
        raise HTTPException(422, "no dead letters given or matching (ids, or filter)")
    result = (actions.replay if name == "replay" else actions.discard)(ids)
    outcome = "ok" if not result.failed else ("error" if not result.done else "partial")
    audit(principal, f"dead_letter.{name}", subject, result=outcome,
          detail={**result.as_dict(), "filter": flt.as_dict() if flt else None},
          message=f"{len(result.done)} {name}ed, {len(result.failed)} refused")
    status = 200 if result.done or not result.failed else (404 if all("no dead letter" in m for m in
                                                                        result.failed.values()) else 409)
    return JSONResponse(result.as_dict(), status_code=status)


def _bulk(request: Request, name: str, body: BulkBody) -> JSONResponse:
    if (body.ids is None) == (body.filter is None):
        require_operator(request, f"dead_letter.{name}", "invalid request")
        raise HTTPException(422, "give either ids or filter")
    if body.filter is not None:
        flt = letter_filter(body.filter)
        subject = "filter " + str(flt.as_dict())
        principal = require_operator(request, f"dead_letter.{name}", subject)
        ids = actions.matching_ids(flt)
    else:
        flt, ids = None, list(dict.fromkeys(body.ids or []))
        subject = "dead letters " + ",".join(map(str, ids[:50])) + ("…" if len(ids) > 50 else "")
        principal = require_operator(request, f"dead_letter.{name}", subject)
    return _act(principal, name, ids, subject, flt)


@router.post("/dead-letters/replay", tags=["dead letters"], summary="Replay dead letters by ids or filter")
async def replay_dead_letters(request: Request, body: BulkBody) -> JSONResponse:
    """Each goes back to its task with its stored arguments (a failed delivery is set back to pending).
    Answers ``{done, failed, count, more_remain}``."""
    return await run_in_threadpool(_bulk, request, "replay", body)


@router.post("/dead-letters/discard", tags=["dead letters"], summary="Discard dead letters by ids or filter")
async def discard_dead_letters(request: Request, body: BulkBody) -> JSONResponse:
    return await run_in_threadpool(_bulk, request, "discard", body)


def _one(request: Request, name: str, letter_id: int) -> JSONResponse:
    subject = f"dead letters {letter_id}"
    principal = require_operator(request, f"dead_letter.{name}", subject)
    return _act(principal, name, [letter_id], subject, None)


@router.post("/dead-letters/{letter_id}/replay", tags=["dead letters"], summary="Replay one dead letter")
async def replay_dead_letter(request: Request, letter_id: int = Path(..., ge=1, le=2**62)) -> JSONResponse:
    return await run_in_threadpool(_one, request, "replay", letter_id)


@router.post("/dead-letters/{letter_id}/discard", tags=["dead letters"], summary="Discard one dead letter")
async def discard_dead_letter(request: Request, letter_id: int = Path(..., ge=1, le=2**62)) -> JSONResponse:
    return await run_in_threadpool(_one, request, "discard", letter_id)


# -- stages ------------------------------------------------------------------------------------------------
@router.get("/stages", tags=["stages"], summary="Every stage: paused or not, its queue, its workers")
def list_stages() -> dict[str, Any]:
    from shared import stage_control

    view = stage_control.stages_view()
    return {"items": [view[stage] for stage in STAGES], "next_cursor": None}


class PauseBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str | None = Field(None, max_length=500)


def _stage_action(request: Request, stage: str, verb: str, reason: str | None) -> dict[str, Any]:
    from shared import stage_control

    principal = require_operator(request, f"stage.{verb}", stage)
    try:
        if verb == "pause":
            shown = stage_control.pause(stage, principal.actor, reason)
        else:
            shown = stage_control.resume(stage, principal.actor)
    except Exception as exc:
        audit(principal, f"stage.{verb}", stage, result="error", message=f"{type(exc).__name__}: {exc}")
        raise
    audit(principal, f"stage.{verb}", stage, result="ok", detail={"reason": reason} if reason else None)
    return shown


@router.post("/stages/{stage}/pause", tags=["stages"], summary="Pause a stage's queue on every host")
async def pause_stage(request: Request, stage: StageName, body: PauseBody | None = None) -> dict[str, Any]:
    """Its workers stop taking messages (now, and after a restart); messages stay queued until resume."""
    return await run_in_threadpool(_stage_action, request, stage, "pause", body.reason if body else None)


@router.post("/stages/{stage}/resume", tags=["stages"], summary="Resume a paused stage's queue")
async def resume_stage(request: Request, stage: StageName) -> dict[str, Any]:
    return await run_in_threadpool(_stage_action, request, stage, "resume", None)
