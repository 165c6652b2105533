"""Why did this story (not) reach a target: the stored routing decisions and what came of each delivery."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from shared.store import Article, ArticleVersion, Delivery, session_scope
from shared.store.models import PublishEvent, RoutingDecision


def routing_by_version(session: Any, version_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    found: dict[int, list[dict[str, Any]]] = {}
    if not version_ids:
        return found
    for row in session.execute(select(RoutingDecision).where(RoutingDecision.version_id.in_(version_ids))
                               .order_by(RoutingDecision.target)).scalars():
        found.setdefault(row.version_id, []).append(
            {"target": row.target, "decision": row.decision, "rule": row.rule, "reason": row.reason,
             "at": row.at.isoformat()})
    return found


def explain(article_id: str) -> dict[str, Any] | None:
    """Per version and target: the routing decision, its rule and reason, and the deliveries' outcome."""
    with session_scope() as session:
        article = session.get(Article, article_id)
        if article is None:
            return None
        versions = list(session.execute(select(ArticleVersion).where(ArticleVersion.article_id == article_id)
                                        .order_by(ArticleVersion.version)).scalars())
        routing = routing_by_version(session, [v.id for v in versions])
        deliveries: dict[tuple[int, str], list[Delivery]] = {}
        for delivery in session.execute(select(Delivery).where(Delivery.version_id.in_([v.id for v in versions]))
                                        .order_by(Delivery.id)).scalars():
            deliveries.setdefault((delivery.version_id, delivery.target), []).append(delivery)
        events = [{"kind": e.kind, "version": e.version, "note": e.note, "actor": e.actor, "at": e.at.isoformat()}
                  for e in session.execute(select(PublishEvent).where(PublishEvent.article_id == article_id)
                                           .order_by(PublishEvent.id)).scalars()]
        shown = []
        for version in versions:
            targets = []
            for decision in routing.get(version.id, []):
                sent = deliveries.get((version.id, decision["target"]), [])
                targets.append({**decision, "deliveries": [
                    {"event": d.event, "status": d.status, "attempts": d.attempts, "last_error": d.last_error,
                     "last_status_code": d.last_status_code,
                     "delivered_at": d.delivered_at.isoformat() if d.delivered_at else None} for d in sent]})
            shown.append({"version": version.version, "status": version.status, "targets": targets})
            if version.status == "near_duplicate":
                shown[-1]["held"] = (f"near duplicate of {article.near_duplicate_of} (story {article.cluster_id}): "
                                     "recorded and linked to the story, not published as a new story "
                                     "(NEWSWIRE_CLEAN_PUBLISH_NEAR_DUPLICATES=true publishes near-duplicates)")
        return {"id": article.id, "url": article.url, "title": article.title, "versions": shown, "events": events}
