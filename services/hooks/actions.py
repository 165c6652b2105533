"""What a hook may ask, and what a job then does, through the stages' own functions:

- ``reingest`` {url} or {source_id}: fetch the page again now (``ingest.fetch``, as POST /ingest does), or poll
  the source now whatever its schedule (as ``newswire sources fetch`` does);
- ``ingest`` {url, body, content_type?, source_id?}: a pushed article body, stored in the blob store when the
  call is accepted; with source_id it goes the POST /sources/{id}/push way (``ingest.push``: a feed, ninjs or
  NewsML item, or a page), else the POST /ingest way (a page for that URL);
- ``republish`` {article_id | url, version?, targets?}: services.publish.republish, keyed by the call;
- ``retract`` {article_id | url, note?}: services.publish.lifecycle.retract.
"""

from __future__ import annotations

from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from shared.payload import article_id_for
from shared.store.models import Job


class NoNul(BaseModel):
    """A request body in which no string holds NUL (PostgreSQL refuses it in text: a 422, not a store error)."""

    @model_validator(mode="before")
    @classmethod
    def _no_nul(cls, data: Any) -> Any:
        if isinstance(data, dict) and "\x00" in repr_strings(data):
            raise ValueError("NUL characters are not accepted")
        return data


class HookPayload(NoNul):
    """The JSON body of a hook call. Unknown fields are refused (a typo must not widen what is done)."""

    model_config = ConfigDict(extra="forbid")

    action: Literal["reingest", "ingest", "republish", "retract"] | None = Field(
        None, description="May be left out when the hook allows a single action")
    url: str | None = Field(None, max_length=4096)
    article_id: str | None = Field(None, max_length=36)
    version: int | None = Field(None, ge=1, le=2**31 - 1)
    targets: list[str] | None = Field(None, max_length=100)
    note: str | None = Field(None, max_length=2000, description="retract: why (sent to the targets)")
    reason: str | None = Field(None, max_length=2000, description="republish: why (audited)")
    body: str | None = Field(None, description="ingest: the pushed page, feed or item")
    content_type: str | None = Field(None, max_length=255)
    source_id: int | None = Field(None, ge=1, le=2**31 - 1)

    @field_validator("url")
    @classmethod
    def _http(cls, value: str | None) -> str | None:
        if value is None:
            return value
        parts = urlsplit(value.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("url must be an absolute http(s) URL")
        return value.strip()

    @model_validator(mode="after")
    def _needs(self) -> "HookPayload":
        if self.action == "reingest" and not (self.url or self.source_id):
            raise ValueError("reingest needs url (a page) or source_id (a source)")
        if self.action == "ingest" and not self.url:
            raise ValueError("ingest needs url")
        if self.action == "ingest" and not (self.body and self.body.strip()):
            raise ValueError("ingest needs a non-empty body")
        if self.action in ("republish", "retract") and not (self.article_id or self.url):
            raise ValueError(f"{self.action} needs article_id (or the article's url)")
        return self

    def article(self) -> str:
        return self.article_id or article_id_for(self.url or "")

    def subject(self) -> str | None:
        if self.action in ("republish", "retract"):
            return self.article()
        return self.url or (f"source {self.source_id}" if self.source_id else None)


def repr_strings(value: Any) -> str:
    """Every string inside ``value`` joined (to look for characters the store refuses, such as NUL). A loop, not a
    recursion: a JSON body nested a thousand deep must get its 4xx, not a RecursionError."""
    found: list[str] = []
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            found.append(item)
        elif isinstance(item, dict):
            for key, inner in reversed(list(item.items())):
                stack.extend((inner, key))
        elif isinstance(item, (list, tuple)):
            stack.extend(reversed(item))
    return "".join(found)


def params_for(payload: HookPayload, raw_key: str | None, allowed_targets: tuple[str, ...] | None) -> dict[str, Any]:
    """The job's parameters (a pushed body is stored as a blob; the job names it)."""
    if payload.action == "reingest":
        return {"url": payload.url} if payload.url else {"source_id": payload.source_id}
    if payload.action == "ingest":
        return {"url": payload.url, "raw_key": raw_key, "content_type": payload.content_type or "text/html",
                "source_id": payload.source_id}
    if payload.action == "republish":
        targets = payload.targets if payload.targets is not None else (
            list(allowed_targets) if allowed_targets is not None else None)
        return {"article_id": payload.article(), "version": payload.version, "targets": targets,
                "reason": payload.reason}
    return {"article_id": payload.article(), "note": payload.note}


def perform(job: Job) -> dict[str, Any]:
    """Do what the job asks; returns its result (raises NewswireError / ValueError when it cannot)."""
    params = job.params or {}
    actor = f"hook {job.hook}" if job.hook else (job.actor or "job")
    if job.kind == "reingest" and not params.get("url"):
        from shared.payload import IngestRequest
        from services.ingest.sources import get_view

        get_view(params["source_id"])  # no such source (any more): the job fails, saying so
        poll = IngestRequest(source_id=params["source_id"], source_poll=True, fetch_id=job.id)
        _send("ingest.fetch", poll.to_message())
        return {"fetch_id": poll.fetch_id, "source_id": params["source_id"]}
    if job.kind == "reingest":
        from shared.payload import IngestRequest

        request = IngestRequest(url=params["url"], fetch_id=job.id)
        _send("ingest.fetch", request.to_message())
        return {"fetch_id": request.fetch_id, "article_id": article_id_for(params["url"]), "url": params["url"]}
    if job.kind == "ingest":
        if params.get("source_id"):
            message = {"source_id": params["source_id"], "raw_key": params["raw_key"], "url": params.get("url"),
                       "content_type": params.get("content_type"), "fetch_id": job.id}
            _send("ingest.push", message)
            return {"fetch_id": job.id, "source_id": params["source_id"], "url": params.get("url")}
        from shared.payload import IngestRequest

        request = IngestRequest(url=params["url"], raw_key=params["raw_key"],
                                content_type=params.get("content_type") or "text/html", follow_feeds=False,
                                fetch_id=job.id)
        _send("ingest.fetch", request.to_message())
        return {"fetch_id": request.fetch_id, "article_id": article_id_for(params["url"]), "url": params["url"]}
    if job.kind == "republish":
        from services.publish.republish import republish
        from services.publish.tasks import after_change

        result = republish(params["article_id"], params.get("version"), params.get("targets"), actor=actor,
                           reason=params.get("reason"), key=job.key or f"job:{job.id}")
        after_change(result.targets)
        return result.to_dict()
    if job.kind == "retract":
        from services.publish import lifecycle
        from services.publish.targets import configured_targets
        from services.publish.tasks import after_change

        outcome = lifecycle.retract(params["article_id"], configured_targets(), note=params.get("note"),
                                    actor=actor)
        after_change(outcome.targets)
        return outcome.to_dict()
    raise ValueError(f"unknown job kind {job.kind!r}")


def _send(task: str, message: dict[str, Any]) -> None:
    from shared.celery_app import app as celery

    celery.send_task(task, args=[message], queue="ingest")
