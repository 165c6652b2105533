"""Lifecycle: a retraction or a correction reaches every target that got any version of the story.

- retract: pending deliveries of the story are cancelled (superseded), and every earlier recipient gets a
  retraction (webhook ``article.retracted`` / ninjs pubstatus canceled / NewsML stat:canceled, WordPress
  post trashed, feeds show a deleted entry).
- correct: every earlier recipient gets the latest version again, flagged as a correction (``article.corrected``,
  NewsML sig:correction, ninjs ednote), with the operator's note.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select, update

from shared.errors import PermanentError
from shared.payload import utcnow
from shared.store import Article, ArticleVersion, Delivery, session_scope
from shared.store.models import PublishEvent
from services.publish.engine import DUE, add_delivery
from services.publish.targets import TargetBase


@dataclass
class LifecycleResult:
    article_id: str
    kind: str
    version: int
    targets: list[str] = field(default_factory=list)  # rows created
    unknown: list[str] = field(default_factory=list)  # earlier recipients no longer configured
    cancelled: int = 0

    def to_dict(self) -> dict:
        return {"id": self.article_id, "kind": self.kind, "version": self.version, "targets": self.targets,
                "unknown_targets": self.unknown, "cancelled_pending": self.cancelled}


def recipients(session, article_id: str) -> set[str]:  # noqa: ANN001
    """Targets that got any version of the story (delivered, not a retraction)."""
    return set(session.execute(
        select(Delivery.target).join(ArticleVersion, ArticleVersion.id == Delivery.version_id)
        .where(ArticleVersion.article_id == article_id, Delivery.status == "delivered",
               Delivery.event != "retract").distinct()
    ).scalars())


def _apply(kind: str, article_id: str, note: str | None, actor: str | None,
           targets: dict[str, TargetBase]) -> LifecycleResult:
    with session_scope() as session:
        if session.get(Article, article_id) is None:
            raise PermanentError(f"no article {article_id}")
        latest = session.execute(
            select(ArticleVersion).where(ArticleVersion.article_id == article_id,
                                         ArticleVersion.status == "published")
            .order_by(ArticleVersion.version.desc()).limit(1)
        ).scalar()
        if latest is None:
            raise PermanentError(f"article {article_id} has no published version")
        result = LifecycleResult(article_id, kind, latest.version)
        session.add(PublishEvent(article_id=article_id, version=latest.version, kind=kind, note=note, actor=actor,
                                 at=utcnow()))
        got = recipients(session, article_id)
        if kind == "retract":
            versions = select(ArticleVersion.id).where(ArticleVersion.article_id == article_id)
            result.cancelled = session.execute(
                update(Delivery).where(Delivery.version_id.in_(versions), Delivery.status.in_(DUE),
                                       Delivery.event != "retract")
                .values(status="superseded", last_error="the story was retracted", next_attempt_at=None)
                .execution_options(synchronize_session=False)
            ).rowcount
        for name in sorted(got):
            target = targets.get(name)
            if target is None:
                result.unknown.append(name)
                continue
            if add_delivery(session, latest, target, kind):
                result.targets.append(name)
        return result


def retract(article_id: str, targets: dict[str, TargetBase], *, note: str | None = None,
            actor: str | None = None) -> LifecycleResult:
    return _apply("retract", article_id, note, actor, targets)


def correct(article_id: str, targets: dict[str, TargetBase], *, note: str | None = None,
            actor: str | None = None) -> LifecycleResult:
    return _apply("correct", article_id, note, actor, targets)


def retracted(session, article_ids: list[str]) -> dict[str, dict]:  # noqa: ANN001
    """Article id -> {"when", "note", "version"} for retracted articles among these."""
    found: dict[str, dict] = {}
    if not article_ids:
        return found
    for event in session.execute(select(PublishEvent).where(PublishEvent.article_id.in_(article_ids),
                                                            PublishEvent.kind == "retract")
                                 .order_by(PublishEvent.id)).scalars():
        found[event.article_id] = {"when": event.at.isoformat(), "note": event.note, "version": event.version}
    return found
