"""The publish stage: mark the version published (feeds read it from the store) and plan its deliveries."""

from __future__ import annotations

from sqlalchemy import select

from shared.errors import PermanentError
from shared.payload import ArticlePayload, utcnow
from shared.store import ArticleVersion, session_scope
from services.publish.delivery import plan_deliveries


def publish(payload: ArticlePayload, targets: list[str]) -> list[int]:
    if payload.version is None:
        raise PermanentError("publish needs a versioned article")
    with session_scope() as session:
        version = session.execute(
            select(ArticleVersion).where(
                ArticleVersion.article_id == payload.id, ArticleVersion.version == payload.version
            )
        ).scalar_one_or_none()
        if version is None:
            raise PermanentError(f"article {payload.id} version {payload.version} is not in the store")
        version.trace = [entry.model_dump(mode="json") for entry in payload.trace]
        if version.status != "published":
            version.status = "published"
            version.published_at = utcnow()
        version_id = version.id
    # Hand-off after commit: delivery rows exist before any delivery task is sent.
    return plan_deliveries(version_id, payload.id, payload.version, targets)
