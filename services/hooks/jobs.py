"""Jobs: work accepted from a hook, stored in the database before it is queued.

States: ``pending`` (stored; not handed to the broker yet, or handing it failed), ``queued`` (a task message is
on the broker), ``running`` (a worker holds it, with a lease), ``done`` (with a result), ``failed`` (with an
error). A worker takes a job by compare-and-set, so a message delivered twice runs the job once; what a job does
is idempotent besides (a republication is keyed by the job's key).

Nothing accepted is lost if Redis or a worker is down at that moment: the sweep (Celery beat, every minute)
queues again what is ``pending``, what stayed ``queued`` too long (a message lost with Redis), and what is
``running`` past its lease (a worker killed).
"""

from __future__ import annotations

import base64
import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select, update

from shared.errors import NewswireError
from shared.payload import utcnow
from shared.store import session_scope
from shared.store.models import Job
from shared.telemetry import get_logger

log = get_logger(__name__)

STATES = ("pending", "queued", "running", "done", "failed")
TASK = "hooks.run_job"
QUEUE = "publish"  # the job itself is light: it calls the stages' functions and hands work on
LEASE = timedelta(minutes=5)  # longer than a task's hard time limit
PENDING_GRACE = timedelta(seconds=5)  # a job just stored is being queued by whoever stored it
REQUEUE_AFTER = timedelta(minutes=10)  # queued this long and not started: the message may be lost
MAX_ATTEMPTS = 5
JOBS_KEPT_DAYS = 30  # finished jobs are kept this long for operators (GET /jobs), then forgotten


def new_id() -> str:
    return uuid.uuid4().hex


def create(session: Any, kind: str, params: dict[str, Any], *, key: str | None = None, body_sha256: str | None = None,
           hook: str | None = None, actor: str | None = None, job_id: str | None = None) -> Job:
    """Add a job to the caller's transaction (stored with the request that asked for it)."""
    now = utcnow()
    job = Job(id=job_id or new_id(), kind=kind, params=params, status="pending", key=key, body_sha256=body_sha256,
              hook=hook, actor=(actor or "")[:160] or None, attempts=0, created_at=now, updated_at=now)
    session.add(job)
    return job


def enqueue(job_id: str) -> bool:
    """Hand the job to the broker; True if it is now queued. On failure it stays pending for the sweep."""
    try:
        from shared.celery_app import app as celery

        celery.send_task(TASK, args=[job_id], queue=QUEUE, retry=True,
                         retry_policy={"max_retries": 1, "interval_start": 0.2, "interval_step": 0.2,
                                       "interval_max": 0.5})
    except Exception as exc:  # noqa: BLE001  (the broker is down: the store keeps the job)
        log.warning("job %s stored, not queued (the sweep will queue it): %s", job_id, exc)
        return False
    try:
        with session_scope() as session:
            now = utcnow()
            session.execute(update(Job).where(Job.id == job_id, Job.status.in_(("pending", "queued")))
                            .values(status="queued", queued_at=now, updated_at=now)
                            .execution_options(synchronize_session=False))
    except Exception as exc:  # noqa: BLE001  (the message is out; the worker's claim moves it on anyway)
        log.warning("job %s queued, state not written: %s", job_id, exc)
    return True


def claim(job_id: str) -> Job | None:
    """Take the job (pending/queued, or running past its lease); None if another took it or it is finished."""
    now = utcnow()
    takeable = or_(Job.status.in_(("pending", "queued")), and_(Job.status == "running", Job.lease_until < now))
    with session_scope() as session:
        taken = session.execute(
            update(Job).where(Job.id == job_id, takeable)
            .values(status="running", started_at=now, updated_at=now, lease_until=now + LEASE,
                    attempts=Job.attempts + 1)
            .execution_options(synchronize_session=False)
        ).rowcount
        if not taken:
            return None
        job = session.get(Job, job_id)
        session.expunge(job)
        return job


def finish(job_id: str, *, result: dict[str, Any] | None = None, error: str | None = None,
           retry: bool = False, attempts: int = 0) -> str:
    now = utcnow()
    if error is not None and retry and attempts < MAX_ATTEMPTS:
        status = "pending"  # the sweep queues it again
    else:
        status = "failed" if error is not None else "done"
    with session_scope() as session:
        session.execute(update(Job).where(Job.id == job_id, Job.status == "running")
                        .values(status=status, result=result, error=(error or "")[:4000] or None, updated_at=now,
                                lease_until=None, finished_at=now if status in ("done", "failed") else None)
                        .execution_options(synchronize_session=False))
    return status


