"""Real HTTP servers on 127.0.0.1 for the tests: a "remote site" serving fixture pages, and a webhook sink."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable


@dataclass
class Route:
    status: int = 200
    body: bytes | Callable[[], bytes] = b""
    headers: dict[str, str] = field(default_factory=lambda: {"Content-Type": "text/html; charset=utf-8"})
    delay: float = 0.0
    drip: float | None = None  # seconds between 1-byte chunks (a slow, endless-looking body)
    hits: int = 0


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request, client_address) -> None:  # noqa: ANN001
        pass  # clients that hang up early (size limits, timeouts) are expected here


class Site:
    """Serves registered routes; anything else is a 404."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        site = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *_args) -> None:  # noqa: ANN002
                pass

            def do_POST(self) -> None:  # noqa: N802
                self.rfile.read(int(self.headers.get("Content-Length") or 0))  # then answered as a GET would be
                self.do_GET()

            def do_GET(self) -> None:  # noqa: N802
                route = site.routes.get(self.path)
                if route is None:
                    body = b"not found"
                    self.send_response(404)
                    self.send_header("Content-Type", "text/plain")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                    return
                route.hits += 1
                if route.delay:
                    time.sleep(route.delay)
                body = route.body() if callable(route.body) else route.body
                self.send_response(route.status)
                for name, value in route.headers.items():
                    self.send_header(name, value)
                if route.drip is not None:
                    self.send_header("Content-Length", "100000")
                    self.end_headers()
                    try:
                        for _ in range(10_000):
                            self.wfile.write(b"<")
                            self.wfile.flush()
                            time.sleep(route.drip)
                    except OSError:
                        pass
                    return
                if "Content-Length" not in route.headers:
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                try:
                    self.wfile.write(body)
                except OSError:
                    pass

        self.server = _Server(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    def add(self, path: str, body: bytes | str | Callable[[], bytes] = b"", **kwargs) -> str:
        if isinstance(body, str):
            body = body.encode("utf-8")
        self.routes[path] = Route(body=body, **kwargs)
        return self.url(path)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    at: float
    status: int


class Sink:
    """A webhook receiver: records every request; can be told to fail the next N with a status."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.failures: dict[str, list[tuple[int, dict[str, str]]]] = {}
        self.lock = threading.Lock()
        sink = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *_args) -> None:  # noqa: ANN002
                pass

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                try:
                    article_id = json.loads(body).get("id", "")
                except ValueError:
                    article_id = ""
                with sink.lock:
                    queued = sink.failures.get(article_id)
                    status, extra = queued.pop(0) if queued else (204, {})
                    sink.received.append(
                        Received({k.lower(): v for k, v in self.headers.items()}, body, time.time(), status)
                    )
                self.send_response(status)
                for name, value in extra.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = _Server(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def fail_next(self, article_id: str, count: int, status: int = 503, headers: dict[str, str] | None = None) -> None:
        """Answer the next ``count`` deliveries of ``article_id`` with ``status``."""
        with self.lock:
            self.failures.setdefault(article_id, []).extend([(status, headers or {})] * count)

    def for_article(self, article_id: str) -> list[Received]:

        found = []
        with self.lock:
            for item in self.received:
                try:
                    if json.loads(item.body).get("id") == article_id:
                        found.append(item)
                except ValueError:
                    continue
        return found

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
