"""The one safe HTTP client for every outbound request.

- connect, read and total timeouts (a slow-drip server cannot hold a worker);
- a maximum body size, counted on the *decoded* bytes, with our own bounded
  gzip/deflate decoding so a compression bomb never inflates past the limit;
- a redirect limit;
- loopback, private, link-local, multicast and reserved addresses refused at
  connect time, for every hop and after DNS resolution (no rebinding), unless
  NEWSWIRE_ALLOW_PRIVATE_NETWORKS allows them ("1" for all, or a list of CIDRs).

Built on httpx: a custom httpcore network backend checks each resolved
address before it connects.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import threading
import time
import zlib
from dataclasses import dataclass, field
from functools import lru_cache
from email.utils import parsedate_to_datetime
from datetime import datetime, timezone
from typing import Iterable, Mapping
from urllib.parse import urlsplit

import httpcore
import httpx

from shared.errors import (
    BlockedAddressError,
    ConnectError,
    FetchError,
    FetchTimeoutError,
    HTTPStatusError,
    InvalidURLError,
    TooLargeError,
    TooManyRedirectsError,
)
from shared.settings import Settings, get_settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def address_refusal(ip: IPAddress, allowed: bool | list) -> str | None:
    """Why ``ip`` may not be called, or None when it may."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if allowed is True:
        return None
    if isinstance(allowed, list) and any(ip in network for network in allowed):
        return None
    for attribute, label in (
        ("is_loopback", "a loopback"),
        ("is_link_local", "a link-local"),
        ("is_multicast", "a multicast"),
        ("is_unspecified", "an unspecified"),
        ("is_private", "a private"),
        ("is_reserved", "a reserved"),
    ):
        if getattr(ip, attribute):
            return f"{ip} is {label} address"
    if not ip.is_global:
        return f"{ip} is not a public address"
    return None


_deadline = threading.local()  # the running request's total deadline (time.monotonic()), per thread


class _DeadlineStream(httpcore.NetworkStream):
    """A connection whose every read and write is cut short at the running request's total deadline.

    httpx's timeouts bound each read, not the whole exchange: a server dripping its status line and headers one
    byte a second (each read well within the read timeout) would otherwise hold a worker for as long as it likes.
    """

    def __init__(self, stream: httpcore.NetworkStream) -> None:
        self._stream = stream

    @staticmethod
    def _bounded(timeout: float | None, error: type[Exception]) -> float | None:
        deadline = getattr(_deadline, "at", None)
        if deadline is None:
            return timeout
        left = deadline - time.monotonic()
        if left <= 0:
            raise error("the total timeout was reached")
        return left if timeout is None else min(timeout, left)

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, self._bounded(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, self._bounded(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(self, ssl_context, server_hostname=None, timeout=None):  # noqa: ANN001, ANN201
        timeout = self._bounded(timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(self._stream.start_tls(ssl_context, server_hostname, timeout))

    def get_extra_info(self, info: str):  # noqa: ANN201
        return self._stream.get_extra_info(info)


class _Deadline:
    """Sets the total deadline the connections of this thread honour, for the length of a ``with``."""

    def __init__(self, at: float) -> None:
        self.at = at

    def __enter__(self) -> None:
        self.outer = getattr(_deadline, "at", None)
        _deadline.at = self.at

    def __exit__(self, *_exc) -> None:  # noqa: ANN002
        _deadline.at = self.outer


class GuardedBackend(httpcore.SyncBackend):
    """Resolves the host itself and connects only to addresses the policy allows."""

    def __init__(self, allowed: bool | list) -> None:
        self.allowed = allowed

    def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):  # noqa: ANN001
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except socket.gaierror as exc:
            raise ConnectError(f"cannot resolve {host}: {exc.strerror or exc}") from exc
        refusals = []
        last_error: Exception | None = None
        for family, _type, _proto, _name, sockaddr in infos:
            ip = ipaddress.ip_address(sockaddr[0].split("%", 1)[0])
            refusal = address_refusal(ip, self.allowed)
            if refusal:
                refusals.append(refusal)
                continue
            try:
                timeout = _DeadlineStream._bounded(timeout, httpcore.ConnectTimeout)
                return _DeadlineStream(super().connect_tcp(str(ip), port, timeout, local_address, socket_options))
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last_error = exc
        if last_error is not None:
            raise last_error
        raise BlockedAddressError(
            f"{host} refused: {'; '.join(sorted(set(refusals)))} "
            "(set NEWSWIRE_ALLOW_PRIVATE_NETWORKS to allow it)"
        )


class GuardedTransport(httpx.HTTPTransport):
    def __init__(self, allowed: bool | list, **kwargs) -> None:  # noqa: ANN003
        super().__init__(**kwargs)
        # httpx builds its httpcore pool itself; rebuild it with our backend, same options.
        pool = self._pool
        self._pool = httpcore.ConnectionPool(
            ssl_context=pool._ssl_context,
            max_connections=pool._max_connections,
            max_keepalive_connections=pool._max_keepalive_connections,
            keepalive_expiry=pool._keepalive_expiry,
            http1=True,
            http2=False,
            retries=0,
            network_backend=GuardedBackend(allowed),
        )


@dataclass
class Response:
    url: str
    status_code: int
    headers: Mapping[str, str]
    content: bytes
    elapsed: float
    redirects: list[str] = field(default_factory=list)

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "").split(";", 1)[0].strip().lower()

    @property
    def charset(self) -> str | None:
        for part in self.headers.get("content-type", "").split(";")[1:]:
            name, _, value = part.partition("=")
            if name.strip().lower() == "charset" and value.strip():
                return value.strip().strip("\"'").lower()
        return None


def parse_retry_after(value: str | None) -> float | None:
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())


