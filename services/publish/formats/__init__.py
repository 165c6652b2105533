"""Formats: the article document, webhook/file bodies (json, ninjs 2.1, NewsML-G2) and the feeds."""

from __future__ import annotations

import json
from typing import Any

import orjson

from services.publish.formats.document import article_document, iso
from services.publish.formats.feeds import Channel, atom_feed, json_feed, rss_feed
from services.publish.formats.newsml import newsml_item
from services.publish.formats.ninjs import ninjs_item

CONTENT_TYPES = {
    "json": "application/json",
    "ninjs": "application/json",
    "newsml": "application/vnd.iptc.g2.newsitem+xml",
}
EVENT_TYPES = {"publish": "article.published", "update": "article.updated", "correct": "article.corrected",
               "retract": "article.retracted"}


def json_body(event: str, document: dict[str, Any]) -> dict[str, Any]:
    return {"type": EVENT_TYPES[event], **document}


def dumps(value: Any, *, sort_keys: bool = False) -> bytes:  # noqa: ANN401
    """Compact UTF-8 JSON: orjson (a tenth of json.dumps' time on a delivery body, the same bytes), json.dumps
    for what orjson refuses (integers past 64 bits, keys that are not strings)."""
    try:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS if sort_keys else 0)
    except TypeError:  # orjson.JSONEncodeError
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=sort_keys).encode("utf-8")


def render(format: str, outgoing: Any) -> tuple[bytes, str]:  # noqa: A002
    """The body and content type of one delivery in the target's format."""
    if format == "ninjs":
        body = dumps(ninjs_item(outgoing.event, outgoing.document))
    elif format == "newsml":
        body = newsml_item(outgoing.event, outgoing.document)
    else:
        body = dumps(json_body(outgoing.event, outgoing.document), sort_keys=True)
    return body, CONTENT_TYPES[format]


__all__ = ["article_document", "atom_feed", "iso", "json_feed", "newsml_item", "ninjs_item", "render", "rss_feed", "Channel"]
