"""robots.txt: fetched once per host through the safe client, cached in Redis, obeyed for pages we discover.

A feed or sitemap a user subscribed to is fetched as asked (as feed readers do); pages we
find ourselves (entry full text, index-page links, sitemap URLs) are checked here.
Missing robots.txt (4xx) allows all; an unreachable one (5xx, network) disallows for a
short while, as Google's crawler does.
"""

from __future__ import annotations

from urllib.parse import urlsplit
from urllib.robotparser import RobotFileParser

from shared.errors import FetchError, HTTPStatusError, PermanentError
from shared.settings import get_settings

ALLOW_ALL = "\x00allow"
DISALLOW_ALL = "\x00disallow"


class RobotsDisallowed(PermanentError):
    """robots.txt of the host forbids this URL to our User-Agent."""


def _robots_text(origin: str) -> str:
    from shared import http
    from shared.redis_client import get_redis

    settings = get_settings()
    key = f"newswire:robots:{origin}"
    client = get_redis()
    cached = client.get(key)
    if cached is not None:
        return cached.decode("utf-8", "replace")
    ttl = settings.ingest_robots_ttl
    try:
        response = http.fetch(f"{origin}/robots.txt", accept="text/plain", max_bytes=512 * 1024)
        text = response.content.decode("utf-8", "replace")
    except HTTPStatusError as exc:
        text = ALLOW_ALL if 400 <= exc.status_code < 500 else DISALLOW_ALL
        ttl = ttl if text == ALLOW_ALL else 600
    except FetchError:
        text, ttl = DISALLOW_ALL, 600
    client.set(key, text.encode("utf-8"), ex=ttl)
    return text


def allowed(url: str, user_agent: str | None = None) -> bool:
    settings = get_settings()
    if not settings.ingest_obey_robots:
        return True
    parts = urlsplit(url)
    origin = f"{parts.scheme}://{parts.netloc}"
    text = _robots_text(origin)
    if text == ALLOW_ALL:
        return True
    if text == DISALLOW_ALL:
        return False
    parser = RobotFileParser()
    parser.parse(text.splitlines())
    agent = (user_agent or settings.user_agent).split("/", 1)[0]
    return parser.can_fetch(agent, url)


def check(url: str) -> None:
    if not allowed(url):
        raise RobotsDisallowed(f"robots.txt of {urlsplit(url).netloc} disallows {url[:300]}")