class _BoundedDecoder:
    """gzip/deflate decoding that never produces more than ``limit`` bytes in all."""

    def __init__(self, encoding: str, limit: int) -> None:
        self.limit = limit
        self.produced = 0
        wbits = 16 + zlib.MAX_WBITS if encoding in ("gzip", "x-gzip") else zlib.MAX_WBITS
        self._deflate_raw_fallback = encoding == "deflate"
        self._decoder = zlib.decompressobj(wbits)

    def decode(self, chunk: bytes) -> bytes:
        room = self.limit - self.produced + 1
        try:
            out = self._decoder.decompress(chunk, room)
        except zlib.error as exc:
            if self._deflate_raw_fallback and self.produced == 0:
                self._deflate_raw_fallback = False
                self._decoder = zlib.decompressobj(-zlib.MAX_WBITS)
                return self.decode(chunk)
            raise FetchError(f"corrupt compressed body: {exc}") from exc
        self._deflate_raw_fallback = False
        self.produced += len(out)
        if self.produced > self.limit or self._decoder.unconsumed_tail:
            raise TooLargeError(f"decompressed body exceeds {self.limit} bytes (compression bomb?)")
        return out


_clients: dict[tuple, httpx.Client] = {}
_pools: dict[tuple, tuple[httpcore.ConnectionPool, httpx.Timeout]] = {}


def _client(settings: Settings) -> httpx.Client:
    # Keyed on the setting's text: parsing the networks on every request cost ~0.1 ms (a tenth of a local POST).
    key = (os.getpid(), settings.allow_private_networks, settings.http_connect_timeout, settings.http_read_timeout)
    client = _clients.get(key)
    if client is None:
        allowed = settings.private_networks_allowed()
        timeout = httpx.Timeout(
            connect=settings.http_connect_timeout,
            read=settings.http_read_timeout,
            write=settings.http_read_timeout,
            pool=settings.http_connect_timeout,
        )
        transport = GuardedTransport(allowed, limits=httpx.Limits(max_connections=50, max_keepalive_connections=10))
        _pools[key] = (transport._pool, timeout)
        client = httpx.Client(
            transport=transport,
            timeout=timeout,
            follow_redirects=False,
            trust_env=False,
            headers={"User-Agent": settings.user_agent},
        )
        _clients[key] = client
    return client


