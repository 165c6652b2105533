"""Hook jobs as Celery tasks: the thin shell around services.hooks.jobs (on the publish queue)."""

from __future__ import annotations

from shared.celery_app import app
from services.hooks import jobs


@app.task(name="hooks.run_job", stage="publish")
def run_job(job_id: str) -> dict:
    """Run one stored job (taken by compare-and-set: a message delivered twice runs it once)."""
    return jobs.run(job_id)


@app.task(name="hooks.sweep_jobs", stage="publish")
def sweep_jobs() -> int:
    """Queue again the jobs the broker never got, lost, or whose worker died (Celery beat, every minute); forget
    hook calls older than 30 days and jobs that finished more than 30 days ago."""
    from services.hooks.intake import prune_calls

    prune_calls()
    jobs.prune_finished()
    return jobs.sweep()
