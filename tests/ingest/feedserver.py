"""A feed server on 127.0.0.1 for the ingest tests: any Host name, ETag / Last-Modified (304), scripted statuses
and delays, and a record of every request with how many were in flight per host at that moment."""

from __future__ import annotations

import contextlib
import hashlib
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Iterator


@dataclass
class Doc:
    body: bytes
    content_type: str = "application/rss+xml; charset=utf-8"
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    conditional: bool = True  # answer 304 to a matching If-None-Match / If-Modified-Since


@dataclass
class Hit:
    path: str
    host: str
    headers: dict[str, str]
    status: int
    at: float
    in_flight: int


class FeedServer:
    LAST_MODIFIED = "Sat, 28 Nov 2026 10:00:00 GMT"

    def __init__(self) -> None:
        self.docs: dict[str, Doc] = {}
        self.hits: list[Hit] = []
        self.lock = threading.Lock()
        self.in_flight: dict[str, int] = {}
        self.max_in_flight: dict[str, int] = {}
        self.posts: list[tuple[str, dict[str, str], bytes]] = []
        self.on_post = None  # callable(path, headers, body) -> (status, body)
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *_args) -> None:  # noqa: ANN002
                pass

            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                headers = {k.lower(): v for k, v in self.headers.items()}
                server.posts.append((self.path, headers, body))
                status, answer = server.on_post(self.path, headers, body) if server.on_post else (202, b"")
                self.send_response(status)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def do_GET(self) -> None:  # noqa: N802
                host = (self.headers.get("Host") or "").split(":")[0]
                with server.lock:
                    server.in_flight[host] = server.in_flight.get(host, 0) + 1
                    now_in_flight = server.in_flight[host]
                    server.max_in_flight[host] = max(server.max_in_flight.get(host, 0), now_in_flight)
                try:
                    self._answer(host, now_in_flight)
                finally:
                    with server.lock:
                        server.in_flight[host] -= 1

            def _answer(self, host: str, now_in_flight: int) -> None:
                doc = server.docs.get(self.path)
                headers = {k.lower(): v for k, v in self.headers.items()}
                if doc is None:
                    status, body, extra, content_type = 404, b"not found", {}, "text/plain"
                else:
                    if doc.delay:
                        time.sleep(doc.delay)
                    etag = '"' + hashlib.sha256(doc.body).hexdigest()[:16] + '"'
                    extra = {"ETag": etag, "Last-Modified": server.LAST_MODIFIED, **doc.headers}
                    status, body, content_type = doc.status, doc.body, doc.content_type
                    if doc.conditional and doc.status == 200 and (
                            headers.get("if-none-match") == etag
                            or (not headers.get("if-none-match") and headers.get("if-modified-since") == server.LAST_MODIFIED)):
                        status, body = 304, b""
                server.hits.append(Hit(self.path, host, headers, status, time.time(), now_in_flight))
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                for name, value in extra.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                try:
                    self.wfile.write(body)
                except OSError:
                    pass

        class Server(ThreadingHTTPServer):
            daemon_threads = True
            allow_reuse_address = True
            request_queue_size = 256

            def handle_error(self, request, client_address) -> None:  # noqa: ANN001
                pass

        self.server = Server(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    def add(self, path: str, body: bytes | str, **kwargs) -> str:
        self.docs[path] = Doc(body=body.encode("utf-8") if isinstance(body, str) else body, **kwargs)
        return self.url(path)

    def hits_of(self, path: str) -> list[Hit]:
        return [hit for hit in self.hits if hit.path == path]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@contextlib.contextmanager
def settings_env(**values: str) -> Iterator[None]:
    """Extra NEWSWIRE_* settings for one test (names without the prefix, upper-case)."""
    from newswire.embedded import override_environment

    with override_environment({f"NEWSWIRE_{name.upper()}": value for name, value in values.items()}):
        yield
