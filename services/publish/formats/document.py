"""What a published article looks like to the outside: one plain dict every format is rendered from."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from shared.store.models import Article, ArticleVersion


def iso(value: datetime | None) -> str | None:
    return value.astimezone(timezone.utc).isoformat().replace("+00:00", "Z") if value else None


def article_document(article: Article, version: ArticleVersion) -> dict[str, Any]:
    clean = version.clean or {}
    enrich = version.enrich or {}
    return {
        "id": article.id,
        "version": version.version,
        "url": article.url,
        "canonical_url": article.canonical_url or article.url,
        "title": clean.get("title"),
        "text": clean.get("text"),
        "html": clean.get("html"),
        "authors": clean.get("authors", []),
        "published": clean.get("published"),
        "site_name": clean.get("site_name"),
        "source_name": clean.get("source_name"),
        "summary": enrich.get("summary") or clean.get("summary"),
        "lead_image": clean.get("lead_image"),
        "images": clean.get("images") or [],
        "language": enrich.get("language"),
        "keywords": enrich.get("keywords", []),
        "topics": enrich.get("topics") or [],
        "places": enrich.get("places") or [],
        "entities": enrich.get("entities") or [],
        "quality": clean.get("quality"),
        # The clean stage's near-duplicate link and what changed since the previous version of this URL.
        "cluster_id": clean.get("cluster_id"),
        "near_duplicate_of": clean.get("near_duplicate_of"),
        "changes": clean.get("changes"),
        "reading_time_minutes": enrich.get("reading_time_minutes"),
        "content_hash": version.content_hash,
        "first_created": iso(article.created_at),
        "updated": iso(version.published_at or version.created_at),
    }
