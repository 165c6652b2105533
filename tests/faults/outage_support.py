"""What the target, poison and database fault rehearsals share: one embedded pipeline (own Redis, own database,
real workers and API), a site serving the articles, one receiver behind three webhook targets that a test can
switch down (503), hold (answer only when released) or up, and a TCP proxy in front of PostgreSQL that a test
can cut and restore.

The pipeline is started once for all these modules (the first test that asks) and stopped when the session ends.
"""

from __future__ import annotations

import os
import random
import shutil
import socket
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from conftest import PIPELINE_ENV, WEBHOOK_SECRET, wait_until
from servers import Site
from tests.publish.receivers import Answer, Receiver, Request

# The outage target's own retry schedule (seconds before each attempt after the first), short so the rehearsal is
# short, long enough in total (40 s) that no delivery runs out of attempts during the outage.
OUTAGE_SCHEDULE = [0, 1, 1.5, 2, 3, 4, 5, 6, 8, 10]
BREAKER_THRESHOLD = 3
BREAKER_COOLDOWN = 2.0
RETRY_MAX = 2  # a stage task's retries before its dead letter
HOLD_LIMIT = 90.0  # a held request is answered after this at the latest, released or not
TARGETS = ("outage", "slow", "quick")

TARGETS_YAML = """\
targets:
  - name: outage
    url: {url}/outage
    secrets: ["{secret}"]
    concurrency: 2
    schedule: [{schedule}]
    breaker_threshold: {threshold}
    breaker_cooldown: {cooldown}
  - name: slow
    url: {url}/slow
    secrets: ["{secret}"]
    timeout: 110
  - name: quick
    url: {url}/quick
    secrets: ["{secret}"]
"""

ENV = {
    **{key: PIPELINE_ENV[key] for key in ("NEWSWIRE_ALLOW_PRIVATE_NETWORKS", "NEWSWIRE_HTTP_CONNECT_TIMEOUT",
                                          "NEWSWIRE_INGEST_HOST_CONCURRENCY", "NEWSWIRE_INGEST_HOST_RATE",
                                          "NEWSWIRE_INGEST_MIN_INTERVAL")},
    # A held (slow) answer must not time out: the receiver holds it until the test releases it.
    "NEWSWIRE_HTTP_READ_TIMEOUT": "100",
    "NEWSWIRE_HTTP_TOTAL_TIMEOUT": "100",
    "NEWSWIRE_RETRY_MAX": str(RETRY_MAX),
    "NEWSWIRE_RETRY_BACKOFF_BASE": "0.3",
    "NEWSWIRE_RETRY_BACKOFF_MAX": "2",
    "NEWSWIRE_DELIVERY_SCHEDULE": "0,0.5,1,1,1,1,1,1,1,1",
    "NEWSWIRE_DELIVERY_MAX_ATTEMPTS": "10",
}


class TargetReceiver:
    """One local receiver behind the three webhook targets (one path each). A path is ``up`` (204), ``down``
    (503: the target is failing) or ``hold`` (the answer waits until :meth:`release`)."""

    def __init__(self) -> None:
        self.receiver = Receiver()
        self.url = f"http://127.0.0.1:{self.receiver.port}"
        self.modes: dict[str, str] = {}
        self.arrived: list[tuple[str, str, float]] = []  # (path, webhook-id, when) as each request comes in
        self.released = threading.Event()
        self.lock = threading.Lock()
        self.receiver.handler = self._answer

    def _answer(self, request: Request) -> Answer:
        with self.lock:
            self.arrived.append((request.path, request.headers.get("webhook-id", ""), time.time()))
            mode = self.modes.get(request.path, "up")
        if mode == "down":
            return Answer(503, body=b"down for maintenance")
        if mode == "hold":
            self.released.wait(HOLD_LIMIT)
        return Answer(204)

    def set(self, path: str, mode: str) -> float:
        if mode == "hold":
            self.released.clear()
        with self.lock:
            self.modes[path] = mode
            return time.time()

    def release(self, path: str) -> None:
        with self.lock:
            self.modes[path] = "up"
        self.released.set()

    def in_flight(self, path: str) -> int:
        """Requests that arrived at ``path`` and have not been answered yet."""
        with self.lock:
            arrived = sum(1 for p, _key, _at in self.arrived if p == path)
        return arrived - len(self.receiver.at(path))

    def answered(self, path: str, article_id: str) -> list[Request]:
        return [r for r in self.receiver.at(path) if r.json().get("id") == article_id]

    def delivered(self, path: str, article_id: str) -> list[Request]:
        return [r for r in self.answered(path, article_id) if 200 <= r.status < 300]

    def close(self) -> None:
        self.released.set()
        self.receiver.close()


