"""Ingest tasks: the thin shell around services.ingest.service."""

from __future__ import annotations

from shared.celery_app import app
from shared.jobs import set_fetch_state
from shared.payload import IngestRequest, TraceEntry, utcnow
from shared.stage_task import StageTask
from shared.telemetry import worker_name
from services.ingest import service


@app.task(bind=True, base=StageTask, name="ingest.fetch", stage="ingest")
def fetch(self: StageTask, message: dict) -> dict:
    started = utcnow()
    try:
        request = IngestRequest.model_validate(message)
        outcome = service.ingest(request)
    except Exception as exc:  # noqa: BLE001
        if isinstance(message, dict) and message.get("source_poll") and message.get("source_id") \
                and not self.will_retry(exc):
            service.record_source_fetch(message["source_id"], str(exc))
        self.fail(exc, message)
        return {"status": "failed"}
    if request.source_poll and request.source_id:
        service.record_source_fetch(request.source_id, None, outcome.feed_title)
    from services.clean.tasks import process as clean_process

    for payload in outcome.articles:
        payload.trace.append(
            TraceEntry(stage="ingest", worker=worker_name(), start=started, finish=utcnow(), attempt=self.request.retries + 1)
        )
        clean_process.delay(payload.to_message())
    for followup in outcome.followups:
        fetch.delay(followup.to_message())
    if outcome.followups or not outcome.articles:
        set_fetch_state(request.fetch_id, "feed", title=outcome.feed_title,
                        children=[f.fetch_id for f in outcome.followups], skipped=outcome.skipped)
    return {"articles": [p.id for p in outcome.articles], "followups": len(outcome.followups), "skipped": outcome.skipped}


@app.task(bind=True, base=StageTask, name="ingest.poll_sources", stage="ingest")
def poll_sources(self: StageTask) -> int:
    due = service.due_sources()
    for source_id, url in due:
        fetch.delay(IngestRequest(url=url, source_id=source_id, source_poll=True).to_message())
    return len(due)

