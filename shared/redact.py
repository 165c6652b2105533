"""Secrets never leave the process: redaction of API answers, log lines and traces.

Two ways, both needed:

- by key: a mapping key that names a secret (``secret``, ``secrets``, ``password``, ``token``, ``authorization``,
  ``api_key``, ...) has its value replaced, whatever it is;
- by value: every secret this deployment is configured with (target credentials such as webhook ``whsec_``
  secrets, the raw key inside them, WordPress application passwords and their Basic header, credential-like
  headers of targets, the push token, inbound hook secrets) is replaced wherever it appears inside a string: in an
  error message, a response excerpt, a URL.

Other modules add their own secrets with :func:`register` (a function returning strings), e.g. the inbound hooks'
configuration. The set is read again at most every ``CACHE_SECONDS``.
"""

from __future__ import annotations

import base64
import logging
import re
import threading
import time
from typing import Any, Callable, Iterable

MASK = "[redacted]"
CACHE_SECONDS = 30.0
MIN_SECRET_LENGTH = 6  # shorter values would mask ordinary words; no real secret is that short
SECRET_KEY = re.compile(r"(^|_|-)(secrets?|password|passwd|token|authorization|api_?key|private_?key|credentials?)$",
                        re.IGNORECASE)
SECRET_HEADERS = re.compile(r"authorization|api[-_]?key|token|secret|password|cookie|signature", re.IGNORECASE)

_providers: list[Callable[[], Iterable[str]]] = []
_cache: dict[str, Any] = {"at": -1e9, "values": (), "pattern": None}
_lock = threading.Lock()
_busy = threading.local()


def register(provider: Callable[[], Iterable[str]]) -> None:
    """Add a source of secrets (called again when the cache expires; exceptions are ignored)."""
    _providers.append(provider)
    reset()


def reset() -> None:
    with _lock:
        _cache["at"] = -1e9


def _with_raw_key(secret: str) -> list[str]:
    values = [secret]
    if secret.startswith("whsec_"):
        raw = secret[len("whsec_"):]
        values.append(raw)
        try:
            values.append(base64.b64decode(raw).hex())
        except Exception:  # noqa: BLE001
            pass
    return values


def _settings_secrets() -> Iterable[str]:
    from shared.settings import get_settings

    settings = get_settings()
    for secret in (settings.webhook_secret or "").split():
        yield from _with_raw_key(secret)
    if settings.ingest_push_token:
        yield settings.ingest_push_token


def _target_secrets() -> Iterable[str]:
    from services.publish.targets import load_targets

    # load_targets, not the cached configured_targets: reading the secrets must not fill that cache as a side effect
    # (a log line at any moment would pin the targets of that moment in the process).
    for target in load_targets().values():
        for secret in getattr(target, "secrets", None) or []:
            yield from _with_raw_key(secret)
        password = getattr(target, "password", None)
        if password:
            yield password
            username = getattr(target, "username", None) or ""
            yield base64.b64encode(f"{username}:{password}".encode()).decode()
        for name, value in (getattr(target, "headers", None) or {}).items():
            if SECRET_HEADERS.search(str(name)) and value:
                yield str(value)
                if " " in str(value):  # "Bearer abc", "Basic abc": the credential alone too
                    yield str(value).split(" ", 1)[1]


def _hook_secrets() -> Iterable[str]:
    """The inbound hooks' secrets (stored for HMAC, shown once when made)."""
    from sqlalchemy import select

    from shared.store import session_scope
    from shared.store.models import HookSecret

    with session_scope() as session:
        for secret in session.execute(select(HookSecret.secret)).scalars():
            yield from _with_raw_key(secret)


def configured_secrets() -> tuple[str, ...]:
    """Every configured secret value, longest first (cached)."""
    now = time.monotonic()
    with _lock:
        if now - _cache["at"] < CACHE_SECONDS:
            return _cache["values"]
    if getattr(_busy, "active", False):  # a provider logged something: do not recurse
        return _cache["values"]
    _busy.active = True
    found: set[str] = set()
    try:
        for provider in (_settings_secrets, _target_secrets, _hook_secrets, *_providers):
            try:
                found.update(str(v) for v in list(provider()) if v and len(str(v)) >= MIN_SECRET_LENGTH)
            except Exception:  # noqa: BLE001  (a broken targets file must not break answers or logging)
                continue
    finally:
        _busy.active = False
    values = tuple(sorted(found, key=len, reverse=True))
    pattern = re.compile("|".join(re.escape(v) for v in values)) if values else None
    with _lock:
        _cache.update(at=now, values=values, pattern=pattern)
    return values


def redact_text(text: str) -> str:
    configured_secrets()
    pattern = _cache["pattern"]
    if pattern is None or not text:
        return text
    return pattern.sub(MASK, text)


def redact(value: Any) -> Any:
    """``value`` with secrets masked: by key in mappings, by value in every string (lists, dicts, nested)."""
    configured_secrets()
    return _walk(value, _cache["pattern"])


def _walk(value: Any, pattern: re.Pattern[str] | None) -> Any:
    if isinstance(value, str):
        return pattern.sub(MASK, value) if pattern is not None and value else value
    if isinstance(value, dict):
        return {key: (MASK if value_is_set(item) and isinstance(key, str) and SECRET_KEY.search(key)
                      else _walk(item, pattern)) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_walk(item, pattern) for item in value]
    return value


def value_is_set(value: Any) -> bool:
    return value not in (None, "", [], {}) and not isinstance(value, bool)


class RedactingFilter(logging.Filter):
    """A log filter: the configured secrets are masked in every record's message and exception text."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(_busy, "active", False):
            return True
        try:
            message = record.getMessage()
            masked = redact_text(message)
            if masked != message:
                record.msg, record.args = masked, None
            if record.exc_info and not record.exc_text:
                record.exc_text = logging.Formatter().formatException(record.exc_info)
            if record.exc_text:
                record.exc_text = redact_text(record.exc_text)
        except Exception:  # noqa: BLE001
            pass
        return True


__all__ = ["MASK", "register", "redact", "redact_text", "configured_secrets", "RedactingFilter", "reset"]
