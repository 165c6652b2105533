"""A hostile web server on 127.0.0.x for the corpus: each route answers as its case says (a body, a stream of
100 MB generated as it is sent, a drip, a stall, headers that never end, raw bytes) and counts its hits.

Bodies that are big are generated chunk by chunk while they are written: neither this server nor the test holds
them. Every slow mode gives up on its own after ``MAX_SECONDS``, or at once when the client hangs up.
"""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Iterator

MAX_SECONDS = 8.0  # no server thread of a slow mode lives longer than this


@dataclass
class Route:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    stream: int | None = None  # bytes to generate and send (no Content-Length unless ``length`` is set)
    fill: bytes = b"<p>" + b"a" * 1000 + b"</p>\n"
    length: int | None = None  # a Content-Length to declare (may lie)
    drip: float | None = None  # seconds between single bytes of the body, endlessly
    stall: float | None = None  # seconds to wait before answering anything
    header_drip: float | None = None  # seconds between header lines, endlessly
    raw: bytes | None = None  # written as it is to the socket, instead of an HTTP answer
    hits: int = 0


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def handle_error(self, request, client_address) -> None:  # noqa: ANN001
        pass  # clients that hang up (limits, timeouts) are the point here


def _generated(route: Route) -> Iterator[bytes]:
    left = route.stream or 0
    chunk = (route.fill * (65536 // len(route.fill) + 1))[:65536]
    while left > 0:
        piece = chunk[:left]
        left -= len(piece)
        yield piece


class HostileServer:
    def __init__(self, host: str = "127.0.0.1") -> None:
        self.routes: dict[str, Route] = {}
        self.requests = 0  # every request, to a route or not
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *_args) -> None:  # noqa: ANN002
                pass

            def do_POST(self) -> None:  # noqa: N802
                length = self.headers.get("Content-Length") or ""
                if length.isdigit():
                    self.rfile.read(min(int(length), 1 << 20))
                self.do_GET()

            def do_HEAD(self) -> None:  # noqa: N802
                self.do_GET()

            def do_GET(self) -> None:  # noqa: N802
                with server.lock:
                    server.requests += 1
                    route = server.routes.get(self.path.split("?", 1)[0])
                    if route is not None:
                        route.hits += 1
                if route is None:
                    self._answer(Route(status=404, body=b"not found", headers={"Content-Type": "text/plain"}))
                    return
                try:
                    self._answer(route)
                except OSError:
                    pass
                self.close_connection = True

            def _answer(self, route: Route) -> None:
                started = time.monotonic()
                if route.stall:
                    time.sleep(min(route.stall, MAX_SECONDS))
                if route.raw is not None:
                    self.wfile.write(route.raw)
                    self.wfile.flush()
                    return
                if route.header_drip:
                    self.wfile.write(f"HTTP/1.1 {route.status} OK\r\n".encode())
                    n = 0
                    while time.monotonic() - started < MAX_SECONDS:
                        self.wfile.write(f"X-Drip-{n}: {n}\r\n".encode())
                        self.wfile.flush()
                        n += 1
                        time.sleep(route.header_drip)
                    return
                self.send_response(route.status)
                # The handler closes every connection after one answer, so it says so: a client must not reuse it
                # (without this, a client could send its next request on the socket being closed, a flaky failure).
                headers = {"Content-Type": "text/html; charset=utf-8", "Connection": "close", **route.headers}
                for name, value in headers.items():
                    self.send_header(name, value)
                if route.drip is not None:
                    self.send_header("Content-Length", str(route.length or 100_000))
                    self.end_headers()
                    while time.monotonic() - started < MAX_SECONDS:
                        self.wfile.write(b"<")
                        self.wfile.flush()
                        time.sleep(route.drip)
                    return
                if route.stream is not None:
                    if route.length is not None:
                        self.send_header("Content-Length", str(route.length))
                    self.end_headers()
                    for chunk in _generated(route):
                        self.wfile.write(chunk)
                    return
                if "Content-Length" not in headers:
                    self.send_header("Content-Length", str(route.length if route.length is not None
                                                           else len(route.body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(route.body)

        self.server = _Server((host, 0), Handler)
        self.host = host
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def base(self) -> str:
        return f"http://{self.host}:{self.port}"

    def add(self, path: str, route: Route) -> str:
        with self.lock:
            self.routes[path] = route
        return self.base + path

    def hits(self, prefix: str = "") -> int:
        with self.lock:
            return sum(route.hits for path, route in self.routes.items() if path.startswith(prefix))

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def can_bind(host: str) -> bool:
    try:
        with socket.socket() as probe:
            probe.bind((host, 0))
        return True
    except OSError:
        return False
