"""Local HTTP receivers for the publish tests: record every request; answer from a per-path script."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    at: float
    status: int

    def json(self) -> dict:
        return json.loads(self.body)


@dataclass
class Answer:
    status: int = 204
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    delay: float = 0.0


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256

    def handle_error(self, request, client_address) -> None:  # noqa: ANN001
        pass


class Receiver:
    """Answers 204 unless told otherwise with ``script(path, [Answer, ...])`` (used in order, then 204)."""

    def __init__(self) -> None:
        self.requests: list[Request] = []
        self.scripts: dict[str, list[Answer]] = {}
        self.handler = None  # optional callable(Request) -> Answer for stateful endpoints
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *_args) -> None:  # noqa: ANN002
                pass

            def _any(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                request = Request(self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body,
                                  time.time(), 0)
                with receiver.lock:
                    queued = receiver.scripts.get(self.path.split("?")[0])
                    answer = queued.pop(0) if queued else None
                if answer is None:
                    answer = receiver.handler(request) if receiver.handler else Answer()
                if answer.delay:
                    time.sleep(answer.delay)
                request.status = answer.status
                with receiver.lock:
                    receiver.requests.append(request)
                self.send_response(answer.status)
                for key, value in answer.headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(answer.body)))
                self.end_headers()
                if answer.body:
                    self.wfile.write(answer.body)

            do_POST = do_GET = do_PUT = do_DELETE = _any  # noqa: N815

        self.server = _Server(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, name="publish-receiver", daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def script(self, path: str, answers: list[Answer]) -> None:
        with self.lock:
            self.scripts.setdefault(path, []).extend(answers)

    def at(self, path: str) -> list[Request]:
        with self.lock:
            return [r for r in self.requests if r.path.split("?")[0] == path]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
