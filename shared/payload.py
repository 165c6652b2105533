"""The article payload: one versioned model for an article in flight.

Every stage reads it, adds its own part and appends to the trace; no stage
rewrites another's part. Raw bytes travel by reference (``raw_key``, a claim
check into the blob store), never inside the message.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime, timezone
from typing import Literal
from urllib.parse import urlsplit, urlunsplit

from pydantic import BaseModel, ConfigDict, Field

SCHEMA_VERSION = 1

# Fixed namespace: article ids are uuid5(namespace, normalised URL), stable across versions.
ARTICLE_NAMESPACE = uuid.UUID("7f3c9a52-4a55-4f0e-9d0b-6e2b1a0c5d11")


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def normalize_url(url: str) -> str:
    """Lower-case scheme and host, drop the fragment and default ports; keep path and query."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    port = parts.port
    if port and not ((scheme == "http" and port == 80) or (scheme == "https" and port == 443)):
        host = f"{host}:{port}"
    if parts.username:
        host = f"{parts.username}@{host}"
    path = parts.path or ("/" if scheme in ("http", "https") else "")
    return urlunsplit((scheme, host, path, parts.query, ""))


def article_id_for(url: str) -> str:
    return str(uuid.uuid5(ARTICLE_NAMESPACE, normalize_url(url)))


def content_hash(*parts: str) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(" ".join(part.split()).encode("utf-8"))
        digest.update(b"\x00")
    return digest.hexdigest()


class TraceEntry(BaseModel):
    stage: str
    worker: str
    start: datetime
    finish: datetime | None = None
    attempt: int = 1
    outcome: str = "ok"
    task_id: str | None = None  # the Celery task id, as in the JSON log lines (issue 7)


class Image(BaseModel):
    url: str
    caption: str | None = None


class CleanPart(BaseModel):
    title: str
    text: str
    html: str
    authors: list[str] = Field(default_factory=list)
    published: datetime | None = None
    site_name: str | None = None
    canonical_url: str | None = None
    extractor: str = "trafilatura"
    # Optional parts (older messages lack them).
    source_name: str | None = Field(default=None, description="The original outlet (新华社, Reuters), not the host")
    summary: str | None = Field(default=None, description="The page's own description or standfirst")
    lead_image: str | None = None
    images: list[Image] = Field(default_factory=list)
    charset: str | None = Field(default=None, description="The encoding the page was decoded with")
    charset_reason: str | None = Field(default=None, description="Why that encoding was chosen")
    charset_tried: list[str] = Field(default_factory=list, description="Every encoding tried, with how it read")
    charset_candidates: list[dict] = Field(
        default_factory=list,
        description="Every candidate scored: charset, source, errors, replacement, signs of mojibake, score, chosen")
    quality: dict | None = Field(default=None, description="Quality verdict: score, reasons, measures")
    cluster_id: str | None = Field(default=None, description="Near-duplicate cluster: the same article elsewhere")
    near_duplicate_of: str | None = Field(default=None, description="Article id of the closest known near-duplicate")
    changes: str | None = Field(default=None, description="How this version differs from the previous one")


class Entity(BaseModel):
    name: str
    kind: Literal["person", "place", "organisation"]
    mentions: int = 1
    salience: float = 0.0


class Place(BaseModel):
    name: str
    hierarchy: list[str] = Field(default_factory=list, description="Broadest first: 河南省, 焦作市, 解放区")
    country: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    code: str | None = None


class Topic(BaseModel):
    code: str = Field(description="IPTC Media Topic code, e.g. medtop:11000000")
    label: str
    label_zh: str | None = None
    score: float = 0.0


class EnrichPart(BaseModel):
    language: str | None = None
    language_confidence: float | None = None
    keywords: list[str] = Field(default_factory=list)
    reading_time_minutes: float = 0.0
    word_count: int = 0
    # Optional parts (older messages lack them).
    script: str | None = Field(default=None, description="For Chinese: Hans or Hant")
    simplified_text: str | None = Field(default=None, description="Simplified rendering of a Traditional text")
    entities: list[Entity] = Field(default_factory=list)
    places: list[Place] = Field(default_factory=list)
    main_place: Place | None = None
    topics: list[Topic] = Field(default_factory=list)
    summary: str | None = None
    story_id: str | None = Field(default=None, description="Story cluster: the same event across sources")
    versions: dict[str, str] = Field(default_factory=dict, description="Enricher name -> its version")
    errors: dict[str, str] = Field(default_factory=dict, description="Enricher name -> why it gave nothing")


class SourceItem(BaseModel):
    """What a source said about an item before its page was read (feed entry, sitemap URL, index link, wire item).

    Added by ingest (issue 11); optional everywhere, so older messages still validate.
    """

    url: str
    kind: str = Field(default="feed", description="feed, sitemap, index, page, wire, file, push, websub")
    guid: str | None = None
    title: str | None = None
    published: str | None = Field(default=None, description="ISO 8601; without a zone it is wall-clock as given")
    updated: str | None = None
    summary: str | None = None
    authors: list[str] = Field(default_factory=list)
    language: str | None = None
    feed_title: str | None = None


class ArticlePayload(BaseModel):
    """An article in flight between stages (JSON on the wire)."""

    model_config = ConfigDict(extra="forbid")

    schema_version: Literal[1] = SCHEMA_VERSION
    id: str
    fetch_id: str = Field(description="One ingest of this article; redeliveries keep it, a new fetch gets a new one")
    source_id: int | None = None
    url: str
    canonical_url: str | None = None
    fetched_at: datetime
    raw_key: str | None = Field(default=None, description="Claim check: key of the raw bytes in the blob store")
    content_type: str | None = None
    http_charset: str | None = None
    version: int | None = None
    content_hash: str | None = None
    clean: CleanPart | None = None
    enrich: EnrichPart | None = None
    trace: list[TraceEntry] = Field(default_factory=list)
    item: SourceItem | None = Field(default=None, description="What the source said of it (ingest, issue 11)")

    @classmethod
    def new(cls, url: str, *, source_id: int | None = None, fetch_id: str | None = None) -> "ArticlePayload":
        return cls(
            id=article_id_for(url),
            fetch_id=fetch_id or uuid.uuid4().hex,
            source_id=source_id,
            url=url,
            fetched_at=utcnow(),
        )

    def to_message(self) -> dict:
        return self.model_dump(mode="json")

    @classmethod
    def from_message(cls, message: dict) -> "ArticlePayload":
        return cls.model_validate(message)


class IngestRequest(BaseModel):
    """What the ingest stage is asked to take in: a URL to fetch, a local file, or bytes already stored."""

    model_config = ConfigDict(extra="forbid")

    schema_version: Literal[1] = SCHEMA_VERSION
    fetch_id: str = Field(default_factory=lambda: uuid.uuid4().hex)
    url: str | None = None
    path: str | None = None
    raw_key: str | None = None
    content_type: str | None = None
    source_id: int | None = None
    source_poll: bool = Field(default=False, description="A scheduled poll of the source itself: its health follows")
    follow_feeds: bool = True
    item: SourceItem | None = Field(default=None, description="The source's entry this page was found by (issue 11)")

    def to_message(self) -> dict:
        return self.model_dump(mode="json")
