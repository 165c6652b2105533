"""Dedupe and versions: one article per URL; a new content hash is a new version.

- same URL, same hash, another fetch  -> duplicate: dropped and counted;
- same URL, same hash, the same fetch -> a redelivered message: carry on (idempotent);
- same URL, new hash                  -> version n+1.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from shared.errors import TransientError
from shared.payload import ArticlePayload, utcnow
from shared.store import Article, ArticleVersion, session_scope


@dataclass
class VersionOutcome:
    kind: Literal["new", "duplicate", "redelivered"]
    version: int


def record_version(payload: ArticlePayload) -> VersionOutcome:
    assert payload.clean is not None and payload.content_hash is not None
    try:
        with session_scope() as session:
            article = session.get(Article, payload.id, with_for_update=True)
            if article is None:
                article = Article(id=payload.id, url=payload.url, source_id=payload.source_id, latest_version=0)
                session.add(article)
                session.flush()
            existing = session.execute(
                select(ArticleVersion).where(
                    ArticleVersion.article_id == payload.id, ArticleVersion.content_hash == payload.content_hash
                )
            ).scalar_one_or_none()
            if existing is not None:
                if existing.fetch_id == payload.fetch_id:
                    return VersionOutcome("redelivered", existing.version)
                article.duplicates += 1
                return VersionOutcome("duplicate", existing.version)
            number = article.latest_version + 1
            now = utcnow()
            article.latest_version = number
            article.title = payload.clean.title
            article.canonical_url = payload.canonical_url
            article.updated_at = now
            session.add(
                ArticleVersion(
                    article_id=payload.id,
                    version=number,
                    content_hash=payload.content_hash,
                    fetch_id=payload.fetch_id,
                    raw_key=payload.raw_key,
                    status="cleaned",
                    clean=payload.clean.model_dump(mode="json"),
                    trace=[entry.model_dump(mode="json") for entry in payload.trace],
                    created_at=now,
                )
            )
            return VersionOutcome("new", number)
    except IntegrityError as exc:
        # Another worker recorded the same article at the same moment: look again.
        raise TransientError(f"concurrent version write for article {payload.id}; retrying") from exc