def _check_url(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise InvalidURLError(f"only http and https URLs are fetched, not {parts.scheme or 'no scheme'!r}: {url[:200]}")
    if not parts.hostname:
        raise InvalidURLError(f"URL has no host: {url[:200]}")
    if parts.username or parts.password:
        raise InvalidURLError("URLs with credentials in them are refused")


def request(
    method: str,
    url: str,
    *,
    content: bytes | None = None,
    headers: Mapping[str, str] | None = None,
    max_bytes: int | None = None,
    timeout: float | None = None,
    follow_redirects: bool = True,
    raise_for_status: bool = True,
    settings: Settings | None = None,
) -> Response:
    """Send one request through the guard and return the whole (bounded) body."""
    settings = settings or get_settings()
    limit = settings.max_body_bytes if max_bytes is None else max_bytes
    deadline = time.monotonic() + (timeout or settings.http_total_timeout)
    client = _client(settings)
    redirects: list[str] = []
    started = time.monotonic()
    request_headers = {"Accept-Encoding": "gzip, deflate", **(headers or {})}
    while True:
        _check_url(url)
        try:
            with _Deadline(deadline), client.stream(method, url, content=content, headers=request_headers) as response:
                if follow_redirects and response.is_redirect and "location" in response.headers:
                    if len(redirects) >= settings.max_redirects:
                        raise TooManyRedirectsError(f"more than {settings.max_redirects} redirects from {redirects[0]}")
                    redirects.append(url)
                    url = str(response.url.join(response.headers["location"]))
                    if url in redirects:
                        raise TooManyRedirectsError(f"redirect loop at {url}")
                    if response.status_code == 303:
                        method, content = "GET", None
                    continue
                if raise_for_status and response.status_code >= 400:
                    raise HTTPStatusError(
                        f"{method} {url} answered HTTP {response.status_code} {response.reason_phrase}",
                        status_code=response.status_code,
                        retry_after=parse_retry_after(response.headers.get("retry-after")),
                    )
                declared = response.headers.get("content-length", "")
                if declared.isdigit() and int(declared) > limit and "content-encoding" not in response.headers:
                    raise TooLargeError(f"body of {declared} bytes exceeds the limit of {limit} bytes")
                body = _read_body(response, limit, deadline)
                return Response(
                    url=str(response.url),
                    status_code=response.status_code,
                    headers={k.lower(): v for k, v in response.headers.items()},
                    content=body,
                    elapsed=time.monotonic() - started,
                    redirects=redirects,
                )
        except httpx.TimeoutException as exc:
            raise FetchTimeoutError(f"{method} {url} timed out ({type(exc).__name__})") from exc
        except httpx.RemoteProtocolError as exc:
            if "location header" in str(exc):  # httpx reads a redirect's Location as it answers: a permanent fault
                raise InvalidURLError(f"{method} {url} redirects to an invalid URL: {exc}") from exc
            raise ConnectError(f"{method} {url} failed: {exc or type(exc).__name__}") from exc
        except httpx.TransportError as exc:
            raise ConnectError(f"{method} {url} failed: {exc or type(exc).__name__}") from exc
        except httpx.InvalidURL as exc:
            raise InvalidURLError(f"invalid URL {url[:200]}: {exc}") from exc


def _read_body(response: httpx.Response, limit: int, deadline: float) -> bytes:
    return _read_limited(response.iter_raw(), response.headers.get("content-encoding", "identity"), limit, deadline,
                         str(response.url))


def _read_limited(raws: Iterable[bytes], encoding: str, limit: int, deadline: float, url: str) -> bytes:
    encoding = encoding.strip().lower()
    decoder = _BoundedDecoder(encoding, limit) if encoding in ("gzip", "x-gzip", "deflate") else None
    if encoding not in ("", "identity", "gzip", "x-gzip", "deflate"):
        raise FetchError(f"unsupported content-encoding {encoding!r}")
    chunks: list[bytes] = []
    size = 0
    for raw in raws:
        if time.monotonic() > deadline:
            raise FetchTimeoutError(f"{url} took longer than the total timeout")
        chunk = decoder.decode(raw) if decoder else raw
        size += len(chunk)
        if size > limit:
            raise TooLargeError(f"body exceeds the limit of {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


@lru_cache(maxsize=1024)
def _core_url(url: str) -> tuple[httpcore.URL, bytes]:
    """httpcore's URL and the Host header for it (IDNA host), as httpx builds them: once per endpoint."""
    parsed = httpx.URL(url)
    return httpcore.URL(scheme=parsed.raw_scheme, host=parsed.raw_host, port=parsed.port,
                        target=parsed.raw_path), parsed.netloc


class Connections:
    """Keep-alive connections of one thread's POSTs, one per origin, through the same guard (backend, TLS
    context, timeouts, keep-alive expiry) as the shared pool: for a sender thread that posts to one target
    request after request (the publish engine's). The shared pool, for every request, takes its lock, queues
    the request, wakes it with an Event and polls each idle connection's socket; a connection of one's own
    costs a third less CPU per POST. The owner closes it when its thread is done."""

    def __init__(self) -> None:
        self._open: dict[tuple, httpcore.HTTPConnection] = {}

    def get(self, target: httpcore.URL, pool: httpcore.ConnectionPool, *,
            fresh: bool = False) -> httpcore.HTTPConnection:
        origin = target.origin
        key = (id(pool), origin.scheme, origin.host, origin.port)  # the pool stands for the guard's settings
        connection = self._open.get(key)
        if connection is not None and (fresh or connection.is_closed() or connection.has_expired()):
            connection.close()
            connection = None
        if connection is None:
            connection = httpcore.HTTPConnection(origin, ssl_context=pool._ssl_context,
                                                 keepalive_expiry=pool._keepalive_expiry, http1=True, http2=False,
                                                 retries=0, network_backend=pool._network_backend)
            self._open[key] = connection
        return connection

    def close(self) -> None:
        for connection in self._open.values():
            connection.close()
        self._open.clear()


def post(url: str, *, content: bytes, headers: Mapping[str, str], max_bytes: int, timeout: float | None = None,
         settings: Settings | None = None, connections: Connections | None = None) -> Response:
    """One POST, redirects not followed, through the same guarded connection pool (and so the same address
    checks, timeouts and keep-alive) as :func:`request`, with the same bounded body and total deadline.

    It speaks to httpcore (httpx's own transport) directly: about half the Python work per request of going
    through ``httpx.Client`` (request model, auth and redirect flows, cookies), which is what the publish
    engine's hot path pays per delivery. No Accept-Encoding is sent: answers come back as they are.
    With ``connections`` (a sending thread's own), the request goes on that thread's connection to the origin
    instead of through the shared pool."""
    settings = settings or get_settings()
    _check_url(url)
    _client(settings)
    pool, timeouts = _pools[(os.getpid(), settings.allow_private_networks, settings.http_connect_timeout,
                             settings.http_read_timeout)]
    started = time.monotonic()
    deadline = started + (timeout or settings.http_total_timeout)
    try:
        target, netloc = _core_url(url)
    except httpx.InvalidURL as exc:
        raise InvalidURLError(f"invalid URL {url[:200]}: {exc}") from exc
    request_headers = [(b"Host", netloc), (b"User-Agent", settings.user_agent.encode()),
                       (b"Content-Length", str(len(content)).encode("ascii"))]
    request_headers += [(name.encode("ascii"), value.encode("utf-8")) for name, value in headers.items()
                        if name.lower() not in ("host", "content-length")]
    extensions = {"timeout": {"connect": timeouts.connect, "read": timeouts.read, "write": timeouts.write,
                              "pool": timeouts.pool}}
    try:
        if connections is None:
            return _post_on(pool, target, request_headers, content, extensions, url, max_bytes, deadline, started)
        try:
            return _post_on(connections.get(target, pool), target, request_headers, content, extensions, url,
                            max_bytes, deadline, started)
        except httpcore.ConnectionNotAvailable:  # it closed between the check and the request: nothing was sent
            return _post_on(connections.get(target, pool, fresh=True), target, request_headers, content, extensions,
                            url, max_bytes, deadline, started)
    except httpcore.TimeoutException as exc:
        raise FetchTimeoutError(f"POST {url} timed out ({type(exc).__name__})") from exc
    except (httpcore.NetworkError, httpcore.ProtocolError, httpcore.ConnectionNotAvailable) as exc:
        raise ConnectError(f"POST {url} failed: {exc or type(exc).__name__}") from exc
    except (httpcore.UnsupportedProtocol, UnicodeEncodeError) as exc:
        raise InvalidURLError(f"invalid URL {url[:200]}: {exc}") from exc


def _post_on(via: httpcore.ConnectionPool | httpcore.HTTPConnection, target: httpcore.URL, request_headers: list,
             content: bytes, extensions: dict, url: str, max_bytes: int, deadline: float, started: float) -> Response:
    with _Deadline(deadline), via.stream("POST", target, headers=request_headers, content=content,
                                         extensions=extensions) as response:
        found = {name.decode("latin-1").lower(): value.decode("latin-1") for name, value in response.headers}
        declared = found.get("content-length", "")
        if declared.isdigit() and int(declared) > max_bytes and "content-encoding" not in found:
            raise TooLargeError(f"body of {declared} bytes exceeds the limit of {max_bytes} bytes")
        body = _read_limited(response.iter_stream(), found.get("content-encoding", "identity"), max_bytes,
                             deadline, url)
        return Response(url=url, status_code=response.status, headers=found, content=body,
                        elapsed=time.monotonic() - started)


def fetch(url: str, *, accept: str | None = None, settings: Settings | None = None, **kwargs) -> Response:  # noqa: ANN003
    headers = {"Accept": accept or "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
    return request("GET", url, headers=headers, settings=settings, **kwargs)


def close_clients() -> None:
    for client in _clients.values():
        client.close()
    _clients.clear()
    _pools.clear()


__all__: Iterable[str] = ["Connections", "Response", "address_refusal", "fetch", "post", "request", "parse_retry_after"]
