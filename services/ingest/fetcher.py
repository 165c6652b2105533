"""Fetching a source or a page: the safe client, per-host politeness, conditional GET, robots.txt, cache hints."""

from __future__ import annotations

import re
from dataclasses import dataclass

from shared import http
from shared.settings import get_settings
from services.ingest import politeness, robots
from services.ingest.urls import host_of

_MAX_AGE = re.compile(r"(?:^|,)\s*(?:s-maxage|max-age)\s*=\s*(\d+)", re.IGNORECASE)


@dataclass
class Fetched(http.Response):
    """The safe client's response (content type, charset), plus what politeness and caching need."""

    waited: float = 0.0  # seconds spent waiting for the host's politeness slot

    @property
    def status(self) -> int:
        return self.status_code

    @property
    def body(self) -> bytes:
        return self.content

    @property
    def not_modified(self) -> bool:
        return self.status_code == 304

    @property
    def etag(self) -> str | None:
        return self.headers.get("etag")

    @property
    def last_modified(self) -> str | None:
        return self.headers.get("last-modified")

    @property
    def max_age(self) -> float | None:
        """Cache-Control max-age in seconds (no-store/no-cache give None)."""
        match = _MAX_AGE.search(self.headers.get("cache-control", ""))
        return float(match.group(1)) if match else None

    @property
    def retry_after(self) -> float | None:
        return http.parse_retry_after(self.headers.get("retry-after"))


def fetch(
    url: str,
    *,
    etag: str | None = None,
    last_modified: str | None = None,
    options: dict | None = None,
    accept: str | None = None,
    check_robots: bool = False,
) -> Fetched:
    """GET ``url`` politely: a slot of its host, conditional headers, robots.txt when asked. Raises FetchError."""
    if check_robots:
        robots.check(url)
    headers = {"Accept": accept or "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    concurrency, rate = politeness.limits_for(options)
    max_bytes = int((options or {}).get("max_bytes") or get_settings().max_body_bytes)
    with politeness.host_slot(host_of(url), concurrency, rate) as waited:
        response = http.request("GET", url, headers=headers, max_bytes=max_bytes)
    return Fetched(url=response.url, status_code=response.status_code, headers=response.headers,
                   content=response.content, elapsed=response.elapsed, redirects=response.redirects, waited=waited)
