"""The publish stage: mark the version published (feeds read it from the store), route it and plan its
deliveries. Plain functions; services.publish.tasks is the Celery shell."""

from __future__ import annotations

from shared.errors import PermanentError
from shared.payload import ArticlePayload, utcnow
from shared.store import find_version, session_scope
from services.publish.engine import plan
from services.publish.targets import TargetBase


def publish(payload: ArticlePayload, targets: dict[str, TargetBase]) -> list[str]:
    """Returns the targets that now have deliveries to send."""
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
    # Routing and delivery rows after the version is committed; tasks are sent after those commit.
    return plan(version_id, targets)
