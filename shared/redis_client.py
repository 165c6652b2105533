"""A redis-py client for the broker's Redis (heartbeats, counters, queue depths)."""

from __future__ import annotations

import os
from urllib.parse import urlsplit

import redis

from shared.settings import get_settings

_client: redis.Redis | None = None
_pid: int | None = None


def redis_from_url(url: str, **kwargs) -> redis.Redis:  # noqa: ANN003
    if url.startswith("redis+socket://") or url.startswith("socket://"):
        parts = urlsplit(url)
        return redis.Redis(unix_socket_path=parts.path, **kwargs)
    return redis.Redis.from_url(url, **kwargs)


def get_redis() -> redis.Redis:
    global _client, _pid
    if _client is None or _pid != os.getpid():
        _client = redis_from_url(get_settings().broker_url, socket_timeout=5, socket_connect_timeout=5)
        _pid = os.getpid()
    return _client


def reset_client() -> None:
    """Forget the client (after the settings changed)."""
    global _client
    _client = None
