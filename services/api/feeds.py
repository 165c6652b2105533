"""Feeds served per channel: /feeds/<channel>.atom, .rss and .json, with conditional GET (ETag and
Last-Modified) and paging (``?before=<cursor>``, linked as next). ``all`` lists every published article;
every feed target is a channel of its own."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone
from email.utils import format_datetime, parsedate_to_datetime

from fastapi import APIRouter, HTTPException, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from shared.settings import get_settings
from services.publish import channels
from services.publish.formats import Channel, atom_feed, json_feed, rss_feed
from services.publish.targets import FeedTarget, configured_targets

router = APIRouter()
MEDIA_TYPES = {"atom": "application/atom+xml", "rss": "application/rss+xml", "json": "application/feed+json"}


def _channel(name: str) -> tuple[Channel, int, bool]:
    settings = get_settings()
    base = settings.public_url.rstrip("/")
    if name == "all" and not isinstance(configured_targets().get("all"), FeedTarget):
        return Channel("all", "Newswire: all articles", base, hub=settings.websub_hub), settings.feed_size, True
    target = configured_targets().get(name)
    if not isinstance(target, FeedTarget):
        raise HTTPException(404, f"no feed channel {name!r}")
    return (Channel(name, target.title or f"Newswire: {name}", base, description=target.description,
                    hub=settings.websub_hub), target.size, False)


def render(name: str, fmt: str, before: str | None, limit: int | None) -> tuple[bytes, datetime | None]:
    channel, size, everything = _channel(name)
    size = min(limit or size, 1000)
    try:
        page = channels.all_channel(size, before) if everything else channels.target_channel(name, size, before)
    except channels.CursorError as exc:
        raise HTTPException(400, str(exc)) from exc
    channel.next_cursor = page.next_cursor
    updated = page.last_modified
    if fmt == "json":
        body = json.dumps(json_feed(page.entries, base_url=channel.base_url, channel=channel),
                          ensure_ascii=False).encode("utf-8")
    elif fmt == "atom":
        body = atom_feed(page.entries, base_url=channel.base_url, updated=updated, channel=channel)
    else:
        body = rss_feed(page.entries, channel=channel, updated=updated)
    return body, updated


def conditional(request: Request, body: bytes, media_type: str, updated: datetime | None) -> Response:
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    headers = {"ETag": etag, "Cache-Control": "max-age=30", "Vary": "Accept-Encoding"}
    if updated is not None:
        headers["Last-Modified"] = format_datetime(updated.astimezone(timezone.utc), usegmt=True)
    given = request.headers.get("if-none-match")
    if given is not None:
        if etag in [tag.strip().removeprefix("W/") for tag in given.split(",")] or given.strip() == "*":
            return Response(status_code=304, headers=headers)
    elif updated is not None and request.headers.get("if-modified-since"):
        try:
            since = parsedate_to_datetime(request.headers["if-modified-since"])
        except (TypeError, ValueError):
            since = None
        if since is not None and updated.replace(microsecond=0) <= since:
            return Response(status_code=304, headers=headers)
    return Response(content=body, media_type=media_type, headers=headers)


@router.get("/feeds/{channel}.{fmt}", tags=["feeds"])
async def feed(request: Request, channel: str, fmt: str, before: str | None = None,
               limit: int | None = Query(None, ge=1, le=1000)) -> Response:
    """A channel's feed as Atom, RSS 2.0 or JSON Feed 1.1 (newest first; ``before`` pages back)."""
    if fmt not in MEDIA_TYPES:
        raise HTTPException(404, f"no feed format {fmt!r}: atom, rss or json")
    body, updated = await run_in_threadpool(render, channel, fmt, before, limit)
    return conditional(request, body, MEDIA_TYPES[fmt], updated)
