"""Publish tasks: the thin shell around services.publish."""

from __future__ import annotations

from shared.celery_app import app
from shared.jobs import set_fetch_state
from shared.settings import get_settings
from shared.stage_task import StageTask, backoff_seconds
from shared.telemetry import get_logger
from services.publish import delivery as deliveries
from services.publish.service import publish
from services.publish.targets import configured_targets

log = get_logger(__name__)


@app.task(bind=True, base=StageTask, name="publish.process", stage="publish")
def process(self: StageTask, message: dict) -> dict:
    done = self.run_stage(message, lambda payload: publish(payload, sorted(configured_targets())))
    if done is None:
        return {"status": "failed"}
    payload, delivery_ids = done
    for delivery_id in delivery_ids:
        deliver.delay(delivery_id)
    set_fetch_state(payload.fetch_id, "published", article_id=payload.id, version=payload.version)
    return {"status": "published", "deliveries": delivery_ids}


@app.task(bind=True, base=StageTask, name="publish.deliver", stage="publish")
def deliver(self: StageTask, delivery_id: int) -> dict:
    settings = get_settings()
    final = self.request.retries + 1 >= settings.delivery_max_attempts
    try:
        result = deliveries.deliver(delivery_id, configured_targets(), final_attempt=final)
    except Exception as exc:  # noqa: BLE001  (the store is down, say: the delivery row stays, retry)
        self.fail(exc, {"delivery_id": delivery_id})
        return {"status": "failed"}
    if result.status == "retry":
        countdown = backoff_seconds(self.request.retries, result.error.retry_after if result.error else None)
        deliveries.schedule_next(delivery_id, countdown)
        log.warning("delivery %d attempt %d failed (%s); next in %.1fs", delivery_id, result.attempts,
                    result.error.reason if result.error else "?", countdown)
        raise self.retry(countdown=countdown, max_retries=None)
    if result.status == "failed":
        from shared.store.dead_letters import record_dead_letter

        record_dead_letter(stage="publish", task=self.name, payload=result.describe(),
                           error=result.error or "delivery failed", attempts=result.attempts)
    return {"status": result.status, "delivery_id": delivery_id}


@app.task(bind=True, base=StageTask, name="publish.sweep", stage="publish")
def sweep(self: StageTask) -> int:
    """Re-send deliveries whose task was lost; the claim makes a duplicate harmless."""
    stuck = deliveries.stuck_deliveries()
    for delivery_id in stuck:
        deliver.delay(delivery_id)
    return len(stuck)
