"""Clean tasks: the thin shell around services.clean.service."""

from __future__ import annotations

from shared.celery_app import app
from shared.jobs import set_fetch_state
from shared.redis_client import get_redis
from shared.stage_task import StageTask
from shared.telemetry import get_logger
from services.clean.service import clean

log = get_logger(__name__)


def _near_duplicate(payload, version: int) -> dict:  # noqa: ANN001
    """Recorded (version status near_duplicate, counted in newswire_articles_total{kind="near_duplicate"} when the
    version row commits), linked to its story, and not handed to enrich: not a failure, not a new story."""
    clean = payload.clean
    log.info("article %s: near duplicate of %s (story %s), recorded as version %d and not published as a new "
             "story (NEWSWIRE_CLEAN_PUBLISH_NEAR_DUPLICATES=true would publish it)",
             payload.id, clean.near_duplicate_of, clean.cluster_id, version)
    set_fetch_state(payload.fetch_id, "near_duplicate", article_id=payload.id, version=version,
                    near_duplicate_of=clean.near_duplicate_of, cluster_id=clean.cluster_id)
    return {"status": "near_duplicate", "version": version, "near_duplicate_of": clean.near_duplicate_of,
            "cluster_id": clean.cluster_id}


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
    if outcome.kind == "near_duplicate":
        return _near_duplicate(payload, outcome.version)
    from services.enrich.tasks import process as enrich_process

    # Hand-off after commit: the version row is committed before the next stage hears of it.
    enrich_process.delay(payload.to_message())
    return {"status": outcome.kind, "version": outcome.version}
