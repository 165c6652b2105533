"""Local files and directories (a drop folder): each file, when new or changed (mtime and size), is read by what it is.

A feed file gives its entries, a ninjs / NewsML-G2 file its news items, an HTML file
is a page (its URL: a <link rel=canonical> in it, else its file:// URI). Files are
never moved or deleted: the seen set remembers which version of each was taken.
"""

from __future__ import annotations

from pathlib import Path

from shared.errors import UnsupportedContentError
from shared.settings import get_settings
from services.ingest.items import Item, Listing
from services.ingest.sources import SourceView

FILES_KEY = "newswire:ingest:files:{}"
SUFFIXES = {".xml", ".rss", ".atom", ".rdf", ".json", ".ninjs", ".html", ".htm", ".nml", ".txt"}
MAX_FILES_PER_POLL = 200


def read_file(path: Path, limit: int) -> Listing:
    from services.ingest import feeds, wire

    size = path.stat().st_size
    if size > limit:
        raise UnsupportedContentError(f"{path}: {size} bytes exceeds the limit of {limit} bytes")
    body = path.read_bytes()
    listing = Listing(bytes=len(body), status=200)
    uri = path.as_uri()
    if wire.looks_like_wire(body):
        listing.format, listing.items = wire.parse_wire(body, uri)
    elif feeds.looks_like_feed("", body):
        try:
            parsed = feeds.listing(body, uri)
        except ValueError as exc:
            raise UnsupportedContentError(f"{path}: {exc}") from exc
        parsed.bytes, parsed.status = listing.bytes, 200
        listing = parsed
    else:
        from services.ingest.service import looks_like_html

        if not looks_like_html(body):
            raise UnsupportedContentError(f"{path}: not a feed, a wire file or an HTML page")
        url = _canonical_in(body) or uri
        listing.items = [Item(url=url, raw=body, content_type="text/html", lastmod=str(path.stat().st_mtime_ns))]
    return listing


def _canonical_in(body: bytes) -> str | None:
    from services.ingest.urls import _CANONICAL, _HREF

    tag = _CANONICAL.search(body[:200_000])
    if tag:
        href = _HREF.search(tag.group(0))
        if href:
            value = href.group(1).decode("utf-8", "replace").strip()
            if value.startswith(("http://", "https://")):
                return value
    return None


def read_dir(source: SourceView) -> Listing:
    from shared.redis_client import get_redis

    root = Path(source.url)
    if not root.exists():
        raise UnsupportedContentError(f"{root} does not exist (any more)")
    files = [root] if root.is_file() else sorted(
        (p for p in root.rglob("*") if p.is_file() and not p.name.startswith(".") and p.suffix.lower() in SUFFIXES),
        key=lambda p: p.stat().st_mtime)
    client = get_redis()
    key = FILES_KEY.format(source.id)
    known = {k.decode(): v.decode() for k, v in client.hgetall(key).items()}
    listing = Listing(status=200)
    taken = {}
    limit = get_settings().max_body_bytes
    for path in files:
        stat = path.stat()
        stamp = f"{stat.st_mtime_ns}:{stat.st_size}"
        if known.get(str(path)) == stamp:
            continue
        if len(taken) >= MAX_FILES_PER_POLL:
            listing.notes.append("more changed files than one poll takes: the rest follow next poll")
            break
        try:
            one = read_file(path, limit)
        except Exception as exc:  # noqa: BLE001  (one bad file is reported, the others go on)
            listing.notes.append(f"{path.name}: {getattr(exc, 'reason', exc)}")
            taken[str(path)] = stamp
            continue
        listing.items.extend(one.items)
        listing.bytes += one.bytes
        listing.title = listing.title or (one.title if root.is_file() else None)
        taken[str(path)] = stamp
    if taken:
        client.hset(key, mapping=taken)
    listing.title = listing.title or root.name
    return listing


def _register() -> None:
    from services.ingest.poll import READERS

    READERS["dir"] = read_dir
    READERS["file"] = read_dir


_register()
