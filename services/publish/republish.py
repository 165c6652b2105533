"""Republish: send an article version again to all its targets, or to named ones, exactly once per request.

Deliveries are unique per (article version, target, event, generation). The planned delivery is generation 0;
a republication is a row in ``republications`` whose id is the generation of the deliveries it creates, one per
chosen target, in the same transaction. Its ``key`` (a hook's webhook-id, a job id, an Idempotency-Key header,
or a fresh one) makes a repeated request return the first one's outcome and create nothing. The receiver sees a
new webhook-id (``<the delivery key>_r<generation>``), so it does not drop the republication as a duplicate.

- Targets: named ones (they must be configured; a target's rules do not apply: the operator chose it), or every
  configured target whose routing rules choose this version today.
- Event: ``update`` for a target that already holds the story (WordPress updates its post), else ``publish``.
- A still-pending delivery of the same story to the same target (this version or an earlier one) is superseded:
  the republication replaces it, so the target gets one send, not two.
- A retracted story is not republished (409): a retraction is final here.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from shared.errors import PermanentError
from shared.payload import utcnow
from shared.store import Article, ArticleVersion, Delivery, session_scope
from shared.store.models import PublishEvent, Republication
from services.publish.engine import DUE, delivered_to, earlier_recipients, idempotency_key
from services.publish.formats import article_document
from services.publish.routing import decide
from services.publish.targets import TargetBase


class RepublishError(PermanentError):
    """Why nothing was republished; ``status`` is the HTTP status an API answers with."""

    def __init__(self, reason: str, status: int = 422) -> None:
        super().__init__(reason)
        self.status = status


@dataclass
class RepublishResult:
    article_id: str
    version: int
    key: str
    republication: int
    targets: list[str] = field(default_factory=list)
    deliveries: list[int] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)  # target -> why (routing rules, for "all")
    superseded: int = 0
    duplicate: bool = False  # this key was seen before: nothing new was created

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.article_id, "version": self.version, "key": self.key,
                "republication": self.republication, "targets": self.targets, "deliveries": self.deliveries,
                "skipped": self.skipped, "superseded_pending": self.superseded, "duplicate": self.duplicate}


def _stored(session: Any, key: str) -> RepublishResult | None:
    row = session.execute(select(Republication).where(Republication.key == key)).scalar_one_or_none()
    if row is None:
        return None
    ids = list(session.execute(select(Delivery.id).join(ArticleVersion, ArticleVersion.id == Delivery.version_id)
                               .where(Delivery.generation == row.id, ArticleVersion.article_id == row.article_id)
                               .order_by(Delivery.id)).scalars())
    return RepublishResult(row.article_id, row.version, row.key, row.id, list(row.targets), ids, duplicate=True)


def republish(article_id: str, version: int | None = None, targets: list[str] | None = None, *,
              actor: str | None, reason: str | None = None, key: str | None = None,
              configured: dict[str, TargetBase] | None = None) -> RepublishResult:
    """One new delivery per chosen target for this article version (default: the latest published one).

    Called again with the same ``key``, returns the first call's outcome (``duplicate``) and sends nothing more.
    Raises RepublishError (with an HTTP status) when nothing can be republished. The caller kicks the drains
    (``services.publish.tasks.after_change(result.targets)``) after this returns: the rows are committed."""
    if configured is None:
        from services.publish.targets import configured_targets

        configured = configured_targets()
    key = (key or f"republish:{uuid.uuid4().hex}")[:320]
    if targets is not None:
        targets = list(dict.fromkeys(t.strip() for t in targets if t and t.strip()))
        unknown = [t for t in targets if t not in configured]
        if unknown:
            raise RepublishError(f"no such target: {', '.join(unknown)} (configured: {', '.join(sorted(configured))})")
        if not targets:
            raise RepublishError("targets is empty: name at least one, or leave it out for all")
    try:
        return _republish(article_id, version, targets, actor=actor, reason=reason, key=key, configured=configured)
    except IntegrityError:
        # The same key raced in from another worker: the winner's outcome is ours.
        with session_scope() as session:
            found = _stored(session, key)
        if found is None:
            raise
        return found


def _republish(article_id: str, version: int | None, names: list[str] | None, *, actor: str | None,
               reason: str | None, key: str, configured: dict[str, TargetBase]) -> RepublishResult:
    with session_scope() as session:
        found = _stored(session, key)
        if found is not None:
            return found
        article = session.get(Article, article_id)
        if article is None:
            raise RepublishError(f"no article {article_id}", 404)
        query = select(ArticleVersion).where(ArticleVersion.article_id == article_id)
        if version is not None:
            query = query.where(ArticleVersion.version == version)
        else:
            query = query.where(ArticleVersion.status == "published").order_by(ArticleVersion.version.desc()).limit(1)
        row = session.execute(query).scalars().first()
        if row is None:
            raise RepublishError(f"article {article_id} has no version {version}" if version is not None
                                 else f"article {article_id} has no published version", 404)
        if row.status != "published":
            raise RepublishError(f"article {article_id} version {row.version} is not published ({row.status})", 409)
        retracted = session.execute(select(PublishEvent.id).where(PublishEvent.article_id == article_id,
                                                                  PublishEvent.kind == "retract").limit(1)).first()
        if retracted is not None:
            raise RepublishError(f"article {article_id} was retracted: it is not republished", 409)
        skipped: dict[str, str] = {}
        if names is None:
            doc = article_document(article, row)
            earlier = earlier_recipients(session, article_id, row.version) if row.version > 1 else set()
            names = []
            for name, target in sorted(configured.items()):
                decision = decide(target, doc, article.source_id, name in earlier)
                if decision.decision == "send":
                    names.append(name)
                else:
                    skipped[name] = decision.reason
            if not names:
                raise RepublishError(f"no configured target takes article {article_id} version {row.version}", 409)
        republication = Republication(key=key, article_id=article_id, version=row.version, targets=names,
                                      actor=(actor or "")[:160] or None, reason=reason, created_at=utcnow())
        session.add(republication)
        session.flush()  # its id is the generation; a concurrent twin with this key fails here
        result = RepublishResult(article_id, row.version, key, republication.id, list(names), skipped=skipped)
        holders = delivered_to(session, article_id)
        versions = select(ArticleVersion.id).where(ArticleVersion.article_id == article_id,
                                                   ArticleVersion.version <= row.version)
        now = utcnow()
        for name in names:
            target = configured[name]
            result.superseded += session.execute(
                update(Delivery)
                .where(Delivery.target == name, Delivery.status.in_(DUE), Delivery.event != "retract",
                       Delivery.version_id.in_(versions))
                .values(status="superseded", last_error=f"superseded by republication {republication.id}",
                        next_attempt_at=None)
                .execution_options(synchronize_session=False)
            ).rowcount
            event = "update" if name in holders else "publish"
            delivery = Delivery(
                version_id=row.id, target=name, event=event, generation=republication.id,
                idempotency_key=f"{idempotency_key(article_id, row.version, name, event)}_r{republication.id}"[:128],
                status="pending" if target.pushes else "delivered", attempts=0, attempt_base=0, created_at=now,
                next_attempt_at=now, delivered_at=None if target.pushes else now)
            session.add(delivery)
            session.flush()
            result.deliveries.append(delivery.id)
        return result
