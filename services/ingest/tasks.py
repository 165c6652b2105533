"""Ingest tasks: the thin shell around services.ingest (service, poll, scheduling, websub)."""

from __future__ import annotations

from shared.celery_app import app
from shared.jobs import set_fetch_state
from shared.payload import ArticlePayload, IngestRequest, TraceEntry, utcnow
from shared.stage_task import StageTask
from shared.telemetry import get_logger, worker_name
from services.ingest import service
from services.ingest.politeness import PolitenessBusy

log = get_logger(__name__)


def send_on(outcome: service.IngestOutcome, started, attempt: int) -> None:  # noqa: ANN001
    """Hand the outcome on: articles to clean, follow-ups back to ingest (after the store committed); then, and
    only then, record what a poll or push took as seen (a worker dying before that leaves it to the redelivery)."""
    from services.clean.tasks import process as clean_process

    for payload in outcome.articles:
        payload.trace.append(TraceEntry(stage="ingest", worker=worker_name(), start=started, finish=utcnow(),
                                        attempt=attempt))
        clean_process.delay(payload.to_message())
    for followup in outcome.followups:
        fetch.delay(followup.to_message())
    outcome.confirm()


@app.task(bind=True, base=StageTask, name="ingest.fetch", stage="ingest")
def fetch(self: StageTask, message: dict) -> dict:
    started = utcnow()
    try:
        request = IngestRequest.model_validate(message)
        outcome = service.ingest(request)
    except PolitenessBusy as busy:
        # The host's slots are taken: put the fetch back for later without spending one of its attempts.
        fetch.apply_async(args=[message], countdown=busy.retry_after)
        return {"status": "deferred", "reason": busy.reason}
    except Exception as exc:  # noqa: BLE001
        self.fail(exc, message)
        return {"status": "failed"}
    send_on(outcome, started, self.request.retries + 1)
    poll = outcome.poll
    if poll is not None:
        state = {"failed": "failed", "skipped": "skipped"}.get(poll.status, "feed")
        set_fetch_state(request.fetch_id, state, title=outcome.feed_title, children=poll.children,
                        skipped=outcome.skipped, source_id=poll.source_id, new=poll.new, updated=poll.updated,
                        unchanged=poll.unchanged, error=poll.error, poll=poll.status)
        return {"status": poll.status, "new": poll.new, "updated": poll.updated, "unchanged": poll.unchanged,
                "error": poll.error}
    if outcome.followups or not outcome.articles:
        set_fetch_state(request.fetch_id, "feed", title=outcome.feed_title,
                        children=[f.fetch_id for f in outcome.followups], skipped=outcome.skipped)
    return {"articles": [p.id for p in outcome.articles], "followups": len(outcome.followups), "skipped": outcome.skipped}


@app.task(bind=True, base=StageTask, name="ingest.poll_sources", stage="ingest", tracked_in_store=True)
def poll_sources(self: StageTask) -> int:
    """The scheduler's tick: every source now due is polled (claimed atomically in Redis); WebSub leases renewed."""
    from services.ingest import scheduling

    _drop_folder_source()
    scheduling.adopt_unscheduled()
    due = scheduling.claim_due()
    for source_id in due:
        fetch.delay(IngestRequest(source_id=source_id, source_poll=True).to_message())
    try:
        from services.ingest import websub

        websub.renew_due()
    except Exception as exc:  # noqa: BLE001
        log.warning("WebSub renewal pass failed: %s", exc)
    return len(due)


def _drop_folder_source() -> None:
    """NEWSWIRE_INGEST_DROP_DIR names a folder: it is a "dir" source (added once, polled like any other)."""
    from shared.settings import get_settings

    folder = get_settings().ingest_drop_dir
    if folder is None:
        return
    from services.ingest import sources

    folder.mkdir(parents=True, exist_ok=True)
    if not sources.list_sources(kind="dir", q=str(folder.resolve()))["items"]:
        try:
            sources.add(str(folder.resolve()), kind="dir", name="drop folder", interval=60)
        except sources.SourceError as exc:
            log.warning("drop folder %s not added: %s", folder, exc)


@app.task(bind=True, base=StageTask, name="ingest.push", stage="ingest")
def push(self: StageTask, message: dict) -> dict:
    """Items pushed to a source (POST /sources/{id}/push, a WebSub notification): kept if new, handed on."""
    started = utcnow()
    try:
        from services.ingest.push import take_push

        outcome = take_push(message)
    except Exception as exc:  # noqa: BLE001
        self.fail(exc, message)
        return {"status": "failed"}
    send_on(outcome, started, self.request.retries + 1)
    set_fetch_state(message.get("fetch_id") or "", "feed", title=outcome.feed_title,
                    children=[p.fetch_id for p in outcome.articles] + [r.fetch_id for r in outcome.followups],
                    skipped=outcome.skipped)
    return {"articles": len(outcome.articles), "followups": len(outcome.followups)}


__all__ = ["fetch", "poll_sources", "push", "ArticlePayload"]
