"""The safe HTTP client against real local servers: limits, redirects, bombs, refused addresses."""

from __future__ import annotations

import gzip
import uuid

import pytest

from shared import http
from shared.errors import (
    BlockedAddressError,
    FetchTimeoutError,
    HTTPStatusError,
    InvalidURLError,
    TooLargeError,
    TooManyRedirectsError,
)
from shared.settings import Settings


def settings(**overrides) -> Settings:  # noqa: ANN003
    values = {"allow_private_networks": "1", "http_read_timeout": 1, "http_total_timeout": 3, "max_body_bytes": 100_000}
    values.update(overrides)
    return Settings(**values)


def test_fetches_a_page(site) -> None:  # noqa: ANN001
    url = site.add(f"/ok/{uuid.uuid4().hex}", "<html><body><p>hello</p></body></html>")
    response = http.fetch(url, settings=settings())
    assert response.status_code == 200
    assert b"hello" in response.content
    assert response.content_type == "text/html"
    assert response.charset == "utf-8"


def test_private_addresses_refused_by_default(site) -> None:  # noqa: ANN001
    url = site.add(f"/p/{uuid.uuid4().hex}", "x")
    with pytest.raises(BlockedAddressError, match="loopback"):
        http.fetch(url, settings=settings(allow_private_networks="0"))
    assert site.routes[url.split(str(site.port))[1]].hits == 0


def test_allow_list_of_networks(site) -> None:  # noqa: ANN001
    path = f"/n/{uuid.uuid4().hex}"
    site.add(path, "<p>x</p>")
    allowed = settings(allow_private_networks="127.0.0.1/32")
    assert http.fetch(site.url(path), settings=allowed).status_code == 200
    with pytest.raises(BlockedAddressError):
        http.fetch(site.url(path, host="127.0.0.2"), settings=allowed)


@pytest.mark.parametrize(
    "address, refused",
    [
        ("127.0.0.1", True), ("10.1.2.3", True), ("172.16.0.1", True), ("192.168.1.1", True),
        ("169.254.169.254", True), ("100.64.0.1", True), ("0.0.0.0", True), ("224.0.0.1", True),
        ("::1", True), ("fe80::1", True), ("fd00::1", True), ("::ffff:127.0.0.1", True),
        ("93.184.216.34", False), ("2606:2800:220:1:248:1893:25c8:1946", False),
    ],
)
def test_address_policy(address: str, refused: bool) -> None:
    import ipaddress

    assert (http.address_refusal(ipaddress.ip_address(address), False) is not None) == refused


def test_redirect_to_a_refused_address_is_blocked(site) -> None:  # noqa: ANN001
    target = f"/t/{uuid.uuid4().hex}"
    site.add(target, "<p>inside</p>")
    start = site.add(f"/r/{uuid.uuid4().hex}", "", status=302, headers={"Location": site.url(target, host="127.0.0.2")})
    with pytest.raises(BlockedAddressError):
        http.fetch(start, settings=settings(allow_private_networks="127.0.0.1/32"))


def test_redirect_limit_and_loops(site) -> None:  # noqa: ANN001
    token = uuid.uuid4().hex
    for n in range(10):
        site.add(f"/chain-{token}/{n}", "", status=302, headers={"Location": f"/chain-{token}/{n + 1}"})
    with pytest.raises(TooManyRedirectsError):
        http.fetch(site.url(f"/chain-{token}/0"), settings=settings(max_redirects=3))
    site.add(f"/loop-{token}", "", status=301, headers={"Location": f"/loop-{token}"})
    with pytest.raises(TooManyRedirectsError, match="loop"):
        http.fetch(site.url(f"/loop-{token}"), settings=settings())


def test_body_limit_with_and_without_content_length(site) -> None:  # noqa: ANN001
    url = site.add(f"/big/{uuid.uuid4().hex}", b"x" * 200_000)
    with pytest.raises(TooLargeError):
        http.fetch(url, settings=settings())


def test_gzip_bomb_is_stopped_at_the_limit(site) -> None:  # noqa: ANN001
    bomb = gzip.compress(b"\0" * 50_000_000)  # ~50 KB that inflates to 50 MB
    url = site.add(f"/bomb/{uuid.uuid4().hex}", bomb,
                   headers={"Content-Type": "text/html", "Content-Encoding": "gzip"})
    with pytest.raises(TooLargeError, match="bomb"):
        http.fetch(url, settings=settings())


def test_gzip_body_is_decoded(site) -> None:  # noqa: ANN001
    url = site.add(f"/gz/{uuid.uuid4().hex}", gzip.compress(b"<p>zipped</p>"),
                   headers={"Content-Type": "text/html", "Content-Encoding": "gzip"})
    assert http.fetch(url, settings=settings()).content == b"<p>zipped</p>"


