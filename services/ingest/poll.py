"""Polling one source: read it (by kind), keep what is new or changed, hand each item on, record the source's health.

Plain functions, no Celery: ``poll_source()`` returns what to send on: article payloads for
the clean stage (items whose content the source carried, or pushed pages) and ingest
requests (pages to fetch: entries with only a summary, sitemap and index links, files).
A failed poll is not a dead letter: the source itself records the error, backs off and,
after too many in a row, is suspended with the reason shown.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Callable

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from shared.errors import UnsupportedContentError
from shared.payload import ArticlePayload, IngestRequest, article_id_for
from shared.settings import get_settings
from shared.store import session_scope
from shared.store.blobs import blob_key, put_blob
from shared.store.models import SourceEntry
from shared.telemetry import get_logger
from services.ingest import fetcher, health, scheduling
from services.ingest.items import Item, Listing, as_utc, entry_page, iso
from services.ingest.sources import SourceView, get_view
from services.ingest.urls import canonical_url

log = get_logger(__name__)

SEEN_KEY = "newswire:ingest:seen:{}"  # hash: item key -> fingerprint, the fast "seen" check before the store


@dataclass
class PollOutcome:
    source_id: int
    fetch_id: str
    status: str = "ok"  # ok, not_modified, failed, skipped
    title: str | None = None
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    error: str | None = None
    next_poll: datetime | None = None
    articles: list[ArticlePayload] = field(default_factory=list)
    followups: list[IngestRequest] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    # What makes the items seen (their entries, the seen set, the source's ETag and health), run by confirm()
    # only once they were handed on: a worker that dies in between leaves them unseen, so the redelivered
    # message takes them again (the clean stage drops what it already has), instead of losing them.
    remember: list[Callable[[], None]] = field(default_factory=list)

    @property
    def children(self) -> list[str]:
        return [p.fetch_id for p in self.articles] + [r.fetch_id for r in self.followups]

    def confirm(self) -> None:
        """Record the items as seen: call after handing ``articles`` and ``followups`` on."""
        while self.remember:
            self.remember.pop(0)()


# -- reading, by kind ---------------------------------------------------------------
def _conditional_fetch(source: SourceView, accept: str) -> tuple[fetcher.Fetched, Listing]:
    fetched = fetcher.fetch(source.url, etag=source.etag, last_modified=source.last_modified,
                            options=source.options, accept=accept)
    listing = Listing(status=fetched.status, bytes=len(fetched.body), etag=fetched.etag or source.etag,
                      last_modified=fetched.last_modified or source.last_modified, max_age=fetched.max_age,
                      retry_after=fetched.retry_after, not_modified=fetched.not_modified)
    return fetched, listing


FEED_ACCEPT = ("application/rss+xml, application/atom+xml, application/feed+json, application/rdf+xml;q=0.9, "
               "application/xml;q=0.8, text/xml;q=0.8, */*;q=0.5")


def read_feed(source: SourceView) -> Listing:
    from services.ingest import feeds

    fetched, meta = _conditional_fetch(source, FEED_ACCEPT)
    if meta.not_modified:
        return meta
    if not fetched.body.strip():
        raise UnsupportedContentError(f"{source.url} returned an empty body")
    if not feeds.looks_like_feed(fetched.content_type, fetched.body):
        raise UnsupportedContentError(
            f"{source.url} is not a feed (content-type {fetched.content_type or 'none'}); "
            "add it with --kind index or --kind page")
    try:
        listing = feeds.listing(fetched.body, fetched.url, fetched.charset)
    except ValueError as exc:
        raise UnsupportedContentError(f"{source.url}: {exc}") from exc
    _copy_meta(meta, listing)
    return listing


def read_page(source: SourceView) -> Listing:
    fetched, meta = _conditional_fetch(source, "text/html,application/xhtml+xml;q=0.9,*/*;q=0.5")
    if not meta.not_modified:
        meta.items.append(Item(url=source.url, raw=fetched.body, content_type=fetched.content_type or "text/html"))
    return meta


def _copy_meta(meta: Listing, listing: Listing) -> None:
    for name in ("status", "bytes", "etag", "last_modified", "max_age", "retry_after", "not_modified"):
        setattr(listing, name, getattr(meta, name))


READERS: dict[str, Callable[[SourceView], Listing]] = {"feed": read_feed, "page": read_page}


def reader_for(kind: str) -> Callable[[SourceView], Listing]:
    if kind not in READERS:
        # Kinds implemented in their own modules register themselves on import.
        from services.ingest import index_pages, sitemaps, wire, dropdir  # noqa: F401
    if kind not in READERS:
        raise UnsupportedContentError(f"sources of kind {kind!r} are not polled")
    return READERS[kind]


# -- polling ------------------------------------------------------------------------
def poll_source(source_id: int, fetch_id: str | None = None, *, defer: bool = False) -> PollOutcome:
    """Poll one source. With ``defer``, its new items are recorded as seen only by ``outcome.confirm()``, which
    the caller runs after handing them on (the ingest task does); else before returning."""
    source = get_view(source_id)
    outcome = PollOutcome(source_id=source_id, fetch_id=fetch_id or uuid.uuid4().hex, title=source.title)
    if source.status == "paused":
        outcome.status = "skipped"
        outcome.notes.append("source is paused")
        scheduling.unschedule(source_id)  # paused elsewhere (the console): leave the due set until resumed
        return outcome
    try:
        listing = reader_for(source.kind)(source)
    except Exception as exc:  # noqa: BLE001  (every failure is recorded on the source; the poll never dies silently)
        outcome.status = "failed"
        outcome.error = getattr(exc, "reason", None) or f"{type(exc).__name__}: {exc}"
        outcome.next_poll = health.record_error(source_id, exc)
        log.warning("source %s poll failed: %s", source_id, outcome.error)
        return outcome
    outcome.title = listing.title or source.title
    outcome.notes.extend(listing.notes[:20])
    if listing.not_modified:
        outcome.status = "not_modified"
        outcome.next_poll = health.record_success(source_id, listing, new=0, updated=0, unchanged=0)
        return outcome
    take(source, listing, outcome)
    from services.ingest.scheduling import cadence_from_dates

    cadence = cadence_from_dates(item.published for item in listing.items)

    def succeeded() -> None:  # the ETag too: a redelivered poll must not be told "not modified"
        outcome.next_poll = health.record_success(source_id, listing, new=outcome.new, updated=outcome.updated,
                                                  unchanged=outcome.unchanged, cadence=cadence)

    outcome.remember.append(succeeded)
    if not defer:
        outcome.confirm()
    if listing.hub_url and source.kind == "feed" and (source.options or {}).get("websub", True) is not False:
        try:
            from services.ingest import websub

            websub.ensure_subscribed(source_id, listing.hub_url, listing.self_url or source.url)
        except Exception as exc:  # noqa: BLE001  (polling goes on; the state shows on the source)
            outcome.notes.append(f"WebSub subscription not made: {exc}")
    return outcome


def take(source: SourceView, listing: Listing, outcome: PollOutcome) -> None:
    """Keep the items that are new or changed (seen set in Redis, then the store), and make what goes on; their
    entries are written by ``outcome.confirm()``, after they were handed on."""
    settings = get_settings()
    items = _unique(listing.items)
    seen = _seen(source.id, items)
    candidates = [item for item in items if seen.get(item.key) != item.fingerprint]
    outcome.unchanged = len(items) - len(candidates)
    if len(candidates) > settings.ingest_max_items:
        left = len(candidates) - settings.ingest_max_items
        candidates = candidates[: settings.ingest_max_items]
        outcome.notes.append(f"{left} new items beyond NEWSWIRE_INGEST_MAX_ITEMS left for the next poll")
        # The next poll must see the whole body again (not a 304), and soon.
        listing.etag = listing.last_modified = None
        listing.max_age = listing.ttl_minutes = None
        listing.more = True
    if not candidates:
        return
    children: dict[str, str] = {}  # item key -> the fetch id of what it becomes
    with session_scope() as session:
        existing = _entries(session, source.id, [item.key for item in candidates])
        emitted: list[Item] = []
        for item in candidates:
            row = existing.get(item.key)
            if row is not None and row.content_hash == item.fingerprint:
                outcome.unchanged += 1
                continue
            if row is None:
                outcome.new += 1
            else:
                outcome.updated += 1
            children[item.key] = uuid.uuid4().hex
            emitted.append(item)
        blobs: dict[str, tuple[bytes, str]] = {}
        made = [_hand_on(blobs, source, listing, item, children[item.key]) for item in emitted]
        _put_blobs(session, blobs)
    for thing in made:
        if isinstance(thing, ArticlePayload):
            outcome.articles.append(thing)
        elif thing is not None:
            outcome.followups.append(thing)
    outcome.remember.append(lambda: _record_entries(source.id, candidates, children))


def _entries(session, source_id: int, keys: list[str]) -> dict[str, SourceEntry]:  # noqa: ANN001
    found: dict[str, SourceEntry] = {}
    for start in range(0, len(keys), 500):
        for row in session.execute(select(SourceEntry).where(SourceEntry.source_id == source_id,
                                                             SourceEntry.key.in_(keys[start:start + 500]))).scalars():
            found[row.key] = row
    return found


def _record_entries(source_id: int, candidates: list[Item], children: dict[str, str]) -> None:
    """The entries of what was handed on (new, or a new version of), and the seen set."""
    now = datetime.now(timezone.utc)
    try:
        with session_scope() as session:
            existing = _entries(session, source_id, [item.key for item in candidates])
            for item in candidates:
                row, child = existing.get(item.key), children.get(item.key)
                if row is None and child is not None:
                    session.add(SourceEntry(source_id=source_id, key=item.key, url=item.url[:4000],
                                            article_id=article_id_for(canonical_url(item.url)), title=item.title,
                                            published=iso(item.published), published_at=as_utc(item.published),
                                            lastmod=(item.lastmod or "")[:64] or None, content_hash=item.fingerprint,
                                            fetch_id=child, versions=1, first_seen_at=now, last_seen_at=now))
                elif row is not None and row.content_hash != item.fingerprint and child is not None:
                    row.title, row.published = item.title, iso(item.published)
                    row.published_at, row.lastmod = as_utc(item.published), (item.lastmod or "")[:64] or None
                    row.content_hash, row.fetch_id, row.versions = item.fingerprint, child, (row.versions or 1) + 1
                    row.last_seen_at = now
                elif row is not None:
                    row.last_seen_at = now
    except IntegrityError:
        # Another poll or push of this source recorded the same entry at the same moment: it is recorded.
        log.info("source %s: entries recorded concurrently by another intake", source_id)
    _remember(source_id, candidates)


def _unique(items: list[Item]) -> list[Item]:
    """One item per key. Items of one document that share an id or link but not their title (a podcast's home
    page as every item's link, a guid reused by mistake) are told apart by title and date, not collapsed."""
    seen: dict[str, Item] = {}
    out = []
    for item in items:
        first = seen.get(item.key)
        if first is not None and (first.title != item.title or not item.guid):
            item.key_extra = f"{item.title or ''}\x00{iso(item.published) or ''}"
        if item.key not in seen:
            seen[item.key] = item
            out.append(item)
    return out


def _seen(source_id: int, items: list[Item]) -> dict[str, str]:
    if not items:
        return {}
    try:
        from shared.redis_client import get_redis

        values = get_redis().hmget(SEEN_KEY.format(source_id), [item.key for item in items])
    except Exception:  # noqa: BLE001  (the store still knows)
        return {}
    return {item.key: value.decode() for item, value in zip(items, values) if value is not None}


def _remember(source_id: int, items: list[Item]) -> None:
    try:
        from shared.redis_client import get_redis

        get_redis().hset(SEEN_KEY.format(source_id), mapping={item.key: item.fingerprint for item in items})
    except Exception:  # noqa: BLE001
        pass


def wants_page(source: SourceView, item: Item) -> bool:
    """Fetch the item's own page? Listings of links always; feeds per the full_text setting."""
    if source.kind in ("sitemap", "index"):
        return True
    mode = str((source.options or {}).get("full_text") or get_settings().ingest_full_text).lower()
    if mode == "never":
        return False
    if mode == "always":
        return True
    return not item.content  # auto: only a summary (or nothing) in the feed


def _put_blobs(session, blobs: dict[str, tuple[bytes, str]]) -> None:  # noqa: ANN001
    """The claim-check blobs of one poll in one executemany (put_blob's semantics: stored once)."""
    from sqlalchemy.dialects.postgresql import insert as pg_insert
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    from shared.store.models import Blob

    if not blobs:
        return
    dialect = session.get_bind().dialect.name
    if dialect not in ("postgresql", "sqlite"):  # pragma: no cover - other backends
        for data, content_type in blobs.values():
            put_blob(session, data, content_type)
        return
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    rows = [{"key": key, "size": len(data), "content_type": content_type, "data": data}
            for key, (data, content_type) in blobs.items()]
    now = datetime.now(timezone.utc)
    for row in rows:
        row["created_at"] = now
    session.execute(insert(Blob).on_conflict_do_nothing(index_elements=["key"]), rows)  # executemany, cached


def _hand_on(blobs: dict, source: SourceView, listing: Listing, item: Item, child: str):  # noqa: ANN001, ANN202
    described = item.source_item(source.kind, listing.title)
    if item.path:
        return IngestRequest(path=item.path, url=item.url if item.url.startswith("http") else None,
                             source_id=source.id, fetch_id=child, follow_feeds=False, item=described)
    if item.raw is None and wants_page(source, item) and item.url.startswith(("http://", "https://")):
        return IngestRequest(url=item.url, source_id=source.id, fetch_id=child, follow_feeds=False, item=described)
    raw = item.raw if item.raw is not None else entry_page(item, listing_language(listing, item))
    content_type = item.content_type or "text/html"
    key = blob_key(raw)
    blobs[key] = (raw, content_type)
    payload = ArticlePayload.new(canonical_url(item.url), source_id=source.id, fetch_id=child)
    payload.raw_key = key
    payload.content_type = content_type
    payload.http_charset = "utf-8" if item.raw is None else None
    payload.item = described
    return payload


def listing_language(listing: Listing, item: Item) -> str | None:
    return item.language


def schedule_new(source_id: int) -> None:
    scheduling.schedule(source_id, datetime.now(timezone.utc))
