"""Enrich tasks: the thin shell around services.enrich.service."""

from __future__ import annotations

from shared.celery_app import app
from shared.payload import ArticlePayload, TraceEntry, utcnow
from shared.stage_task import StageTask
from shared.telemetry import worker_name
from services.enrich.service import enrich


@app.task(bind=True, base=StageTask, name="enrich.process", stage="enrich")
def process(self: StageTask, message: dict) -> dict:
    started = utcnow()
    try:
        payload = ArticlePayload.from_message(message)
        payload.trace.append(TraceEntry(stage="enrich", worker=worker_name(), start=started, attempt=self.request.retries + 1))
        payload = enrich(payload)
    except Exception as exc:  # noqa: BLE001
        self.fail(exc, message)
        return {"status": "failed"}
    payload.trace[-1].finish = utcnow()
    from services.publish.tasks import process as publish_process

    publish_process.delay(payload.to_message())
    return {"status": "enriched", "language": payload.enrich.language if payload.enrich else None}
