"""Tables: sources, articles and their versions, raw blobs, deliveries and their attempts, dead letters."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    Index,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class UTCDateTime(TypeDecorator):
    """Timezone-aware datetimes on every backend (SQLite stores naive UTC)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime given to the store")
        if value is not None and dialect.name == "sqlite":
            return value.astimezone(timezone.utc).replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime, dict[str, Any]: JSON, list[Any]: JSON}


class Source(Base):
    __tablename__ = "sources"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))  # feed, page
    url: Mapped[str] = mapped_column(Text, unique=True)
    title: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="active")  # active, paused
    interval_seconds: Mapped[int] = mapped_column(Integer, default=900)
    last_fetched_at: Mapped[datetime | None]
    next_fetch_at: Mapped[datetime | None]
    error_streak: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Blob(Base):
    """Raw fetched bytes, stored once, addressed by their SHA-256 (the claim check)."""

    __tablename__ = "blobs"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)
    content_type: Mapped[str | None] = mapped_column(String(255))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Article(Base):
    __tablename__ = "articles"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    url: Mapped[str] = mapped_column(Text)
    canonical_url: Mapped[str | None] = mapped_column(Text)
    source_id: Mapped[int | None] = mapped_column(ForeignKey("sources.id", ondelete="SET NULL"))
    title: Mapped[str | None] = mapped_column(Text)
    latest_version: Mapped[int] = mapped_column(Integer, default=0)
    duplicates: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The story this article belongs to (the clean stage's near-duplicate cluster: the first article's id), and the
    # closest known article when this one is a near-duplicate. The story's other sources are the cluster's articles.
    cluster_id: Mapped[str | None] = mapped_column(String(36), index=True)
    near_duplicate_of: Mapped[str | None] = mapped_column(String(36))

    versions: Mapped[list["ArticleVersion"]] = relationship(
        back_populates="article", order_by="ArticleVersion.version", cascade="all, delete-orphan"
    )


