"""Enrich tasks: the thin shell around services.enrich.service."""

from __future__ import annotations

from celery.signals import worker_init

from shared.celery_app import app
from shared.stage_task import StageTask
from shared.telemetry import get_logger
from services.enrich.service import enrich

log = get_logger(__name__)


@worker_init.connect
def _preload_models(sender=None, **_kwargs) -> None:  # noqa: ANN001
    """Load the enrich models once in the worker's main process, before the pool forks.

    The children share them, and the first article does not pay the load inside its time budget.
    Only a worker that consumes the enrich queue (or every queue) loads them.
    """
    from shared.settings import get_settings

    if not get_settings().enrich_preload:
        return
    queues = getattr(getattr(getattr(sender, "app", None), "amqp", None), "queues", None)
    consume_from = getattr(queues, "consume_from", None)
    if consume_from and "enrich" not in consume_from:
        return
    from services.enrich.registry import load_models

    took = load_models()
    log.info("enrich models loaded", extra={"seconds": took})


@app.task(bind=True, base=StageTask, name="enrich.process", stage="enrich")
def process(self: StageTask, message: dict) -> dict:
    done = self.run_stage(message, enrich)
    if done is None:
        return {"status": "failed"}
    payload, _ = done
    from services.publish.tasks import process as publish_process

    publish_process.delay(payload.to_message())
    return {"status": "enriched", "language": payload.enrich.language if payload.enrich else None}
