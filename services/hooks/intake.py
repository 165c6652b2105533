"""One inbound hook call, from bytes to an answer. Order:

1. the hook exists (404) and the body is within its limit (413);
2. the signature verifies with an active secret and the timestamp is within +/- 5 minutes (400/401);
3. the body is a JSON object of the documented shape (400/422) asking an action the hook allows (403);
4. the webhook-id was not seen before: a repeat answers 200 with the first call's job and does nothing again;
   the same id with another body is refused (409). Seen ids are kept in Redis for ``REPLAY_TTL`` (longer than
   the tolerance) and, for good, as the job's unique key in the store (Redis may lose them; the store does not);
5. the request (job row, pushed body as a blob) is stored and committed, then queued (202 with the job id).
   If the broker is down the job stays ``pending`` and the sweep queues it later: nothing accepted is lost.

Every call, whatever its verdict, is written to ``hook_calls`` (never with a secret or a signature).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, Mapping

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from shared.payload import utcnow
from shared.settings import get_settings
from shared.store import session_scope
from shared.store.models import HookCall, Job
from shared.telemetry import get_logger
from services.hooks import config, jobs
from services.hooks.actions import HookPayload, params_for
from services.hooks.verify import Refused, message_id, verify

log = get_logger(__name__)

REPLAY_TTL = 15 * 60  # seconds a webhook-id stays in Redis: three times the timestamp tolerance
REDIS_PREFIX = "newswire:hooks:seen"


@dataclass
class Answer:
    status: int
    body: dict[str, Any]
    call_id: int | None = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Call:
    hook: str
    headers: Mapping[str, str]  # lower-case names
    body: bytes | None  # None: larger than the API would read
    size: int
    remote_addr: str | None = None


def default_limit() -> int:
    return get_settings().hooks_max_body_bytes


def limit_for(name: str) -> int:
    """How many body bytes the API should read for this hook (the hook's own limit, within the global one)."""
    found = config.verifier(name) if config.NAME.match(name or "") else None
    ceiling = default_limit()
    return min(found.max_body_bytes or ceiling, ceiling) if found else ceiling


def _log_call(call: Call, verdict: str, status: int, reason: str | None, *, webhook_id: str | None = None,
              action: str | None = None, subject: str | None = None, job_id: str | None = None,
              secret: str | None = None, body_sha256: str | None = None, session: Any = None) -> int | None:
    row = HookCall(hook=_printable(call.hook)[:64], webhook_id=(webhook_id or "")[:255] or None, received_at=utcnow(),
                   verdict=verdict, status_code=status, reason=(reason or "")[:2000] or None, action=action,
                   subject=(subject or "")[:2000] or None, job_id=job_id, secret=secret,
                   remote_addr=(call.remote_addr or "")[:64] or None, body_bytes=call.size, body_sha256=body_sha256)
    log.info("hook call %r: %s %s%s", call.hook[:64], verdict, status, f" ({reason})" if reason else "",
             extra={"hook": call.hook[:64], "webhook_id": webhook_id, "job_id": job_id, "verdict": verdict})
    from shared import metrics

    metrics.inc("hook_calls", hook=call.hook[:64] if status != 404 else "(unknown)", verdict=verdict)
    if session is not None:
        session.add(row)
        session.flush()
        return row.id
    try:
        with session_scope() as own:
            own.add(row)
            own.flush()
            return row.id
    except Exception as exc:  # noqa: BLE001  (the answer stands; the log line above says what happened)
        log.error("hook call of %s not recorded: %s", call.hook[:64], exc)
        return None


def _printable(text: str) -> str:
    """The store (PostgreSQL) refuses NUL in text: a hostile hook name is kept with it escaped."""
    return text.replace("\x00", "\\x00")


def _refuse(call: Call, status: int, reason: str, **extra: Any) -> Answer:
    call_id = _log_call(call, "refused", status, reason, **extra)
    return Answer(status, {"detail": reason, "status": "refused", "call_id": call_id}, call_id)


def _seen_key(hook_id: int, webhook_id: str) -> str:
    return f"{REDIS_PREFIX}:{hook_id}:{hashlib.sha256(webhook_id.encode()).hexdigest()}"


def _redis_seen(hook_id: int, webhook_id: str) -> tuple[str, str] | None:
    """(job id, body sha256) of a call with this id seen lately, from Redis; None if not seen or Redis is down."""
    from shared.redis_client import get_redis

    try:
        value = get_redis().get(_seen_key(hook_id, webhook_id))
    except Exception:  # noqa: BLE001  (Redis down: the store's unique key still catches a replay)
        return None
    if not value:
        return None
    job_id, _, body_sha = value.decode().partition(" ")
    return job_id, body_sha


def _remember(hook_id: int, webhook_id: str, job_id: str, body_sha: str) -> None:
    from shared.redis_client import get_redis

    try:
        get_redis().set(_seen_key(hook_id, webhook_id), f"{job_id} {body_sha}", ex=REPLAY_TTL, nx=True)
    except Exception as exc:  # noqa: BLE001
        log.warning("webhook-id not remembered in Redis (the store has it): %s", exc)


def _duplicate(call: Call, job_id: str, job_sha: str | None, body_sha: str, webhook_id: str, secret: str,
               action: str | None, subject: str | None) -> Answer:
    if job_sha and job_sha != body_sha:
        return _refuse(call, 409, "this webhook-id was used before with a different body",
                       webhook_id=webhook_id, secret=secret, action=action, subject=subject, body_sha256=body_sha)
    status = None
    with session_scope() as session:
        job = session.get(Job, job_id)
        status = job.status if job is not None else None
    reason = "webhook-id seen before: not acted on again"
    call_id = _log_call(call, "duplicate", 200, reason, webhook_id=webhook_id, action=action, subject=subject,
                        job_id=job_id, secret=secret, body_sha256=body_sha)
    return Answer(200, {"status": "duplicate", "detail": reason, "job_id": job_id, "job_status": status,
                        "call_id": call_id}, call_id)


def receive(call: Call) -> Answer:
    """The whole of POST /hooks/{hook}; never raises for bad input (the store being down raises)."""
    hook = config.verifier(call.hook) if config.NAME.match(call.hook or "") else None
    if hook is None:
        return _refuse(call, 404, f"no hook named {call.hook[:64]!r}")
    limit = min(hook.max_body_bytes or default_limit(), default_limit())
    if call.body is None or call.size > limit:
        return _refuse(call, 413, f"body larger than this hook's limit of {limit} bytes")
    body = call.body
    body_sha = hashlib.sha256(body).hexdigest()
    given_id = message_id(call.headers, hook.scheme)
    try:
        secret = verify(hook.scheme, hook.secrets, call.headers, body)
    except Refused as refused:
        return _refuse(call, refused.status, refused.reason, webhook_id=given_id, body_sha256=body_sha)
    webhook_id = given_id or ""
    config.mark_used(hook.id, secret)
    try:
        data = json.loads(body)
    except (ValueError, RecursionError) as exc:  # RecursionError: arrays or objects nested thousands deep
        return _refuse(call, 400, f"the body is not JSON: {exc}", webhook_id=webhook_id, secret=secret,
                       body_sha256=body_sha)
    if not isinstance(data, dict):
        return _refuse(call, 422, "the body must be a JSON object", webhook_id=webhook_id, secret=secret,
                       body_sha256=body_sha)
    if data.get("action") is None and len(hook.actions) == 1:
        data["action"] = hook.actions[0]
    try:
        payload = HookPayload.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e.get('loc', ())) or 'body'}: {e.get('msg')}"
                             for e in exc.errors()[:10])
        return _refuse(call, 422, f"invalid request: {problems}", webhook_id=webhook_id, secret=secret,
                       body_sha256=body_sha)
    if payload.action is None:
        return _refuse(call, 422, f"action is required: this hook allows {', '.join(hook.actions)}",
                       webhook_id=webhook_id, secret=secret, body_sha256=body_sha)
    action, subject = payload.action, payload.subject()
    if action not in hook.actions:
        return _refuse(call, 403, f"hook {hook.name} may not {action} (allowed: {', '.join(hook.actions)})",
                       webhook_id=webhook_id, secret=secret, action=action, subject=subject, body_sha256=body_sha)
    if action == "republish" and payload.targets is not None and hook.targets is not None:
        outside = [t for t in payload.targets if t not in hook.targets]
        if outside:
            return _refuse(call, 403, f"hook {hook.name} may not republish to {', '.join(outside)} "
                                      f"(allowed: {', '.join(hook.targets)})",
                           webhook_id=webhook_id, secret=secret, action=action, subject=subject, body_sha256=body_sha)
    if action == "ingest" and len(payload.body.encode("utf-8")) > get_settings().max_body_bytes:
        return _refuse(call, 413, f"the pushed body exceeds {get_settings().max_body_bytes} bytes",
                       webhook_id=webhook_id, secret=secret, action=action, subject=subject, body_sha256=body_sha)
    problem = _precheck(payload)
    if problem is not None:
        return _refuse(call, problem[0], problem[1], webhook_id=webhook_id, secret=secret, action=action,
                       subject=subject, body_sha256=body_sha)

    seen = _redis_seen(hook.id, webhook_id)
    if seen is not None:
        return _duplicate(call, seen[0], seen[1], body_sha, webhook_id, secret, action, subject)
    key = f"hook:{hook.id}:{webhook_id}"
    try:
        with session_scope() as session:
            raw_key = None
            if action == "ingest":
                from shared.store.blobs import put_blob

                raw_key = put_blob(session, payload.body.encode("utf-8"), payload.content_type or "text/html")
            job = jobs.create(session, action, params_for(payload, raw_key, hook.targets), key=key,
                              body_sha256=body_sha, hook=hook.name)
            session.flush()  # a replay whose id Redis forgot fails here, on the unique key
            job_id = job.id
            call_id = _log_call(call, "accepted", 202, None, webhook_id=webhook_id, action=action, subject=subject,
                                job_id=job_id, secret=secret, body_sha256=body_sha, session=session)
    except IntegrityError:
        with session_scope() as session:
            first = session.execute(select(Job.id, Job.body_sha256).where(Job.key == key)).first()
        if first is None:
            raise
        _remember(hook.id, webhook_id, first.id, first.body_sha256 or "")
        return _duplicate(call, first.id, first.body_sha256, body_sha, webhook_id, secret, action, subject)
    _remember(hook.id, webhook_id, job_id, body_sha)
    queued = jobs.enqueue(job_id)
    return Answer(202, {"status": "accepted", "job_id": job_id, "job_status": "queued" if queued else "pending",
                        "action": action, "subject": subject, "call_id": call_id,
                        "job_url": f"/jobs/{job_id}"}, call_id, headers={"Location": f"/jobs/{job_id}"})