def test_read_timeout(site) -> None:  # noqa: ANN001
    url = site.add(f"/slow/{uuid.uuid4().hex}", "<p>late</p>", delay=2)
    with pytest.raises(FetchTimeoutError):
        http.fetch(url, settings=settings())


def test_status_errors_say_whether_to_retry(site) -> None:  # noqa: ANN001
    gone = site.add(f"/gone/{uuid.uuid4().hex}", "gone", status=410)
    busy = site.add(f"/busy/{uuid.uuid4().hex}", "busy", status=503, headers={"Retry-After": "7"})
    with pytest.raises(HTTPStatusError) as permanent:
        http.fetch(gone, settings=settings())
    assert not permanent.value.transient
    with pytest.raises(HTTPStatusError) as transient:
        http.fetch(busy, settings=settings())
    assert transient.value.transient and transient.value.retry_after == 7


@pytest.mark.parametrize("url", ["ftp://example.com/", "file:///etc/passwd", "http://user:pw@example.com/", "http:///x"])
def test_invalid_urls(url: str) -> None:
    with pytest.raises(InvalidURLError):
        http.fetch(url, settings=settings())


def test_post_through_the_same_guards(site) -> None:  # noqa: ANN001
    """http.post (the publish engine's lean path): status and headers back, never raised on; the same refused
    addresses, body limit, read timeout and URL checks as request()."""
    busy = site.add(f"/busy/{uuid.uuid4().hex}", "busy", status=503, headers={"Retry-After": "7"})
    answer = http.post(busy, content=b'{"a": 1}', headers={"content-type": "application/json"}, max_bytes=1000,
                       settings=settings())
    assert answer.status_code == 503 and answer.headers["retry-after"] == "7" and answer.content == b"busy"
    with pytest.raises(BlockedAddressError):
        http.post(busy, content=b"{}", headers={}, max_bytes=1000, settings=settings(allow_private_networks="0"))
    big = site.add(f"/big/{uuid.uuid4().hex}", b"x" * 200_000)
    with pytest.raises(TooLargeError):
        http.post(big, content=b"{}", headers={}, max_bytes=64 * 1024, settings=settings())
    slow = site.add(f"/slow/{uuid.uuid4().hex}", "late", delay=2)
    with pytest.raises(FetchTimeoutError):
        http.post(slow, content=b"{}", headers={}, max_bytes=1000, settings=settings())
    with pytest.raises(InvalidURLError):
        http.post("ftp://example.com/", content=b"{}", headers={}, max_bytes=1000, settings=settings())
    assert site.routes[busy.split(str(site.port))[1]].hits == 1


def test_post_on_a_threads_own_connections(site) -> None:  # noqa: ANN001
    """http.post with a sending thread's own Connections: kept alive from one POST to the next, a new one after
    the server closed it, and the same refused addresses, body limit and read timeout as through the pool."""
    ok = site.add(f"/ok/{uuid.uuid4().hex}", "ok", headers={"Content-Type": "text/plain"})
    closing = site.add(f"/bye/{uuid.uuid4().hex}", "bye", headers={"Content-Type": "text/plain", "Connection": "close"})
    connections = http.Connections()
    try:
        assert http.post(ok, content=b"{}", headers={}, max_bytes=1000, settings=settings(),
                         connections=connections).content == b"ok"
        [kept] = connections._open.values()
        assert http.post(ok, content=b"{}", headers={}, max_bytes=1000, settings=settings(),
                         connections=connections).status_code == 200
        assert list(connections._open.values()) == [kept]  # the same connection, kept alive
        assert http.post(closing, content=b"{}", headers={}, max_bytes=1000, settings=settings(),
                         connections=connections).content == b"bye"
        assert http.post(ok, content=b"{}", headers={}, max_bytes=1000, settings=settings(),
                         connections=connections).content == b"ok"  # on a new connection: the old one was closed
        assert kept.is_closed()
        with pytest.raises(BlockedAddressError):  # the cached connection is not reused under another policy
            http.post(ok, content=b"{}", headers={}, max_bytes=1000, settings=settings(allow_private_networks="0"),
                      connections=connections)
        big = site.add(f"/big/{uuid.uuid4().hex}", b"x" * 200_000)
        with pytest.raises(TooLargeError):
            http.post(big, content=b"{}", headers={}, max_bytes=64 * 1024, settings=settings(), connections=connections)
        slow = site.add(f"/slow/{uuid.uuid4().hex}", "late", delay=2)
        with pytest.raises(FetchTimeoutError):
            http.post(slow, content=b"{}", headers={}, max_bytes=1000, settings=settings(), connections=connections)
        assert http.post(ok, content=b"{}", headers={}, max_bytes=1000, settings=settings(),
                         connections=connections).content == b"ok"
    finally:
        connections.close()
    assert not connections._open