class DatabaseProxy:
    """A TCP proxy between the pipeline and PostgreSQL. ``cut()`` closes every open connection and closes every
    new one at once (the database is unreachable); ``restore()`` forwards again."""

    def __init__(self, host: str, port: int) -> None:
        self.upstream = (host, port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.down = False
        self.refused = 0  # connections closed at once while cut: the stages trying again
        self.lock = threading.Lock()
        self.open: set[socket.socket] = set()
        self.closing = False
        threading.Thread(target=self._accept, name="db-proxy", daemon=True).start()

    def _accept(self) -> None:
        while not self.closing:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            with self.lock:
                if self.down:
                    self.refused += 1
                    client.close()
                    continue
            try:
                server = socket.create_connection(self.upstream, timeout=5)
                server.settimeout(None)
            except OSError:
                client.close()
                continue
            with self.lock:
                self.open.update((client, server))
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                with self.lock:
                    self.open.discard(sock)
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                sock.close()

    def cut(self) -> None:
        with self.lock:
            self.down = True
            sockets, self.open = list(self.open), set()
        for sock in sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def restore(self) -> None:
        with self.lock:
            self.down = False

    def close(self) -> None:
        self.closing = True
        self.cut()
        self.listener.close()


WORDS = ("river council harbour budget school rail bridge market farmers museum festival hospital library weather "
         "election court tram ferry orchard clinic stadium reservoir").split()


def article_page(marker: str) -> str:
    """A plain news page the clean stage keeps (its own words, so every page is a new article)."""
    rng = random.Random(marker)
    title = f"Council approves {rng.choice(WORDS)} plan for the {rng.choice(WORDS)} {marker}"
    paragraphs = "".join(
        f"<p>{' '.join(rng.choice(WORDS) for _ in range(12)).capitalize()}, officials said on Tuesday. "
        f"{' '.join(rng.choice(WORDS) for _ in range(20))}.</p>" for _ in range(6))
    return (f"<html><head><title>{title}</title><meta name='author' content='Jane Doe'></head><body>"
            f"<nav><a href='/'>Home</a></nav><article><h1>{title}</h1>{paragraphs}</article>"
            f"<footer>Copyright</footer></body></html>")


@dataclass
class FaultPipeline:
    pipeline: Any  # newswire.embedded.EmbeddedPipeline
    site: Site
    targets: TargetReceiver
    proxy: DatabaseProxy | None
    workdir: Path
    cleanup: list = field(default_factory=list)

    @property
    def client(self):  # noqa: ANN201
        return self.pipeline.client

    def page(self, name: str) -> tuple[str, str]:
        """Serve a new article page; returns (its URL, the article id it becomes)."""
        from shared.payload import article_id_for

        url = self.site.add(f"/{name}/{uuid.uuid4().hex[:12]}.html", article_page(uuid.uuid4().hex[:8]))
        return url, article_id_for(url)

    def submit(self, url: str) -> str:
        response = self.client.post("/ingest", json={"url": url}, timeout=30)
        assert response.status_code == 202, response.text
        return response.json()["id"]

    def article(self, article_id: str) -> dict | None:
        response = self.client.get(f"/articles/{article_id}", timeout=30)
        return response.json() if response.status_code == 200 else None

    def target(self, name: str) -> dict:
        response = self.client.get(f"/targets/{name}", timeout=30)
        response.raise_for_status()
        return response.json()

    def dead_letters(self, article_id: str) -> list[dict]:
        return self.client.get("/dead-letters", params={"article_id": article_id}, timeout=30).json()["items"]

    def deliveries(self, article_id: str) -> dict[str, dict]:
        items = self.client.get("/deliveries", params={"article_id": article_id}, timeout=30).json()["items"]
        return {item["target"]: item for item in items}

    def wait_delivered(self, path: str, article_ids: list[str], timeout: float = 120.0, message: str = "") -> None:
        wait_until(lambda: all(self.targets.delivered(path, a) for a in article_ids), timeout=timeout,
                   interval=0.25, message=message or f"every article delivered at {path}")

    def stop(self) -> None:
        for step in reversed(self.cleanup):
            try:
                step()
            except Exception:  # noqa: BLE001
                pass


_running: FaultPipeline | None = None


def _fresh_postgres(given: str) -> tuple[str, Any]:
    import psycopg

    name = f"newswire_faults_{uuid.uuid4().hex[:10]}"
    admin = given.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return name, drop


def fault_pipeline(request: pytest.FixtureRequest) -> FaultPipeline:
    """The pipeline these rehearsals share: started on first use, stopped when the session ends."""
    global _running
    if _running is not None:
        return _running
    from urllib.parse import urlsplit

    from newswire.embedded import EmbeddedPipeline

    workdir = Path(tempfile.mkdtemp(prefix="newswire-faults-"))
    cleanup: list = [] if os.environ.get("NEWSWIRE_KEEP_WORKDIR") else [lambda: shutil.rmtree(workdir, ignore_errors=True)]
    site, targets = Site(), TargetReceiver()
    cleanup += [site.close, targets.close]
    proxy = None
    database_url = None
    given = os.environ.get("TEST_DATABASE_URL")
    if given:
        name, drop = _fresh_postgres(given)
        cleanup.append(drop)
        parts = urlsplit(given.replace("postgresql+psycopg://", "postgresql://"))
        proxy = DatabaseProxy(parts.hostname or "127.0.0.1", parts.port or 5432)
        cleanup.append(proxy.close)
        credentials = parts.netloc.rsplit("@", 1)[0] + "@" if "@" in parts.netloc else ""
        database_url = f"postgresql://{credentials}127.0.0.1:{proxy.port}/{name}"
    targets_file = workdir / "targets.yaml"
    targets_file.write_text(TARGETS_YAML.format(
        url=targets.url, secret=WEBHOOK_SECRET, schedule=", ".join(str(s) for s in OUTAGE_SCHEDULE),
        threshold=BREAKER_THRESHOLD, cooldown=BREAKER_COOLDOWN), encoding="utf-8")
    env = dict(ENV, NEWSWIRE_TARGETS_FILE=str(targets_file))
    pipeline = EmbeddedPipeline(database_url=database_url, env=env, workdir=workdir / "pipeline")
    try:
        pipeline.start()
    except BaseException:
        pipeline.stop()
        for step in reversed(cleanup):
            step()
        raise
    cleanup.append(pipeline.stop)
    _running = FaultPipeline(pipeline, site, targets, proxy, workdir, cleanup)
    request.config.add_cleanup(_running.stop)
    return _running