def run(job_id: str) -> dict[str, Any]:
    """What the task does: claim, act, record the outcome."""
    from services.hooks.actions import perform

    job = claim(job_id)
    if job is None:
        return {"job": job_id, "status": "not-taken"}
    try:
        result = perform(job)
    except NewswireError as exc:
        status = finish(job_id, error=exc.reason, retry=exc.transient, attempts=job.attempts)
        return {"job": job_id, "status": status, "error": exc.reason}
    except (ValueError, LookupError) as exc:
        status = finish(job_id, error=f"{type(exc).__name__}: {exc}")
        return {"job": job_id, "status": status}
    except Exception as exc:  # noqa: BLE001  (the store or the broker failing: try again later)
        log.exception("job %s (%s) failed, will be retried", job_id, job.kind)
        status = finish(job_id, error=f"{type(exc).__name__}: {exc}", retry=True, attempts=job.attempts)
        return {"job": job_id, "status": status}
    finish(job_id, result=result)
    return {"job": job_id, "status": "done"}


def due_for_sweep(now: datetime | None = None, limit: int = 500) -> list[str]:
    now = now or utcnow()
    with session_scope() as session:
        return list(session.execute(
            select(Job.id).where(or_(
                and_(Job.status == "pending", Job.updated_at < now - PENDING_GRACE),
                and_(Job.status == "queued", Job.updated_at < now - REQUEUE_AFTER),
                and_(Job.status == "running", Job.lease_until < now),
            )).order_by(Job.created_at).limit(limit)
        ).scalars())


def sweep(now: datetime | None = None) -> int:
    """Queue again the jobs that need it; returns how many were handed to the broker."""
    sent = 0
    for job_id in due_for_sweep(now):
        if not enqueue(job_id):
            break  # the broker is still down: the next sweep tries again
        sent += 1
    return sent


# -- reading --------------------------------------------------------------------------------------------------
def prune_finished(days: int = JOBS_KEPT_DAYS, now: datetime | None = None) -> int:
    """Forget jobs that finished (``done`` or ``failed``) more than ``days`` ago; pending, queued and running jobs
    are never forgotten. A replayed hook call cannot revive a forgotten job: its timestamp is refused long before
    (the tolerance is minutes), so the job's unique key is not needed past that."""
    from sqlalchemy import delete

    cutoff = (now or utcnow()) - timedelta(days=days)
    with session_scope() as session:
        return session.execute(delete(Job).where(Job.status.in_(("done", "failed")), Job.finished_at < cutoff)
                               .execution_options(synchronize_session=False)).rowcount


def view(job: Job) -> dict[str, Any]:
    params = dict(job.params or {})
    if "body" in params:  # a pushed body is in the blob store; the job only names it
        params.pop("body")
    return {
        "id": job.id, "kind": job.kind, "status": job.status, "params": params, "hook": job.hook,
        "actor": job.actor, "attempts": job.attempts, "result": job.result, "error": job.error,
        "created_at": job.created_at.isoformat(), "updated_at": job.updated_at.isoformat(),
        "queued_at": job.queued_at.isoformat() if job.queued_at else None,
        "started_at": job.started_at.isoformat() if job.started_at else None,
        "finished_at": job.finished_at.isoformat() if job.finished_at else None,
    }


def get(job_id: str) -> dict[str, Any] | None:
    with session_scope() as session:
        job = session.get(Job, job_id[:36])
        if job is None:
            return None
        shown = view(job)
    fetch_id = (shown["result"] or {}).get("fetch_id")
    if fetch_id:
        from shared.jobs import get_fetch_state

        try:
            shown["fetch"] = get_fetch_state(fetch_id)
        except Exception:  # noqa: BLE001  (Redis down: the job's own state is still the answer)
            shown["fetch"] = None
    return shown


def _cursor(job: Job) -> str:
    return base64.urlsafe_b64encode(f"{job.created_at.isoformat()}|{job.id}".encode()).decode()


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    when, job_id = base64.urlsafe_b64decode(cursor.encode()).decode().split("|", 1)
    return datetime.fromisoformat(when), job_id


def listing(*, status: str | None = None, kind: str | None = None, hook: str | None = None, limit: int = 50,
            cursor: str | None = None) -> dict[str, Any]:
    """Newest first; ``next_cursor`` pages on."""
    with session_scope() as session:
        query = select(Job).order_by(Job.created_at.desc(), Job.id.desc()).limit(limit + 1)
        if status:
            query = query.where(Job.status == status)
        if kind:
            query = query.where(Job.kind == kind)
        if hook:
            query = query.where(Job.hook == hook)
        if cursor:
            when, job_id = decode_cursor(cursor)
            query = query.where(or_(Job.created_at < when, and_(Job.created_at == when, Job.id < job_id)))
        rows = list(session.execute(query).scalars())
        items = [view(job) for job in rows[:limit]]
        next_cursor = _cursor(rows[limit - 1]) if len(rows) > limit else None
    return {"items": items, "next_cursor": next_cursor}
