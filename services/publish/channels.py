"""What a feed channel lists, newest first, a page at a time.

- ``all``: the latest published version of every article; a retracted article shows as deleted.
- a feed target's channel: the latest delivery of each article to that target (what its rules let through);
  a retraction delivered there shows as deleted.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, func, or_, select, type_coerce

from shared.store import Article, ArticleVersion, Delivery, session_scope
from shared.store.models import PublishEvent, UTCDateTime
from services.publish.formats import article_document, iso
from services.publish.lifecycle import retracted


class CursorError(ValueError):
    pass


def encode_cursor(when: datetime, article_id: str) -> str:
    return base64.urlsafe_b64encode(f"{when.isoformat()}|{article_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        when, article_id = raw.split("|", 1)
        return datetime.fromisoformat(when), article_id
    except Exception as exc:  # noqa: BLE001
        raise CursorError("invalid cursor") from exc


@dataclass
class Page:
    entries: list[dict[str, Any]]
    next_cursor: str | None
    last_modified: datetime | None


def _page(rows: list, limit: int, key) -> tuple[list, str | None]:  # noqa: ANN001
    more = len(rows) > limit
    rows = rows[:limit]
    cursor = encode_cursor(*key(rows[-1])) if more and rows else None
    return rows, cursor


def all_channel(limit: int, before: str | None = None) -> Page:
    with session_scope() as session:
        newest = (
            select(ArticleVersion.article_id, func.max(ArticleVersion.version).label("version"))
            .where(ArticleVersion.status == "published").group_by(ArticleVersion.article_id).subquery()
        )
        retract = (
            select(PublishEvent.article_id, func.max(PublishEvent.at).label("at"))
            .where(PublishEvent.kind == "retract").group_by(PublishEvent.article_id).subquery()
        )
        published = func.coalesce(ArticleVersion.published_at, ArticleVersion.created_at)
        changed = type_coerce(case((retract.c.at > published, retract.c.at), else_=published), UTCDateTime())
        query = (
            select(Article, ArticleVersion, changed.label("changed"))
            .join(newest, newest.c.article_id == Article.id)
            .join(ArticleVersion, and_(ArticleVersion.article_id == Article.id, ArticleVersion.version == newest.c.version))
            .outerjoin(retract, retract.c.article_id == Article.id)
            .order_by(changed.desc(), Article.id.desc())
            .limit(limit + 1)
        )
        if before:
            when, article_id = decode_cursor(before)
            query = query.where(or_(changed < when, and_(changed == when, Article.id < article_id)))
        rows, cursor = _page(session.execute(query).all(), limit, lambda row: (row.changed, row.Article.id))
        gone = retracted(session, [row.Article.id for row in rows])
        entries = []
        for article, version, when in rows:
            entry = article_document(article, version)
            entry["updated"] = iso(when)
            if article.id in gone:
                entry["deleted"] = gone[article.id]
            entries.append(entry)
        return Page(entries, cursor, rows[0].changed if rows else None)


def target_channel(name: str, limit: int, before: str | None = None) -> Page:
    with session_scope() as session:
        latest = (
            select(func.max(Delivery.id).label("id"))
            .join(ArticleVersion, ArticleVersion.id == Delivery.version_id)
            .where(Delivery.target == name, Delivery.status == "delivered")
            .group_by(ArticleVersion.article_id).subquery()
        )
        query = (
            select(Delivery, ArticleVersion, Article)
            .join(latest, latest.c.id == Delivery.id)
            .join(ArticleVersion, ArticleVersion.id == Delivery.version_id)
            .join(Article, Article.id == ArticleVersion.article_id)
            .order_by(Delivery.delivered_at.desc(), Article.id.desc())
            .limit(limit + 1)
        )
        if before:
            when, article_id = decode_cursor(before)
            query = query.where(or_(Delivery.delivered_at < when,
                                    and_(Delivery.delivered_at == when, Article.id < article_id)))
        rows, cursor = _page(session.execute(query).all(), limit,
                             lambda row: (row.Delivery.delivered_at, row.Article.id))
        notes = retracted(session, [row.Article.id for row in rows])
        entries = []
        for delivery, version, article in rows:
            entry = article_document(article, version)
            entry["updated"] = iso(delivery.delivered_at)
            if delivery.event == "retract":
                entry["deleted"] = {"when": iso(delivery.delivered_at),
                                    "note": (notes.get(article.id) or {}).get("note")}
            entries.append(entry)
        return Page(entries, cursor, rows[0].Delivery.delivered_at if rows else None)
