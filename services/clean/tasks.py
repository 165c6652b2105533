"""Clean tasks: the thin shell around services.clean.service."""

from __future__ import annotations

from shared.celery_app import app
from shared.jobs import set_fetch_state
from shared.redis_client import get_redis
from shared.stage_task import StageTask
from shared.telemetry import get_logger
from services.clean.service import clean

log = get_logger(__name__)


@app.task(bind=True, base=StageTask, name="clean.process", stage="clean")
def process(self: StageTask, message: dict) -> dict:
    done = self.run_stage(message, clean)
    if done is None:
        return {"status": "failed"}
    payload, outcome = done
    if outcome.kind == "duplicate":
        log.info("article %s: duplicate of version %d, dropped", payload.id, outcome.version)
        try:
            get_redis().incr("newswire:counter:duplicates")
        except Exception:  # noqa: BLE001
            pass
        set_fetch_state(payload.fetch_id, "duplicate", article_id=payload.id, version=outcome.version)
        return {"status": "duplicate", "version": outcome.version}
    from services.enrich.tasks import process as enrich_process

    # Hand-off after commit: the version row is committed before the next stage hears of it.
    enrich_process.delay(payload.to_message())
    return {"status": outcome.kind, "version": outcome.version}
