"""Publish tasks: the thin shell around services.publish (service, engine, dispatch)."""

from __future__ import annotations

import uuid
from datetime import timedelta

from shared.celery_app import app
from shared.jobs import set_fetch_state
from shared.payload import utcnow
from shared.settings import get_settings
from shared.stage_task import StageTask
from shared.store import store_unavailable
from shared.store.dead_letters import record_dead_letter
from shared.telemetry import get_logger
from services.publish import dispatch, engine, replay, websub
from services.publish.service import publish
from services.publish.targets import configured_targets

log = get_logger(__name__)


def kick(name: str, countdown: float | None = None) -> None:
    drain.apply_async(args=[name], queue="publish", countdown=countdown)


def after_change(names: list[str], *, everything: bool = True) -> None:
    """New deliveries to these targets: drain the ones that send, ping the hub for the feeds that changed."""
    targets = configured_targets()
    for name in names:
        if name in targets and targets[name].pushes:
            kick(name)
    channels = (["all"] if everything else []) + [n for n in names if n in targets and not targets[n].pushes]
    if get_settings().websub_hub and channels:
        websub.ping(channels)


@app.task(bind=True, base=StageTask, name="publish.process", stage="publish")
def process(self: StageTask, message: dict) -> dict:
    done = self.run_stage(message, lambda payload: publish(payload, configured_targets()))
    if done is None:
        return {"status": "failed"}
    payload, touched = done
    after_change(touched)
    set_fetch_state(payload.fetch_id, "published", article_id=payload.id, version=payload.version)
    return {"status": "published", "targets": touched}


class DrainTask(StageTask):
    def after_time_limit(self, name: str, *_args: object, **_kwargs: object) -> None:
        """Killed by the time limit (a target slower than it): a new drain, which waits for the lock and the
        claims of the one killed to run out (shared/crash_guard.py: never a dead letter)."""
        kick(name)


@app.task(bind=True, base=DrainTask, name="publish.drain", stage="publish", tracked_in_store=True)
def drain(self: StageTask, name: str) -> dict:
    """Send one target's due deliveries for a while; hand over to a new task or sleep until the next is due."""
    target = configured_targets().get(name)
    if target is None:
        log.warning("drain for %s: no such target is configured; its deliveries wait", name)
        return {"status": "unknown-target"}
    owner = uuid.uuid4().hex
    if not dispatch.lock(name, owner, dispatch.LOCK_SECONDS):
        # Another drain runs (or a dead worker's lock has not run out yet): look again when it would have.
        countdown = dispatch.should_wake(name, utcnow() + timedelta(seconds=dispatch.lock_ttl(name) + 0.5))
        if countdown is not None:
            kick(name, countdown)
        return {"status": "busy"}
    try:
        try:
            report = engine.drain(target, on_batch=lambda: dispatch.renew(name, owner, dispatch.LOCK_SECONDS))
        finally:
            dispatch.unlock(name, owner)
        for dead in report.dead:
            record_dead_letter(stage="publish", task="publish.deliver", payload=dead, error=dead["error"],
                               attempts=dead["attempts"])
        if report.stopped == "time" or dispatch.has_due(name):
            kick(name)  # more to do (or planned while we were finishing): a new task, so others get a turn
        elif report.next_due is not None and report.stopped not in ("paused", "disabled"):
            countdown = dispatch.should_wake(name, report.next_due)
            if countdown is not None:
                kick(name, countdown)
    except Exception as exc:
        if store_unavailable(exc):
            # The database went away: this drain runs again once it is back (what it had claimed and not sent
            # is claimed again when the claim runs out; what it sent was recorded, see engine._until_recorded).
            self.wait_for_store(exc)
        raise
    return {"status": report.stopped, "sent": report.sent, "delivered": report.delivered,
            "retrying": report.retrying, "failed": report.failed}


@app.task(bind=True, base=StageTask, name="publish.deliver", stage="publish", tracked_in_store=True)
def deliver(self: StageTask, delivery_id: int) -> dict:
    """Send one delivery again (a replayed dead letter): due now, with a fresh retry schedule."""
    names = replay.replay_ids([delivery_id])
    for name in names:
        kick(name)
    return {"status": "replayed" if names else "nothing-to-replay", "delivery_id": delivery_id}


@app.task(bind=True, base=StageTask, name="publish.sweep", stage="publish", tracked_in_store=True)
def sweep(self: StageTask) -> int:
    """Kick every target with due deliveries: retries whose wake-up was too far to schedule, lost tasks."""
    names = [name for name in dispatch.due_targets() if name in configured_targets()]
    for name in names:
        kick(name)
    return len(names)
