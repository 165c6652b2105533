"""Enrich tasks: the thin shell around services.enrich.service."""

from __future__ import annotations

from shared.celery_app import app
from shared.stage_task import StageTask
from services.enrich.service import enrich


@app.task(bind=True, base=StageTask, name="enrich.process", stage="enrich")
def process(self: StageTask, message: dict) -> dict:
    done = self.run_stage(message, enrich)
    if done is None:
        return {"status": "failed"}
    payload, _ = done
    from services.publish.tasks import process as publish_process

    publish_process.delay(payload.to_message())
    return {"status": "enriched", "language": payload.enrich.language if payload.enrich else None}
