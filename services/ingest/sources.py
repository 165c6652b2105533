"""The source list: add, list, show, change, pause, resume, remove; OPML in and out. Plain functions over the store."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import func, select

from shared.errors import PermanentError
from shared.settings import get_settings
from shared.store import session_scope
from shared.store.models import Source, SourceEntry
from services.ingest import scheduling

KINDS = ("feed", "sitemap", "index", "page", "wire", "file", "dir", "push")
OPTION_NAMES = {
    "full_text": "auto | always | never: fetch the entry's page when the feed has only a summary",
    "selector": "CSS selector of article links on an index page",
    "host_concurrency": "requests in flight to this source's host (overrides NEWSWIRE_INGEST_HOST_CONCURRENCY)",
    "host_rate": "requests per second to this source's host (overrides NEWSWIRE_INGEST_HOST_RATE)",
    "fixed_interval": "true: poll at interval_seconds exactly, no adaptation",
    "websub": "false: do not subscribe to the feed's hub",
    "max_bytes": "response size limit for this source",
}


class SourceError(PermanentError):
    def __init__(self, reason: str, status: int = 400) -> None:
        super().__init__(reason)
        self.status = status


@dataclass
class SourceView:
    """A snapshot of a source's row, safe to use after its session closed."""

    id: int
    kind: str
    url: str
    name: str | None
    title: str | None
    status: str
    options: dict
    interval_seconds: int
    etag: str | None
    last_modified: str | None
    error_streak: int
    cadence_seconds: float | None

    @classmethod
    def of(cls, row: Source) -> "SourceView":
        return cls(id=row.id, kind=row.kind, url=row.url, name=row.name, title=row.title, status=row.status,
                   options=dict(row.options or {}), interval_seconds=row.interval_seconds, etag=row.etag,
                   last_modified=row.last_modified, error_streak=row.error_streak or 0,
                   cadence_seconds=row.cadence_seconds)


def guess_kind(url: str) -> str:
    lowered = url.lower().strip()
    if re.match(r"[a-z][a-z0-9+.-]*:", lowered) and not lowered.startswith(("http://", "https://", "file://")):
        return "feed"  # a URL of another scheme (javascript:, ftp://, ...): validation says which schemes are fetched
    if not lowered.startswith(("http://", "https://")):
        from pathlib import Path

        path = Path(url).expanduser()
        return "dir" if path.is_dir() else "file"
    path = urlsplit(lowered).path
    if "sitemap" in path and path.endswith((".xml", ".xml.gz", ".gz")):
        return "sitemap"
    if path.endswith((".ninjs", ".ninjs.json", "newsml.xml", ".nml")):
        return "wire"
    return "feed"


def _normal_location(url: str, kind: str, remote: bool = False) -> str:
    url = url.strip()
    if kind in ("file", "dir"):
        from pathlib import Path

        path = Path(url.removeprefix("file://")).expanduser().resolve()
        if remote and not any(path.is_relative_to(root) for root in get_settings().local_source_roots()):
            raise SourceError("a local file or folder can be a source added over the API only inside a folder named "
                              "by NEWSWIRE_INGEST_LOCAL_ROOTS or NEWSWIRE_INGEST_DROP_DIR; use the CLI on the host "
                              "for other paths", status=403)
        if not path.exists():
            raise SourceError(f"no such {'folder' if kind == 'dir' else 'file'}: {path}")
        return str(path)
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SourceError(f"a source URL must be an absolute http(s) URL, not {url[:200]!r}")
    return url


