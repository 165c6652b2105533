"""WebSub: the feeds advertise the hub (NEWSWIRE_WEBSUB_HUB); when a channel changes, the hub is pinged
(``hub.mode=publish``, ``hub.url=<feed>``) so subscribers fetch it at once. A failed ping is logged, never
fatal: subscribers still poll."""

from __future__ import annotations

from urllib.parse import urlencode

from shared import http
from shared.errors import FetchError
from shared.settings import get_settings
from shared.telemetry import get_logger

log = get_logger(__name__)
FORMATS = ("atom", "rss", "json")


def feed_urls(channels: list[str]) -> list[str]:
    base = get_settings().public_url.rstrip("/")
    return [f"{base}/feeds/{channel}.{fmt}" for channel in channels for fmt in FORMATS]


def ping(channels: list[str]) -> list[str]:
    """Ping the hub for each feed of these channels; returns the feed URLs the hub accepted."""
    hub = get_settings().websub_hub
    if not hub or not channels:
        return []
    accepted = []
    for url in feed_urls(channels):
        body = urlencode({"hub.mode": "publish", "hub.url": url}).encode()
        try:
            response = http.request("POST", hub, content=body, max_bytes=16 * 1024, timeout=5,
                                    headers={"Content-Type": "application/x-www-form-urlencoded"},
                                    follow_redirects=False, raise_for_status=True)
        except FetchError as exc:
            log.warning("WebSub hub %s refused the ping for %s: %s", hub, url, exc)
            continue
        if 200 <= response.status_code < 300:
            accepted.append(url)
    return accepted
