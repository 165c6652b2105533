"""The publish stage: mark the version published (feeds read it from the store) and plan its deliveries."""

from __future__ import annotations

from shared.errors import PermanentError
from shared.payload import ArticlePayload, utcnow
from shared.store import find_version, session_scope
from services.publish.delivery import plan_deliveries


def publish(payload: ArticlePayload, targets: list[str]) -> list[int]:
    if payload.version is None:
        raise PermanentError("publish needs a versioned article")
    now = utcnow()
    if payload.trace and payload.trace[-1].finish is None:
        payload.trace[-1].finish = now  # this stage's own entry ends with the commit below
    with session_scope() as session:
        version = find_version(session, payload.id, payload.version)
        version.trace = [entry.model_dump(mode="json") for entry in payload.trace]
        if version.status != "published":
            version.status = "published"
            version.published_at = now
        version_id = version.id
    # Hand-off after commit: delivery rows exist before any delivery task is sent.
    return plan_deliveries(version_id, payload.id, payload.version, targets)
