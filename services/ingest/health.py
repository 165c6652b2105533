"""A source's health after each fetch: counts, bytes, status, error streak, suspension, quiet flag, next poll."""

from __future__ import annotations

from datetime import datetime, timezone

from shared.errors import HTTPStatusError, NewswireError
from shared.settings import get_settings
from shared.store import session_scope
from shared.store.models import Source
from services.ingest import scheduling
from services.ingest.items import Listing


def record_success(source_id: int, listing: Listing, *, new: int, updated: int, unchanged: int,
                   cadence: float | None = None) -> datetime | None:
    """Store the outcome of a good fetch (200 or 304) and schedule the next poll; return when that is."""
    settings = get_settings()
    now = datetime.now(timezone.utc)
    with session_scope() as session:
        row = session.get(Source, source_id)
        if row is None:
            return None
        options = row.options or {}
        row.last_fetched_at = now
        row.last_success_at = now
        row.last_status = listing.status
        row.fetch_count = (row.fetch_count or 0) + 1
        row.error_streak = 0
        row.last_error = None
        if row.status == "suspended":  # the half-open probe succeeded
            row.status = "active"
            row.suspended_reason = None
            row.suspended_at = None
        if listing.title and not row.title:
            row.title = listing.title[:1000]
        if not listing.not_modified:
            row.etag = listing.etag
            row.last_modified = listing.last_modified
            row.items_new, row.items_updated, row.items_unchanged = new, updated, unchanged
            if listing.charset:
                row.charset, row.charset_reason = listing.charset[:32], listing.charset_reason
        else:
            row.items_new = row.items_updated = 0
        row.items_total = (row.items_total or 0) + new
        row.bytes_last = listing.bytes
        row.bytes_total = (row.bytes_total or 0) + listing.bytes
        if new:
            if cadence is None and row.last_new_item_at is not None:
                gap = (now - row.last_new_item_at).total_seconds() / new
                cadence = gap if row.cadence_seconds is None else 0.7 * row.cadence_seconds + 0.3 * gap
            row.last_new_item_at = now
        if cadence:
            row.cadence_seconds = cadence
        usual = row.cadence_seconds
        row.quiet = bool(usual and row.last_new_item_at
                         and (now - row.last_new_item_at).total_seconds() > settings.ingest_quiet_factor * max(
                             usual, settings.ingest_min_interval))
        delay = scheduling.next_poll_delay(
            interval=row.interval_seconds, cadence=row.cadence_seconds, ttl_minutes=listing.ttl_minutes,
            max_age=listing.max_age, fixed=bool(options.get("fixed_interval")))
        if listing.more:
            delay = scheduling._jitter(settings.ingest_min_interval)
        row.next_fetch_at = scheduling.due_time(delay, listing.skip_hours)
        when = row.next_fetch_at
        active = row.status == "active"
    if active:
        scheduling.schedule(source_id, when)
    return when


def record_error(source_id: int, exc: BaseException) -> datetime | None:
    """Count the error, back off, suspend after too many in a row (reason kept), schedule the next try or probe."""
    settings = get_settings()
    now = datetime.now(timezone.utc)
    reason = exc.reason if isinstance(exc, NewswireError) else f"{type(exc).__name__}: {exc}"
    retry_after = getattr(exc, "retry_after", None)
    with session_scope() as session:
        row = session.get(Source, source_id)
        if row is None:
            return None
        row.last_fetched_at = now
        row.fetch_count = (row.fetch_count or 0) + 1
        row.error_count = (row.error_count or 0) + 1
        row.error_streak = (row.error_streak or 0) + 1
        row.last_error = reason[:2000]
        row.last_status = exc.status_code if isinstance(exc, HTTPStatusError) else None
        row.items_new = row.items_updated = row.items_unchanged = 0
        row.bytes_last = 0
        if row.status == "active" and row.error_streak >= settings.ingest_suspend_after:
            row.status = "suspended"
            row.suspended_at = now
            row.suspended_reason = f"{row.error_streak} errors in a row; last: {reason[:500]}"
        if row.status == "suspended":
            delay = scheduling._jitter(settings.ingest_probe_interval)
        else:
            delay = scheduling.error_delay(interval=row.interval_seconds, streak=row.error_streak,
                                           retry_after=retry_after)
        row.next_fetch_at = scheduling.due_time(delay)
        when = row.next_fetch_at
        scheduled = row.status in ("active", "suspended")
    if scheduled:
        scheduling.schedule(source_id, when)
    return when