class ArticleVersion(Base):
    """One version of an article: what clean and enrich made of one distinct content."""

    __tablename__ = "article_versions"
    __table_args__ = (
        UniqueConstraint("article_id", "version", name="uq_version_number"),
        UniqueConstraint("article_id", "content_hash", name="uq_version_hash"),
        Index("ix_versions_published", "published_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    article_id: Mapped[str] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    content_hash: Mapped[str] = mapped_column(String(64))
    fetch_id: Mapped[str] = mapped_column(String(64))
    raw_key: Mapped[str | None] = mapped_column(String(64))
    # cleaned, enriched, published; near_duplicate: held by the clean stage as another page of a known story
    status: Mapped[str] = mapped_column(String(16), default="cleaned")
    clean: Mapped[dict[str, Any]] = mapped_column(JSON)
    enrich: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    trace: Mapped[list[Any]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    published_at: Mapped[datetime | None]

    article: Mapped[Article] = relationship(back_populates="versions")
    deliveries: Mapped[list["Delivery"]] = relationship(back_populates="version", order_by="Delivery.id")


class Delivery(Base):
    """One row per (article version, target); its key is stored before the first send."""

    __tablename__ = "deliveries"
    # generation: 0 for the planned delivery; a republication's id for each republication (issue 6)
    __table_args__ = (UniqueConstraint("version_id", "target", "event", "generation", name="uq_delivery"),
                      Index("ix_deliveries_due", "target", "status", "next_attempt_at"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("article_versions.id", ondelete="CASCADE"))
    target: Mapped[str] = mapped_column(String(128))
    idempotency_key: Mapped[str] = mapped_column(String(128), unique=True)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending, sending, delivered, failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    claimed_until: Mapped[datetime | None]
    next_attempt_at: Mapped[datetime | None]
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    delivered_at: Mapped[datetime | None]
    # publish engine (issue 5): publish/update/correct/retract; who holds the claim; attempts before a replay
    event: Mapped[str] = mapped_column(String(16), default="publish")
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    attempt_base: Mapped[int] = mapped_column(Integer, default=0)
    remote_id: Mapped[str | None] = mapped_column(Text)  # the receiver's id for it (a WordPress post id)
    generation: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  # hooks (issue 6)

    version: Mapped[ArticleVersion] = relationship(back_populates="deliveries")
    attempt_log: Mapped[list["DeliveryAttempt"]] = relationship(
        back_populates="delivery", order_by="DeliveryAttempt.id", cascade="all, delete-orphan"
    )


class DeliveryAttempt(Base):
    __tablename__ = "delivery_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("deliveries.id", ondelete="CASCADE"), index=True)
    attempt: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    duration_ms: Mapped[float] = mapped_column(default=0.0)
    status_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    worker: Mapped[str | None] = mapped_column(String(255))
    response_excerpt: Mapped[str | None] = mapped_column(Text)  # publish engine (issue 5)

    delivery: Mapped[Delivery] = relationship(back_populates="attempt_log")


class DeadLetter(Base):
    __tablename__ = "dead_letters"
    __table_args__ = (Index("ix_dead_letters_created", "created_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    stage: Mapped[str] = mapped_column(String(32))
    task: Mapped[str] = mapped_column(String(128))
    article_id: Mapped[str | None] = mapped_column(String(36), index=True)
    url: Mapped[str | None] = mapped_column(Text)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    error: Mapped[str] = mapped_column(Text)
    error_type: Mapped[str] = mapped_column(String(128))
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    status: Mapped[str] = mapped_column(String(16), default="open")  # open, replayed, discarded
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


# -- console access (issue 7) -------------------------------------------------
class ApiToken(Base):
    """An API token: only its SHA-256 is stored; the token itself is shown once, when created."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(128))
    role: Mapped[str] = mapped_column(String(16))  # read-only, operator
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))  # the first characters, to recognise a token in a list
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class AuditLog(Base):
    """Every console/API action: who, what, on what, when, and how it ended (ok, denied, error)."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_at", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(160))  # token name and id, or "anonymous"
    role: Mapped[str | None] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(64))  # e.g. dead_letter.replay, source.pause
    subject: Mapped[str | None] = mapped_column(Text)  # what it acted on
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    result: Mapped[str] = mapped_column(String(16))  # ok, denied, error
    message: Mapped[str | None] = mapped_column(Text)


# Ingest (issue 11): this area's tables go below this line
# Columns the ingest area adds to sources (declared here, beside its other tables, so areas merge cleanly).
from sqlalchemy import Boolean, Float  # noqa: E402

Source.name = mapped_column(Text, nullable=True)  # a display name (else the feed's title, else the host)
Source.options = mapped_column(JSON, nullable=True)  # per-source settings: full_text, selector, rate, concurrency ...
Source.etag = mapped_column(Text, nullable=True)
Source.last_modified = mapped_column(Text, nullable=True)
Source.last_status = mapped_column(Integer, nullable=True)  # HTTP status of the last fetch (304 included)
Source.last_success_at = mapped_column(UTCDateTime(), nullable=True)
Source.last_new_item_at = mapped_column(UTCDateTime(), nullable=True)
Source.items_new = mapped_column(Integer, nullable=False, default=0, server_default="0")  # of the last fetch
Source.items_updated = mapped_column(Integer, nullable=False, default=0, server_default="0")
Source.items_unchanged = mapped_column(Integer, nullable=False, default=0, server_default="0")
Source.items_total = mapped_column(Integer, nullable=False, default=0, server_default="0")
Source.bytes_last = mapped_column(BigInteger, nullable=False, default=0, server_default="0")
Source.bytes_total = mapped_column(BigInteger, nullable=False, default=0, server_default="0")
Source.fetch_count = mapped_column(Integer, nullable=False, default=0, server_default="0")
Source.error_count = mapped_column(Integer, nullable=False, default=0, server_default="0")
Source.cadence_seconds = mapped_column(Float, nullable=True)  # usual time between new items (moving average)
Source.suspended_reason = mapped_column(Text, nullable=True)
Source.suspended_at = mapped_column(UTCDateTime(), nullable=True)
Source.charset = mapped_column(String(32), nullable=True)
Source.charset_reason = mapped_column(Text, nullable=True)
Source.websub_hub = mapped_column(Text, nullable=True)
Source.websub_topic = mapped_column(Text, nullable=True)
Source.websub_secret = mapped_column(String(128), nullable=True)
Source.websub_state = mapped_column(String(16), nullable=True)  # requested, verified, denied, expired
Source.websub_lease_until = mapped_column(UTCDateTime(), nullable=True)
Source.quiet = mapped_column(Boolean, nullable=False, default=False, server_default="0")
Index("ix_sources_status_next", Source.__table__.c.status, Source.__table__.c.next_fetch_at)


class SourceEntry(Base):
    """One item a source listed (feed entry, sitemap URL, index link): what came of it, and its last state."""

    __tablename__ = "source_entries"
    __table_args__ = (
        UniqueConstraint("source_id", "key", name="uq_source_entry"),
        Index("ix_source_entries_source_seen", "source_id", "first_seen_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(64))  # sha256 of the entry's id (guid), else its link
    url: Mapped[str] = mapped_column(Text)
    article_id: Mapped[str] = mapped_column(String(36), index=True)
    title: Mapped[str | None] = mapped_column(Text)
    published: Mapped[str | None] = mapped_column(String(40))  # ISO 8601 as the source gave it; no zone = wall-clock
    published_at: Mapped[datetime | None]  # the same in UTC (wall-clock taken as UTC when no zone), for sorting
    lastmod: Mapped[str | None] = mapped_column(String(64))
    content_hash: Mapped[str | None] = mapped_column(String(64))
    fetch_id: Mapped[str | None] = mapped_column(String(64))
    versions: Mapped[int] = mapped_column(Integer, default=1)
    first_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
# (end of Ingest)


# Clean (issue 4): this area's tables go below this line
# (end of Clean)


# Enrich (issue 10): this area's tables go below this line
class StorySignature(Base):
    """A story's MinHash signature per article and the story cluster it joined (services/enrich/related.py)."""

    __tablename__ = "story_signatures"

    article_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    story_id: Mapped[str] = mapped_column(String(36), index=True)
    signature: Mapped[list[Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)


class StoryBand(Base):
    """One LSH band of a signature: articles sharing a band are candidates for the same story."""

    __tablename__ = "story_bands"

    id: Mapped[int] = mapped_column(primary_key=True)
    band: Mapped[str] = mapped_column(String(40), index=True)
    article_id: Mapped[str] = mapped_column(ForeignKey("story_signatures.article_id", ondelete="CASCADE"), index=True)


# (end of Enrich)


# Publish (issue 5): this area's tables go below this line
class TargetState(Base):
    """What operators and the engine decided about a target: paused, disabled (and why), failing since."""

    __tablename__ = "publish_targets"

    name: Mapped[str] = mapped_column(String(128), primary_key=True)
    paused: Mapped[bool] = mapped_column(default=False)
    disabled: Mapped[bool] = mapped_column(default=False)
    reason: Mapped[str | None] = mapped_column(Text)
    failing_since: Mapped[datetime | None]
    last_success_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class RoutingDecision(Base):
    """For one article version and one target: sent or not, and the rule that decided."""

    __tablename__ = "routing_decisions"
    __table_args__ = (UniqueConstraint("version_id", "target", name="uq_routing_decision"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("article_versions.id", ondelete="CASCADE"), index=True)
    target: Mapped[str] = mapped_column(String(128))
    decision: Mapped[str] = mapped_column(String(16))  # send, skip
    rule: Mapped[str | None] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(default=utcnow)


class PublishEvent(Base):
    """A retraction or correction of an article, by an operator or a source."""

    __tablename__ = "publish_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    article_id: Mapped[str] = mapped_column(String(36), index=True)
    version: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))  # retract, correct
    note: Mapped[str | None] = mapped_column(Text)
    actor: Mapped[str | None] = mapped_column(String(160))
    at: Mapped[datetime] = mapped_column(default=utcnow)
# (end of Publish)


# Hooks (issue 6): inbound webhooks, their secrets and calls, jobs, republications
class Hook(Base):
    """An inbound webhook: POST /hooks/{name}, verified with its secrets, allowed to trigger some actions."""

    __tablename__ = "hooks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    scheme: Mapped[str] = mapped_column(String(16), default="standard")  # standard (Standard Webhooks), github
    actions: Mapped[list[Any]] = mapped_column(JSON)  # reingest, republish, retract, ingest
    targets: Mapped[list[Any] | None] = mapped_column(JSON)  # republish may reach only these (None: any)
    max_body_bytes: Mapped[int | None] = mapped_column(Integer)
    description: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str | None] = mapped_column(String(160))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    secrets: Mapped[list["HookSecret"]] = relationship(back_populates="hook", order_by="HookSecret.id",
                                                       cascade="all, delete-orphan")


class HookSecret(Base):
    """One secret of a hook. HMAC needs the secret itself, so it is stored as given (never shown again); its
    fingerprint (first 12 hex of its SHA-256) names it in lists and call logs. Rotation sets ``expires_at``."""

    __tablename__ = "hook_secrets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    hook_id: Mapped[int] = mapped_column(ForeignKey("hooks.id", ondelete="CASCADE"), index=True)
    secret: Mapped[str] = mapped_column(Text)
    fingerprint: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]

    hook: Mapped[Hook] = relationship(back_populates="secrets")


class HookCall(Base):
    """Every inbound call of a hook, whatever became of it: verdict, reason, what it triggered, its job."""

    __tablename__ = "hook_calls"
    __table_args__ = (Index("ix_hook_calls_hook", "hook", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    hook: Mapped[str] = mapped_column(String(64))
    webhook_id: Mapped[str | None] = mapped_column(String(255))
    received_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    verdict: Mapped[str] = mapped_column(String(16))  # accepted, duplicate, refused
    status_code: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str | None] = mapped_column(Text)
    action: Mapped[str | None] = mapped_column(String(32))
    subject: Mapped[str | None] = mapped_column(Text)  # the article id or URL it was about
    job_id: Mapped[str | None] = mapped_column(String(36))
    secret: Mapped[str | None] = mapped_column(String(16))  # fingerprint of the secret that verified it
    remote_addr: Mapped[str | None] = mapped_column(String(64))
    body_bytes: Mapped[int | None] = mapped_column(Integer)
    body_sha256: Mapped[str | None] = mapped_column(String(64))


class Job(Base):
    """Work accepted from a hook (or an operator): stored before it is queued, so nothing accepted is lost."""

    __tablename__ = "jobs"
    # ix_jobs_finished serves the 30-day prune of finished jobs (hooks.sweep_jobs).
    __table_args__ = (Index("ix_jobs_status", "status", "updated_at"), Index("ix_jobs_finished", "finished_at"))

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))  # reingest, republish, retract, ingest
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending, queued, running, done, failed
    key: Mapped[str | None] = mapped_column(String(320), unique=True)  # hook:<hook id>:<webhook-id>
    body_sha256: Mapped[str | None] = mapped_column(String(64))
    hook: Mapped[str | None] = mapped_column(String(64))
    actor: Mapped[str | None] = mapped_column(String(160))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    queued_at: Mapped[datetime | None]
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    lease_until: Mapped[datetime | None]


class Republication(Base):
    """One republication of an article version: its key makes a repeated request a no-op; its id is the
    ``generation`` of the deliveries it created (one per chosen target)."""

    __tablename__ = "republications"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(320), unique=True)
    article_id: Mapped[str] = mapped_column(String(36), index=True)
    version: Mapped[int] = mapped_column(Integer)
    targets: Mapped[list[Any]] = mapped_column(JSON)
    actor: Mapped[str | None] = mapped_column(String(160))
    reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
# (end of Hooks)
