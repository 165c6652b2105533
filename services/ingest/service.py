"""Ingest: take a URL, a local file or stored bytes; fetch, store the raw bytes once, hand on.

Plain functions, no Celery: ``ingest()`` returns what to send on (articles for
the clean stage, and more ingest requests for a feed's entries).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from shared import http
from shared.errors import PermanentError, UnsupportedContentError
from shared.payload import ArticlePayload, IngestRequest, utcnow
from shared.settings import get_settings
from shared.store import session_scope
from shared.store.blobs import put_blob
from shared.telemetry import get_logger
from services.ingest.feeds import looks_like_feed, parse_feed

log = get_logger(__name__)

HTML_CONTENT_TYPES = {"text/html", "application/xhtml+xml", "text/plain", ""}


@dataclass
class IngestOutcome:
    articles: list[ArticlePayload] = field(default_factory=list)
    followups: list[IngestRequest] = field(default_factory=list)
    feed_title: str | None = None
    skipped: list[str] = field(default_factory=list)
    poll: object | None = None  # the PollOutcome, when this intake was a source poll
    remember: list[Callable[[], None]] = field(default_factory=list)  # run by confirm() once handed on

    def confirm(self) -> None:
        """Record what a poll or a push took as seen (its entries, the source's ETag): call after handing
        ``articles`` and ``followups`` on, so a worker dying in between loses nothing (the message comes back)."""
        while self.remember:
            self.remember.pop(0)()


def looks_like_html(body: bytes) -> bool:
    head = body[:2048]
    if b"\x00" in head:
        return False
    lowered = head.lower()
    return any(tag in lowered for tag in (b"<html", b"<!doctype html", b"<head", b"<body", b"<p", b"<div", b"<article"))


def ingest(request: IngestRequest) -> IngestOutcome:
    if request.source_poll and request.source_id:
        return poll(request.source_id, request.fetch_id)
    if request.raw_key:
        if not request.url:
            raise PermanentError("stored bytes need the URL they came from")
        return IngestOutcome(articles=[_payload(request, request.url, request.raw_key, request.content_type, None)])
    if request.path:
        return _ingest_file(request)
    if request.url:
        return _ingest_url(request)
    raise PermanentError("nothing to ingest: give a url, a path or stored bytes")


def poll(source_id: int, fetch_id: str) -> IngestOutcome:
    """A poll of a source, as an intake: its new items become the articles and follow-ups."""
    from services.ingest.poll import poll_source

    result = poll_source(source_id, fetch_id, defer=True)
    outcome = IngestOutcome(articles=result.articles, followups=result.followups, feed_title=result.title,
                            skipped=result.notes, remember=[result.confirm])
    outcome.poll = result
    return outcome


def _payload(request: IngestRequest, url: str, raw_key: str, content_type: str | None, charset: str | None) -> ArticlePayload:
    from services.ingest.urls import canonical_url

    payload = ArticlePayload.new(canonical_url(url) if request.item else url, source_id=request.source_id,
                                 fetch_id=request.fetch_id)
    payload.item = request.item
    payload.raw_key = raw_key
    payload.content_type = content_type
    payload.http_charset = charset
    return payload


def _ingest_file(request: IngestRequest) -> IngestOutcome:
    path = Path(request.path).expanduser().resolve()
    limit = get_settings().max_body_bytes
    if not path.is_file():
        raise PermanentError(f"no such file: {path}")
    if path.stat().st_size > limit:
        raise PermanentError(f"file of {path.stat().st_size} bytes exceeds the limit of {limit} bytes")
    body = path.read_bytes()
    url = request.url or path.as_uri()
    return _take_body(request, url, body, "", None)


def _ingest_url(request: IngestRequest) -> IngestOutcome:
    if request.item is None and request.source_id is None:
        # One page an operator or a script submitted (POST /ingest, newswire ingest): fetched at once, as asked.
        response = http.fetch(request.url)
    else:
        from services.ingest import fetcher

        # A page a source led us to: politely (per-host slots shared by all workers), robots.txt obeyed.
        response = fetcher.fetch(request.url, check_robots=True)
    return _take_body(request, response.url if not request.url else request.url, response.content,
                      response.content_type, response.charset)


def _take_body(request: IngestRequest, url: str, body: bytes, content_type: str, charset: str | None) -> IngestOutcome:
    if not body.strip():
        raise UnsupportedContentError(f"{url} returned an empty body")
    if request.follow_feeds and looks_like_feed(content_type, body):
        try:
            feed = parse_feed(body, url)
        except ValueError as exc:
            raise UnsupportedContentError(f"{url}: {exc}") from exc
        outcome = IngestOutcome(feed_title=feed.title)
        for entry in feed.entries:
            if not entry.link or not entry.link.startswith(("http://", "https://")):
                outcome.skipped.append(f"entry {entry.entry_id or entry.title!r} has no http(s) link")
                continue
            outcome.followups.append(IngestRequest(url=entry.link, source_id=request.source_id, follow_feeds=False))
        return outcome
    if content_type not in HTML_CONTENT_TYPES and not (content_type.endswith("+xml") and looks_like_html(body)):
        raise UnsupportedContentError(f"{url} is {content_type}, not an HTML page or a feed")
    if not looks_like_html(body):
        raise UnsupportedContentError(f"{url} does not look like HTML (content-type {content_type or 'unknown'})")
    with session_scope() as session:
        key = put_blob(session, body, content_type or None)
    payload = _payload(request, url, key, content_type or None, charset)
    if request.item is not None:  # found by a source: the page's own rel=canonical / og:url, tracking stripped
        from services.ingest.urls import declared_canonical

        payload.canonical_url = declared_canonical(body, url)
    return IngestOutcome(articles=[payload])