def add(url: str, *, kind: str | None = None, name: str | None = None, interval: int | None = None,
        options: dict | None = None, remote: bool = False) -> dict[str, Any]:
    """Add a source. ``remote``: asked over the API, so a local path must lie inside the allowed folders."""
    kind = kind or guess_kind(url)
    if kind not in KINDS:
        raise SourceError(f"unknown kind {kind!r}: one of {', '.join(KINDS)}")
    url = _normal_location(url, kind, remote)
    unknown = set(options or {}) - set(OPTION_NAMES)
    if unknown:
        raise SourceError(f"unknown option(s) {', '.join(sorted(unknown))}: known are {', '.join(OPTION_NAMES)}")
    settings = get_settings()
    interval = interval or settings.ingest_default_interval
    if interval < 1:
        raise SourceError("interval must be at least 1 second")
    now = datetime.now(timezone.utc)
    with session_scope() as session:
        existing = session.execute(select(Source).where(Source.url == url)).scalar_one_or_none()
        if existing is not None:
            raise SourceError(f"source {existing.id} already has this URL", status=409)
        source = Source(kind=kind, url=url, name=name, interval_seconds=interval, options=options or {},
                        status="active", next_fetch_at=now)
        session.add(source)
        session.flush()
        source_id = source.id
    if kind != "push":
        scheduling.schedule(source_id, now)
    return show(source_id)


def get_view(source_id: int) -> SourceView:
    with session_scope() as session:
        row = session.get(Source, source_id)
        if row is None:
            raise SourceError(f"no source {source_id}", status=404)
        return SourceView.of(row)


def health_of(row: Source, now: datetime | None = None) -> str:
    """One word: new, ok, quiet, erroring, failing, suspended, paused."""
    now = now or datetime.now(timezone.utc)
    if row.status in ("paused", "suspended"):
        return row.status
    if (row.error_streak or 0) >= 3:
        return "failing"
    if row.error_streak:
        return "erroring"
    if row.last_fetched_at is None:
        return "new"
    if row.quiet:
        return "quiet"
    return "ok"


def describe(row: Source) -> dict[str, Any]:
    def stamp(value: datetime | None) -> str | None:
        return value.isoformat() if value else None

    due = None
    if row.status != "paused":
        try:
            score = scheduling.next_due(row.id)
            due = datetime.fromtimestamp(score, timezone.utc).isoformat() if score else stamp(row.next_fetch_at)
        except Exception:  # noqa: BLE001  (Redis down: the database's copy)
            due = stamp(row.next_fetch_at)
    return {
        "id": row.id,
        "kind": row.kind,
        "url": row.url,
        "name": row.name,
        "title": row.title,
        "status": row.status,
        "health": health_of(row),
        "interval_seconds": row.interval_seconds,
        "cadence_seconds": row.cadence_seconds,
        "options": row.options or {},
        "last_fetch": stamp(row.last_fetched_at),
        "last_success": stamp(row.last_success_at),
        "last_new_item": stamp(row.last_new_item_at),
        "last_status": row.last_status,
        "items_new": row.items_new or 0,
        "items_updated": row.items_updated or 0,
        "items_unchanged": row.items_unchanged or 0,
        "items_total": row.items_total or 0,
        "bytes": row.bytes_last or 0,
        "bytes_total": row.bytes_total or 0,
        "fetches": row.fetch_count or 0,
        "errors": row.error_count or 0,
        "error_streak": row.error_streak or 0,
        "last_error": row.last_error,
        "suspended_reason": row.suspended_reason,
        "suspended_at": stamp(row.suspended_at),
        "quiet": bool(row.quiet),
        "next_poll": due,
        "etag": row.etag,
        "last_modified": row.last_modified,
        "charset": row.charset,
        "charset_reason": row.charset_reason,
        "websub": {"hub": row.websub_hub, "topic": row.websub_topic, "state": row.websub_state,
                   "lease_until": stamp(row.websub_lease_until)} if row.websub_hub else None,
        "created_at": stamp(row.created_at),
    }


def show(source_id: int) -> dict[str, Any]:
    with session_scope() as session:
        row = session.get(Source, source_id)
        if row is None:
            raise SourceError(f"no source {source_id}", status=404)
        return describe(row)


def list_sources(*, status: str | None = None, kind: str | None = None, q: str | None = None,
                 limit: int = 1000, offset: int = 0, after_id: int | None = None) -> dict[str, Any]:
    """By id; ``after_id`` (keyset paging) or ``offset``. ``total`` counts every match, before either."""
    with session_scope() as session:
        query = select(Source).order_by(Source.id)
        if status:
            query = query.where(Source.status == status)
        if kind:
            query = query.where(Source.kind == kind)
        if q:
            query = query.where(Source.url.contains(q) | Source.title.contains(q) | Source.name.contains(q))
        total = session.execute(select(func.count()).select_from(query.subquery())).scalar_one()
        if after_id is not None:
            query = query.where(Source.id > after_id)
        rows = list(session.execute(query.limit(limit).offset(offset)).scalars())
        return {"items": [describe(row) for row in rows], "total": total}


