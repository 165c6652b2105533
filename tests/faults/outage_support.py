"""What the target, poison and database fault rehearsals share: one embedded pipeline (own Redis, own database,
real workers and API), a site serving the articles, the signed counting receiver behind three webhook targets
that a test can switch down (503), hold (answer only when released) or up, and a TCP proxy in front of
PostgreSQL that a test can cut and restore.

The pipeline is started once for these four modules (by the first test that asks; each of them costs seconds,
a pipeline start costs more) and stopped when the session ends. The tests leave it healthy for the next.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import socket
import tempfile
import threading
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from conftest import PIPELINE_ENV, wait_until
from servers import Site
from tests.faults.conftest import Arrival, Articles, SignedReceiver
from tests.publish.receivers import Answer, Request

# The outage target's own retry schedule (seconds before each attempt after the first), short so the rehearsal is
# short, long enough in total (40 s) that no delivery runs out of attempts during the outage.
OUTAGE_SCHEDULE = [0, 1, 1.5, 2, 3, 4, 5, 6, 8, 10]
BREAKER_THRESHOLD = 3
BREAKER_COOLDOWN = 2.0
RETRY_MAX = 2  # a stage task's retries before its dead letter
HOLD_LIMIT = 90.0  # a held request is answered after this at the latest, released or not
TARGETS = ("outage", "slow", "quick")


def write_targets(path: Path, receiver: HoldingReceiver) -> Path:
    """outage (its own short schedule and breaker), slow (a long timeout: it is held, not timed out), quick."""
    common = {"kind": "webhook", "secrets": [receiver.secret]}
    targets = [
        {**common, "name": "outage", "url": receiver.url("outage"), "concurrency": 2, "schedule": OUTAGE_SCHEDULE,
         "breaker_threshold": BREAKER_THRESHOLD, "breaker_cooldown": BREAKER_COOLDOWN},
        {**common, "name": "slow", "url": receiver.url("slow"), "timeout": 110},
        {**common, "name": "quick", "url": receiver.url("quick")},
    ]
    path.write_text(json.dumps({"targets": targets}), encoding="utf-8")
    return path


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


class HoldingReceiver(SignedReceiver):
    """The fault rehearsals' signed, counting receiver (tests/faults/conftest.py), one path per target, plus a
    path that holds: ``hold(target)`` keeps every answer at that target waiting until ``release(target)`` (at
    most HOLD_LIMIT seconds), a target that answers after seconds. ``down`` (a set of targets answered 503)
    stays as it is there."""

    def __init__(self) -> None:
        super().__init__()
        self.held: set[str] = set()
        self.waiting: dict[str, int] = {}  # target -> requests held now
        self.released = threading.Event()

    def _answer(self, request: Request) -> Answer:
        target = request.path.split("?")[0].strip("/").split("/")[0]
        with self.lock:
            holding = target in self.held
            if holding:
                self.waiting[target] = self.waiting.get(target, 0) + 1
        if holding:
            self.released.wait(HOLD_LIMIT)
            with self.lock:
                self.waiting[target] -= 1
        return super()._answer(request)

    def hold(self, target: str) -> None:
        self.released.clear()
        with self.lock:
            self.held.add(target)

    def release(self, target: str) -> None:
        with self.lock:
            self.held.discard(target)
        self.released.set()

    def in_flight(self, target: str) -> int:
        with self.lock:
            return self.waiting.get(target, 0)

    def of(self, target: str, article_id: str) -> list[Arrival]:
        """What arrived at ``target`` for the article, answered or not, in order."""
        with self.lock:
            return sorted((a for a in self.arrivals if a.target == target and a.article_id == article_id),
                          key=lambda a: a.at)

    def took(self, target: str, article_id: str) -> list[Arrival]:
        return [a for a in self.of(target, article_id) if 200 <= a.status < 300]

    def close(self) -> None:
        self.released.set()
        super().close()


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


@dataclass
class FaultPipeline:
    pipeline: Any  # newswire.embedded.EmbeddedPipeline
    site: Site
    receiver: HoldingReceiver
    proxy: DatabaseProxy | None
    workdir: Path
    cleanup: list = field(default_factory=list)
    stopped: bool = False

    @property
    def client(self):  # noqa: ANN201
        return self.pipeline.client

    def page(self, name: str) -> tuple[str, str]:
        """Serve a new article page; returns (its URL, the article id it becomes)."""
        from shared.payload import article_id_for

        article = Articles(1, seed=random.randrange(1 << 30)).items[0]
        url = self.site.add(f"/{name}/{uuid.uuid4().hex[:12]}.html", article.html)
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

    def wait_delivered(self, target: str, article_ids: list[str], timeout: float = 120.0, message: str = "") -> None:
        wait_until(lambda: all(self.receiver.took(target, a) for a in article_ids), timeout=timeout,
                   interval=0.25, message=message or f"every article delivered to {target}")

    def stop(self) -> None:
        if self.stopped:
            return
        self.stopped = True
        for step in reversed(self.cleanup):
            try:
                step()
            except Exception:  # noqa: BLE001
                pass


_running: FaultPipeline | None = None


def uses_shared_pipeline(item: pytest.Item) -> bool:
    """The test asks for the ``faults`` fixture of tests/faults/conftest.py (this pipeline)."""
    if "faults" not in getattr(item, "fixturenames", ()):
        return False
    return Path(str(item.fspath)).resolve().is_relative_to(Path(__file__).resolve().parent)


def release_after_last_user(request: pytest.FixtureRequest) -> None:
    """Stop the shared pipeline once no test still to run in this session uses it (module teardown): the other
    rehearsals start pipelines of their own, and this one should not sit beside them."""
    global _running
    items = request.session.items
    mine = [n for n, item in enumerate(items) if item.module is request.module]  # type: ignore[attr-defined]
    later = items[max(mine) + 1:] if mine else []
    if _running is not None and not any(uses_shared_pipeline(item) for item in later):
        running, _running = _running, None
        running.stop()


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


def shared_pipeline(request: pytest.FixtureRequest) -> FaultPipeline:
    """The pipeline these rehearsals share: started on first use, stopped after its last user (or when the
    session ends). With TEST_DATABASE_URL its database is a fresh PostgreSQL one behind a :class:`DatabaseProxy`,
    else a SQLite file."""
    global _running
    if _running is not None:
        return _running
    from urllib.parse import urlsplit

    from newswire.embedded import EmbeddedPipeline

    workdir = Path(tempfile.mkdtemp(prefix="newswire-faults-"))
    cleanup: list = []
    if not os.environ.get("NEWSWIRE_KEEP_WORKDIR"):
        cleanup.append(lambda: shutil.rmtree(workdir, ignore_errors=True))
    site, receiver = Site(), HoldingReceiver()
    cleanup += [site.close, receiver.close]
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
    targets_file = write_targets(workdir / "targets.json", receiver)
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
    _running = FaultPipeline(pipeline, site, receiver, proxy, workdir, cleanup)
    request.config.add_cleanup(_running.stop)
    return _running
