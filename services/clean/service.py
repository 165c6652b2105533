"""The clean stage: raw bytes in, a cleaned (and versioned) article out."""

from __future__ import annotations

from shared.errors import PermanentError
from shared.payload import ArticlePayload, content_hash
from shared.settings import get_settings
from shared.store import session_scope
from shared.store.blobs import get_blob
from shared.telemetry import get_logger
from services.clean import neardup, quality
from services.clean.extract import extract
from services.clean.versions import VersionOutcome, record_version

log = get_logger(__name__)


def _cluster(article_id: str, part, settings) -> None:  # noqa: ANN001
    """Join a near-duplicate's story cluster. The index is an aid, not the article: if Redis cannot be reached the
    article goes on without a cluster id (logged as a warning), rather than failing a clean that succeeded."""
    import redis

    from shared.redis_client import get_redis

    try:
        match = neardup.assign_cluster(
            get_redis(), article_id, part.text,
            max_distance=min(settings.clean_near_duplicate_bits, 3), ttl_days=settings.clean_near_duplicate_days,
        )
    except redis.RedisError as exc:
        log.warning("article %s: near-duplicate index unavailable, no story cluster: %s", article_id, exc)
        return
    part.cluster_id = match.cluster_id
    part.near_duplicate_of = match.near_article
    if match.near_article:
        log.info("article %s: near-duplicate of %s (%d bits), story cluster %s",
                 article_id, match.near_article, match.distance, match.cluster_id)


def clean(payload: ArticlePayload) -> VersionOutcome:
    """Extract, judge, cluster, hash and record the version; fills ``payload.clean``, ``content_hash``, ``version``.

    A near-duplicate of a known story (another page whose text is within a few SimHash bits) that was never
    published comes back as kind ``near_duplicate``: recorded and linked to its story, not handed on (unless the
    setting ``clean_publish_near_duplicates`` is on).

    An article whose quality verdict scores under ``clean_quarantine_below`` raises ``QuarantinedError`` (a
    permanent error: the task writes a dead letter with the reasons, nothing is published).
    """
    if not payload.raw_key:
        raise PermanentError("payload carries no raw bytes key")
    with session_scope() as session:
        raw = get_blob(session, payload.raw_key)
    settings = get_settings()
    part = extract(raw, payload.url, payload.http_charset)
    verdict = quality.Verdict(**part.quality) if part.quality else None
    if verdict is not None:
        quality.enforce(verdict, settings.clean_quarantine_below, payload.url)
    if settings.clean_near_duplicates:
        _cluster(payload.id, part, settings)
    payload.clean = part
    payload.canonical_url = part.canonical_url or payload.url
    payload.content_hash = content_hash(part.title, part.text)
    outcome = record_version(payload, hold_near_duplicates=not settings.clean_publish_near_duplicates)
    payload.version = outcome.version
    return outcome