def _precheck(payload: HookPayload) -> tuple[int, str] | None:
    """What can be known at once about an article asked for (else the job fails later, with its reason)."""
    if payload.action not in ("republish", "retract"):
        if payload.action in ("ingest", "reingest") and payload.source_id is not None:
            from shared.store.models import Source

            with session_scope() as session:
                if session.get(Source, payload.source_id) is None:
                    return 422, f"no source {payload.source_id}"
        return None
    from shared.store import Article

    article_id = payload.article()
    with session_scope() as session:
        if session.get(Article, article_id) is None:
            return 422, f"no article {article_id}"
    if payload.action == "republish" and payload.targets is not None:
        from services.publish.targets import configured_targets

        configured = configured_targets()
        unknown = [t for t in payload.targets if t not in configured]
        if unknown:
            return 422, f"no such target: {', '.join(unknown)}"
    return None


# -- reading the calls ----------------------------------------------------------------------------------------
def call_view(row: HookCall) -> dict[str, Any]:
    return {"id": row.id, "hook": row.hook, "webhook_id": row.webhook_id, "received_at": row.received_at.isoformat(),
            "verdict": row.verdict, "status_code": row.status_code, "reason": row.reason, "action": row.action,
            "subject": row.subject, "job_id": row.job_id, "secret_fingerprint": row.secret,
            "remote_addr": row.remote_addr, "body_bytes": row.body_bytes}


def calls(*, hook: str | None = None, verdict: str | None = None, limit: int = 50,
          before: int | None = None) -> dict[str, Any]:
    """Newest first; page with ``before`` = the last item's id (``next_cursor``)."""
    with session_scope() as session:
        query = select(HookCall).order_by(HookCall.id.desc()).limit(limit + 1)
        if hook:
            query = query.where(HookCall.hook == hook)
        if verdict:
            query = query.where(HookCall.verdict == verdict)
        if before:
            query = query.where(HookCall.id < before)
        rows = list(session.execute(query).scalars())
        items = [call_view(row) for row in rows[:limit]]
    return {"items": items, "next_cursor": str(rows[limit - 1].id) if len(rows) > limit else None}


CALLS_KEPT_DAYS = 30


def prune_calls(days: int = CALLS_KEPT_DAYS) -> int:
    """Forget calls older than ``days`` (a flood of refused calls must not grow the table for ever)."""
    from datetime import timedelta

    from sqlalchemy import delete

    with session_scope() as session:
        return session.execute(delete(HookCall).where(HookCall.received_at < utcnow() - timedelta(days=days))
                               .execution_options(synchronize_session=False)).rowcount
