"""What every target kind shares: its name, routing rules, delivery limits, and the outcome of one send."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from shared.errors import DeliveryError

NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
EXCERPT_CHARS = 500


class Rule(BaseModel):
    """One routing rule: every filter given must match; the first rule that matches decides."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = None
    action: str = Field("send", pattern="^(send|skip)$")
    source: list[str] = Field(default_factory=list, description="source ids, or text in the article URL's host")
    language: list[str] = Field(default_factory=list)
    topic: list[str] = Field(default_factory=list, description="IPTC codes (medtop:...) or labels")
    keywords: list[str] = Field(default_factory=list, description="any of them among the keywords or in the title")
    place: list[str] = Field(default_factory=list, description="any of them among the places or their hierarchy")
    min_quality: float | None = None
    max_quality: float | None = None


class TargetBase(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    rules: list[Rule] = Field(default_factory=list, description="none: every article is sent")
    schedule: list[float] | None = Field(None, description="seconds before each attempt; default the global one")
    rate: float | None = Field(None, gt=0, description="requests per second at most, across all workers")
    burst: int | None = Field(None, ge=1)
    concurrency: int | None = Field(None, ge=1, le=256, description="requests in flight at most, across workers")
    breaker_threshold: int | None = Field(None, ge=1)
    breaker_cooldown: float | None = Field(None, gt=0)
    disable_after: float | None = Field(None, gt=0, description="seconds of failing (no success) before disabling")

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not NAME.match(value):
            raise ValueError("target names are lower-case letters, digits, '-' and '_' (at most 64)")
        return value

    @field_validator("schedule")
    @classmethod
    def _schedule(cls, value: list[float] | None) -> list[float] | None:
        if value is not None and (not value or any(v < 0 for v in value)):
            raise ValueError("schedule is a non-empty list of seconds >= 0")
        return value

    # The engine sends nothing itself for targets that are only read (feeds): delivered when planned.
    pushes: bool = Field(True, exclude=True)

    @property
    def url(self) -> str:
        return ""


@dataclass
class Outgoing:
    """One delivery as a target sees it."""

    key: str  # the idempotency key: one per (article version, target, event)
    event: str  # publish, update, correct, retract
    document: dict[str, Any]  # services.publish.formats.article_document, plus lifecycle fields
    remote_id: str | None = None  # what the receiver called an earlier version (WordPress post id)
    attempt: int = 1


@dataclass
class Sent:
    status_code: int | None
    excerpt: str | None = None
    remote_id: str | None = None


class SendError(DeliveryError):
    """A failed send: whether to retry, the status, Retry-After, an excerpt of the answer, and whether the
    target is gone for good (410: disable it)."""

    def __init__(self, reason: str, *, transient: bool, status_code: int | None = None,
                 retry_after: float | None = None, excerpt: str | None = None, gone: bool = False) -> None:
        super().__init__(reason, transient=transient, status_code=status_code, retry_after=retry_after)
        self.excerpt = excerpt
        self.gone = gone


RETRIED_4XX = {408, 409, 425, 429}


def excerpt(body: bytes | None) -> str | None:
    if not body:
        return None
    return body[: EXCERPT_CHARS * 4].decode("utf-8", "replace")[:EXCERPT_CHARS]


def check_status(what: str, status: int, body: bytes | None, retry_after: float | None) -> None:
    """Raise SendError unless 2xx: 5xx and 408/409/425/429 retried, 410 disables, other 4xx and 3xx final."""
    if 200 <= status < 300:
        return
    text = excerpt(body)
    if status == 410:
        raise SendError(f"{what} answered 410 Gone: the target is disabled", transient=False, status_code=status,
                        excerpt=text, gone=True)
    if status >= 500 or status in RETRIED_4XX:
        raise SendError(f"{what} answered HTTP {status}", transient=True, status_code=status,
                        retry_after=retry_after, excerpt=text)
    if 300 <= status < 400:
        raise SendError(f"{what} answered {status} (redirects are not followed)", transient=False,
                        status_code=status, excerpt=text)
    raise SendError(f"{what} answered HTTP {status}", transient=False, status_code=status, excerpt=text)
