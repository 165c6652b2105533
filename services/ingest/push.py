"""Items pushed to us: a body POSTed to /sources/{id}/push or a verified WebSub notification.

The body (stored once as a blob; the message carries its key) is read by what it is: a feed,
a ninjs / NewsML-G2 file, or an HTML page (with the URL it came from). Its items then go
through the same new-or-changed check as a poll.
"""

from __future__ import annotations

import uuid

from shared.errors import PermanentError, UnsupportedContentError
from shared.store import session_scope
from shared.store.blobs import get_blob
from shared.store.models import Blob
from services.ingest.items import Item, Listing
from services.ingest.service import IngestOutcome, looks_like_html


def read_body(body: bytes, url: str | None, content_type: str | None) -> Listing:
    from services.ingest import feeds, wire

    base = url or "urn:newswire:push"
    if wire.looks_like_wire(body):
        listing = Listing(status=200, bytes=len(body))
        listing.format, listing.items = wire.parse_wire(body, base)
        return listing
    if feeds.looks_like_feed((content_type or "").split(";")[0].strip().lower(), body):
        try:
            listing = feeds.listing(body, base)
        except ValueError as exc:
            raise UnsupportedContentError(f"pushed body: {exc}") from exc
        listing.bytes = len(body)
        return listing
    if looks_like_html(body):
        if not url or not url.startswith(("http://", "https://")):
            raise PermanentError("a pushed HTML page needs the URL it came from (?url=...)")
        return Listing(status=200, bytes=len(body),
                       items=[Item(url=url, raw=body, content_type="text/html")])
    raise UnsupportedContentError("pushed body is not a feed, a ninjs / NewsML-G2 item or an HTML page")


def take_push(message: dict) -> IngestOutcome:
    from services.ingest.poll import PollOutcome, take
    from services.ingest.sources import get_view

    source = get_view(int(message["source_id"]))
    with session_scope() as session:
        if session.get(Blob, message["raw_key"]) is None:
            raise PermanentError(f"pushed body {message['raw_key']} is not in the store")
        body = get_blob(session, message["raw_key"])
    listing = read_body(body, message.get("url"), message.get("content_type"))
    result = PollOutcome(source_id=source.id, fetch_id=message.get("fetch_id") or uuid.uuid4().hex)
    take(source, listing, result)
    return IngestOutcome(articles=result.articles, followups=result.followups, feed_title=listing.title,
                         skipped=listing.notes, remember=[result.confirm])