def update(source_id: int, *, name: str | None = None, interval: int | None = None,
           options: dict | None = None) -> dict[str, Any]:
    unknown = set(options or {}) - set(OPTION_NAMES)
    if unknown:
        raise SourceError(f"unknown option(s) {', '.join(sorted(unknown))}")
    with session_scope() as session:
        row = session.get(Source, source_id)
        if row is None:
            raise SourceError(f"no source {source_id}", status=404)
        if name is not None:
            row.name = name
        if interval is not None:
            row.interval_seconds = max(1, interval)
        if options is not None:
            row.options = {**(row.options or {}), **options}
    return show(source_id)


def pause(source_id: int) -> dict[str, Any]:
    with session_scope() as session:
        row = session.get(Source, source_id)
        if row is None:
            raise SourceError(f"no source {source_id}", status=404)
        row.status = "paused"
    scheduling.unschedule(source_id)
    return show(source_id)


def resume(source_id: int) -> dict[str, Any]:
    """Active again and due now (a suspended source too: the operator vouches for it)."""
    now = datetime.now(timezone.utc)
    with session_scope() as session:
        row = session.get(Source, source_id)
        if row is None:
            raise SourceError(f"no source {source_id}", status=404)
        row.status = "active"
        row.suspended_reason = None
        row.suspended_at = None
        row.error_streak = 0
        row.next_fetch_at = now
        kind = row.kind
    if kind != "push":
        scheduling.schedule(source_id, now)
    return show(source_id)


def fetch_now(source_id: int) -> dict[str, Any]:
    """Poll the source now, whatever its schedule (an operator's "fetch now"); returns the poll's fetch id."""
    from shared.celery_app import app as celery
    from shared.payload import IngestRequest

    get_view(source_id)
    poll = IngestRequest(source_id=source_id, source_poll=True)
    try:
        celery.send_task("ingest.fetch", args=[poll.to_message()], queue="ingest")
    except Exception as exc:  # noqa: BLE001
        raise SourceError(f"queue unavailable: {exc}", status=503) from exc
    return {"id": source_id, "fetch_id": poll.fetch_id, "status": "polling"}


def remove(source_id: int) -> dict[str, Any]:
    with session_scope() as session:
        row = session.get(Source, source_id)
        if row is None:
            raise SourceError(f"no source {source_id}", status=404)
        gone = {"id": row.id, "url": row.url, "removed": True}
        session.query(SourceEntry).filter(SourceEntry.source_id == source_id).delete()
        session.delete(row)
    scheduling.unschedule(source_id)
    try:
        from shared.redis_client import get_redis

        get_redis().delete(f"newswire:ingest:seen:{source_id}")
    except Exception:  # noqa: BLE001
        pass
    return gone


def articles(source_id: int, *, limit: int = 100, offset: int = 0) -> dict[str, Any]:
    """What came of a source: one row per item it listed (id, url, title, published), newest first."""
    with session_scope() as session:
        if session.get(Source, source_id) is None:
            raise SourceError(f"no source {source_id}", status=404)
        total = session.execute(select(func.count()).select_from(SourceEntry)
                                .where(SourceEntry.source_id == source_id)).scalar_one()
        rows = session.execute(
            select(SourceEntry).where(SourceEntry.source_id == source_id)
            .order_by(SourceEntry.published_at.desc().nulls_last(), SourceEntry.id).limit(limit).offset(offset)
        ).scalars()
        items = [{"id": row.article_id, "url": row.url, "title": row.title, "published": row.published,
                  "versions": row.versions, "first_seen": row.first_seen_at.isoformat(),
                  "last_seen": row.last_seen_at.isoformat(), "fetch_id": row.fetch_id} for row in rows]
    return {"items": items, "total": total}
