"""Dedupe and versions: one article per URL; a new content hash is a new version.

- same URL, same hash, another fetch  -> duplicate: dropped and counted;
- same URL, same hash, the same fetch -> a redelivered message: carry on (idempotent);
- same URL, new hash                  -> version n+1, with a summary of what changed (``clean.changes``);
- another URL's near-duplicate (``clean.near_duplicate_of``, set by the clean stage) of an article never published
  -> recorded with status ``near_duplicate`` and linked to the known story (``articles.cluster_id``), not
  published as a new story, when the caller holds near-duplicates (setting ``clean_publish_near_duplicates`` off).
  An article already published goes on: its new version is an update its readers must get. A held version
  fetched again once the setting publishes near-duplicates is released (handed on like a new one).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from shared.errors import TransientError
from shared.payload import ArticlePayload, utcnow
from shared.store import Article, ArticleVersion, session_scope


def diff_summary(previous: dict, title: str, text: str) -> str:
    """A line saying what changed since the previous version: title, paragraphs added/removed/edited."""
    old_lines = (previous.get("text") or "").split("\n")
    new_lines = text.split("\n")
    added = removed = edited = 0
    matcher = difflib.SequenceMatcher(a=old_lines, b=new_lines, autojunk=False)
    for op, a1, a2, b1, b2 in matcher.get_opcodes():
        if op == "insert":
            added += b2 - b1
        elif op == "delete":
            removed += a2 - a1
        elif op == "replace":
            common = min(a2 - a1, b2 - b1)
            edited += common
            added += (b2 - b1) - common
            removed += (a2 - a1) - common
    parts = []
    if (previous.get("title") or "") != title:
        parts.append(f"title changed (was: {previous.get('title')!r})")
    for count, word in ((added, "added"), (removed, "removed"), (edited, "edited")):
        if count:
            parts.append(f"{count} paragraph{'s' if count != 1 else ''} {word}")
    return "; ".join(parts) or "whitespace or formatting only"


NEAR_DUPLICATE = "near_duplicate"


def _ever_published(session, article_id: str) -> bool:  # noqa: ANN001
    return session.execute(
        select(ArticleVersion.id).where(ArticleVersion.article_id == article_id,
                                        ArticleVersion.published_at.is_not(None)).limit(1)
    ).first() is not None


def story_articles(session, cluster_id: str, but: str | None = None) -> list[Article]:  # noqa: ANN001
    """The articles of one story (near-duplicate cluster), first recorded first: the story's sources."""
    query = select(Article).where(Article.cluster_id == cluster_id).order_by(Article.created_at, Article.id)
    if but is not None:
        query = query.where(Article.id != but)
    return list(session.execute(query.limit(200)).scalars())


@dataclass
class VersionOutcome:
    kind: Literal["new", "duplicate", "redelivered", "near_duplicate"]
    version: int


def record_version(payload: ArticlePayload, *, hold_near_duplicates: bool = False) -> VersionOutcome:
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
                if existing.status == NEAR_DUPLICATE and not hold_near_duplicates:
                    # Held before; near-duplicates are published now (the setting changed): this fetch releases it.
                    existing.status = "cleaned"
                    existing.fetch_id = payload.fetch_id
                    existing.trace = [entry.model_dump(mode="json") for entry in payload.trace]
                    return VersionOutcome("new", existing.version)
                if existing.fetch_id == payload.fetch_id:
                    # A redelivered message: what was decided the first time stands (held stays held).
                    return VersionOutcome(NEAR_DUPLICATE if existing.status == NEAR_DUPLICATE else "redelivered",
                                          existing.version)
                article.duplicates += 1
                return VersionOutcome("duplicate", existing.version)
            number = article.latest_version + 1
            if number > 1:
                previous = session.execute(
                    select(ArticleVersion).where(
                        ArticleVersion.article_id == payload.id, ArticleVersion.version == article.latest_version
                    )
                ).scalar_one_or_none()
                if previous is not None and previous.clean:
                    payload.clean.changes = diff_summary(previous.clean, payload.clean.title, payload.clean.text)
            cluster = payload.clean.cluster_id
            # The story's first article (its id is the cluster's) is the story itself, never held as a duplicate.
            near = payload.clean.near_duplicate_of if cluster and cluster != payload.id else None
            held = hold_near_duplicates and near is not None and not _ever_published(session, payload.id)
            if held and payload.trace and payload.trace[-1].finish is None:
                payload.trace[-1].outcome = NEAR_DUPLICATE  # the clean stage's own entry: the story's timeline shows it
            if cluster:
                article.cluster_id = cluster
                article.near_duplicate_of = near
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
                    status=NEAR_DUPLICATE if held else "cleaned",
                    clean=payload.clean.model_dump(mode="json"),
                    trace=[entry.model_dump(mode="json") for entry in payload.trace],
                    created_at=now,
                )
            )
            return VersionOutcome(NEAR_DUPLICATE if held else "new", number)
    except IntegrityError as exc:
        # Another worker recorded the same article at the same moment: look again.
        raise TransientError(f"concurrent version write for article {payload.id}; retrying") from exc
