"""Fault rehearsals: each test breaks something on purpose and checks that nothing is lost or sent twice.

What every rehearsal here gets (all generic; a test adds its own fault):

- ``fault_database``: a database of its own (a fresh PostgreSQL database with TEST_DATABASE_URL, else SQLite in
  the test's folder), so no other test's workers touch its rows;
- ``receiver``: the publish targets' side, a real HTTP server on 127.0.0.1 that checks every Standard Webhooks
  signature and records what arrives per target (one URL path per target); it counts for the assertions, not
  Newswire's own records. A path can be made to fail (``receiver.down``) or answer slowly (``receiver.slow``);
- ``fault_pipeline``: starts an :class:`~newswire.embedded.EmbeddedPipeline` (its own Redis with the append-only
  file, the four workers, the API) with the short timeouts below and webhook targets at the receiver; this test
  process reads the same Redis and database (for the checks);
- ``Articles``: distinct small articles, pushed to a source as RSS (``POST /sources/{id}/push``) or served as
  pages by the session's ``site`` and submitted with ``POST /ingest``;
- checks: :func:`wait_delivered`, :func:`assert_exactly_once`, :func:`dead_letters`, :func:`half_done_deliveries`.

Every module here is marked ``fault`` (this file marks what it collects too): ``make test-faults`` runs them
alone; CI runs them once, in the main pass, not again in the SQLite ``-m pipeline`` pass.
"""

from __future__ import annotations

import base64
import json
import os
import random
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator
from xml.sax.saxutils import escape

import pytest

from shared.settings import STAGES
from conftest import PIPELINE_ENV, wait_until  # noqa: F401  (re-exported for the fault tests)
from tests.publish.receivers import Answer, Receiver, Request

FAULTS = Path(__file__).resolve().parent
SECRET = "whsec_" + base64.b64encode(b"newswire-fault-secret-0123456789").decode()

# For the rehearsals that kill processes (workers, a host, Redis): short enough that a killed worker's messages come
# back in seconds (production: 30 minutes), long enough for a first task on a loaded 2-core machine; the visibility
# timeout must exceed the hard time limit.
FAULT_ENV = {
    **PIPELINE_ENV,
    "NEWSWIRE_VISIBILITY_TIMEOUT": "20",
    "NEWSWIRE_TASK_TIME_LIMIT": "15",
    "NEWSWIRE_TASK_SOFT_TIME_LIMIT": "12",
    "NEWSWIRE_HTTP_READ_TIMEOUT": "6",
    "NEWSWIRE_HTTP_TOTAL_TIMEOUT": "8",
    "NEWSWIRE_RETRY_MAX": "3",
    # A drain that dies holding claims: its rows are claimed again when their lease ends, (batch / concurrency)
    # x the target's timeout + 30 s (services/publish/engine.py lease_for); small batches keep that short.
    "NEWSWIRE_DELIVERY_BATCH": "20",
    # A drain task works this long before handing over: well inside the soft time limit above.
    "NEWSWIRE_DELIVERY_DRAIN_SECONDS": "5",
    # A hand-off lost between BRPOP and its record (a whole worker killed there) is sent again after this age and
    # two sweeps that missed it (production: every 30 s, the task time limit + 60 s).
    "NEWSWIRE_HANDOFF_SWEEP_INTERVAL": "3",
    "NEWSWIRE_HANDOFF_SWEEP_AGE": "20",
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Whatever is collected under tests/faults/ is a fault rehearsal, marked or not."""
    for item in items:
        if Path(str(item.fspath)).resolve().is_relative_to(FAULTS):
            item.add_marker(pytest.mark.fault)


# -- a database of its own -------------------------------------------------------------------------------------
@pytest.fixture()
def fault_database(tmp_path: Path) -> Iterator[str]:
    """A fresh PostgreSQL database (with TEST_DATABASE_URL, dropped after), else a SQLite file."""
    given = os.environ.get("TEST_DATABASE_URL")
    if not given:
        yield f"sqlite:///{tmp_path / 'fault.db'}"
        return
    import psycopg

    admin = given.replace("postgresql+psycopg://", "postgresql://")
    name = f"newswire_fault_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    yield f"{admin.rpartition('/')[0]}/{name}"
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# -- the receiving side ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Arrival:
    target: str  # the URL path's first part: one path per target
    webhook_id: str
    article_id: str
    version: int
    event: str
    status: int  # what the receiver answered
    at: float


class SignedReceiver:
    """Webhook targets at ``url(name)``: checks each signature (401 if it does not verify), records each arrival.

    ``down``: target names answered with 503 (a target that is down); ``slow``: name -> seconds before answering.
    """

    def __init__(self, secret: str = SECRET) -> None:
        from standardwebhooks.webhooks import Webhook

        self.verifier = Webhook(secret)
        self.secret = secret
        self.arrivals: list[Arrival] = []
        self.bad_signatures = 0
        self.down: set[str] = set()
        self.slow: dict[str, float] = {}
        self.lock = threading.Lock()
        self.server = Receiver()
        self.server.handler = self._answer

    def url(self, target: str) -> str:
        return self.server.url(f"/{target}")

    def _answer(self, request: Request) -> Answer:
        from standardwebhooks.webhooks import WebhookVerificationError

        target = request.path.split("?")[0].strip("/").split("/")[0]
        try:
            document = self.verifier.verify(request.body, request.headers)
            article_id, version = str(document["id"]), int(document["version"])
        except (WebhookVerificationError, ValueError, KeyError, TypeError):
            with self.lock:
                self.bad_signatures += 1
            return Answer(status=401)
        status = 503 if target in self.down else 204
        arrival = Arrival(target, request.headers.get("webhook-id", ""), article_id, version,
                          str(document.get("event") or "publish"), status, request.at)
        with self.lock:
            self.arrivals.append(arrival)
        return Answer(status=status, delay=self.slow.get(target, 0.0))

    def accepted(self) -> list[Arrival]:
        """The arrivals answered 2xx (the receiver took them)."""
        with self.lock:
            return [a for a in self.arrivals if 200 <= a.status < 300]

    def delivered(self) -> Counter:
        """(article id, version, target) -> how many deliveries the receiver took for it, counted by webhook-id:
        a webhook-id seen again is the same delivery repeated (see :func:`assert_exactly_once`)."""
        ids: dict[tuple[str, int, str], set[str]] = {}
        for arrival in self.accepted():
            ids.setdefault((arrival.article_id, arrival.version, arrival.target), set()).add(arrival.webhook_id)
        return Counter({key: len(found) for key, found in ids.items()})

    def repeats(self) -> Counter:
        """webhook-id -> how many more times than once the receiver took it."""
        seen = Counter(arrival.webhook_id for arrival in self.accepted())
        return Counter({key: count - 1 for key, count in seen.items() if count > 1})

    def close(self) -> None:
        self.server.close()


@pytest.fixture()
def receiver() -> Iterator[SignedReceiver]:
    server = SignedReceiver()
    yield server
    server.close()


def write_targets(path: Path, receiver: SignedReceiver, names: list[str], **options: object) -> Path:
    """A targets file: one webhook target per name at the receiver (``options`` apply to each)."""
    targets = [{"name": name, "kind": "webhook", "url": receiver.url(name), "secrets": [receiver.secret], **options}
               for name in names]
    path.write_text(json.dumps({"targets": targets}), encoding="utf-8")
    return path


# -- the pipeline --------------------------------------------------------------------------------------------------
@pytest.fixture()
def fault_pipeline(fault_database, receiver, tmp_path):  # noqa: ANN001, ANN201
    """Starts a pipeline: ``fault_pipeline(targets=["a", "b"], env={...}, target_timeout=3,
    **EmbeddedPipeline options)``.

    Its own Redis (bundled binary, append-only file on) and the test's own database; webhook targets at the
    receiver (timeout ``target_timeout``, 3 s, each). While the test runs, this process uses the same Redis and
    database. Stopped (SIGTERM, then SIGKILL) after the test."""
    from newswire.embedded import EmbeddedPipeline, override_environment

    started: list[tuple[EmbeddedPipeline, object]] = []

    def start(targets: tuple[str, ...] | list[str] = ("alpha", "beta"), env: dict[str, str] | None = None,
              target_timeout: float = 3, **options: object) -> EmbeddedPipeline:
        workdir = tmp_path / f"pipeline-{len(started)}"
        workdir.mkdir()
        targets_file = write_targets(workdir / "targets.json", receiver, list(targets), timeout=target_timeout)
        values = {**FAULT_ENV, "NEWSWIRE_TARGETS_FILE": str(targets_file), **(env or {})}
        pipeline = EmbeddedPipeline(database_url=fault_database, env=values, workdir=workdir, **options)
        try:
            pipeline.start()
        except BaseException:
            pipeline.stop()
            raise
        here = override_environment({"REDIS_URL": pipeline.redis_url, "DATABASE_URL": pipeline.database_url,
                                     "NEWSWIRE_DATA_DIR": str(workdir), "NEWSWIRE_TARGETS_FILE": str(targets_file)})
        here.__enter__()
        started.append((pipeline, here))
        return pipeline

    yield start
    for pipeline, here in reversed(started):
        try:
            pipeline.stop()
        finally:
            here.__exit__(None, None, None)


@pytest.fixture(scope="module")
def faults(request):  # noqa: ANN001, ANN201
    """The pipeline the target, poison and database rehearsals share (tests/faults/outage_support.py): started by
    its first user, stopped after the last one."""
    from tests.faults.outage_support import release_after_last_user, shared_pipeline

    yield shared_pipeline(request)
    release_after_last_user(request)


# -- articles -------------------------------------------------------------------------------------------------------
WORDS = ("council", "harbour", "bridge", "budget", "school", "river", "festival", "railway", "museum", "market",
         "clinic", "library", "stadium", "airport", "orchard", "factory", "tunnel", "ferry", "garden", "archive")
CITIES = ("Lisbon", "Osaka", "Nairobi", "Quito", "Tromsø", "Adelaide", "Gdańsk", "Tbilisi", "Halifax", "Pune")


@dataclass
class Article:
    url: str
    title: str
    paragraphs: list[str]

    @property
    def html(self) -> str:
        body = "".join(f"<p>{escape(p)}</p>" for p in self.paragraphs)
        return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{escape(self.title)}</title>'
                f'</head><body><article><h1>{escape(self.title)}</h1>{body}</article></body></html>')


@dataclass
class Articles:
    """``count`` distinct small English articles (no two share a title or a paragraph), from a seed."""

    count: int
    seed: int = 8
    base_url: str = "http://faults.example.com"
    items: list[Article] = field(default_factory=list)

    def __post_init__(self) -> None:
        rng = random.Random(self.seed)
        run = uuid.uuid4().hex[:8]
        for n in range(self.count):
            word, other, city = rng.choice(WORDS), rng.choice(WORDS), rng.choice(CITIES)
            title = f"{city} approves {word} plan number {n} of rehearsal {run}"
            paragraphs = [
                f"The city of {city} approved plan {n} for its {word} on Tuesday after a long debate, "
                f"officials said, with {rng.randint(3, 97)} members voting in favour.",
                f"The {word} has been closed since {rng.randint(1990, 2025)}, and residents asked for the {other} "
                f"to be opened first; the mayor said both would open within {rng.randint(2, 30)} months.",
                f"Work on the {word} will cost {rng.randint(2, 900)} million, paid from the regional {other} fund, "
                f"according to report {run}-{n} published by the council.",
            ]
            self.items.append(Article(f"{self.base_url}/{run}/{n}.html", title, paragraphs))

    def rss(self, items: list[Article]) -> bytes:
        """An RSS 2.0 document carrying each article whole (content:encoded), so nothing is fetched."""
        entries = "".join(
            f"<item><title>{escape(a.title)}</title><link>{escape(a.url)}</link><guid>{escape(a.url)}</guid>"
            f"<pubDate>Tue, 24 Nov 2026 10:00:00 GMT</pubDate>"
            f"<content:encoded><![CDATA[{''.join(f'<p>{p}</p>' for p in a.paragraphs)}]]></content:encoded></item>"
            for a in items)
        return ('<?xml version="1.0" encoding="utf-8"?><rss version="2.0" '
                'xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel><title>Fault rehearsal</title>'
                f"<link>{self.base_url}/</link><description>rehearsal</description>{entries}</channel></rss>"
                ).encode("utf-8")


def article_id(url: str) -> str:
    """The id Newswire gives the article at ``url`` (found by a source: its canonical URL)."""
    from services.ingest.urls import canonical_url
    from shared.payload import article_id_for

    return article_id_for(canonical_url(url))


def add_push_source(pipeline, name: str = "fault rehearsal") -> int:  # noqa: ANN001
    """A source of kind push: nothing to poll, its items come by POST /sources/{id}/push."""
    response = pipeline.client.post("/sources", json={"url": f"http://faults.example.com/{uuid.uuid4().hex}/feed.xml",
                                                      "kind": "push", "name": name})
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def _accepted(pipeline, path: str, **request: object) -> dict:  # noqa: ANN001
    """POST to the API until it takes it (202); it answers 503 while Redis or the store is away."""
    import httpx

    def sent() -> dict | None:
        try:
            response = pipeline.client.post(path, **request)
        except httpx.HTTPError:
            return None
        assert response.status_code in (202, 503), response.text
        return response.json() if response.status_code == 202 else None

    return wait_until(sent, timeout=180, interval=0.5, message=f"POST {path} accepted")


def push(pipeline, source_id: int, body: bytes) -> None:  # noqa: ANN001
    """POST /sources/{id}/push (an RSS document)."""
    _accepted(pipeline, f"/sources/{source_id}/push", content=body, headers={"Content-Type": "application/rss+xml"})


def submit(pipeline, site, source_id: int, articles: Articles, items: list[Article], *,  # noqa: ANN001
           per_push: int = 25, by_url_every: int = 10, page_delay: float = 0.3) -> set[str]:
    """Send ``items`` in: every ``by_url_every``-th as a page the ``site`` serves (after ``page_delay`` s) and
    ``POST /ingest`` fetches, the others pushed as RSS, ``per_push`` a push. Returns their article ids."""
    expected: set[str] = set()
    pages = [a for n, a in enumerate(items) if n % by_url_every == by_url_every - 1]
    pushed = [a for n, a in enumerate(items) if n % by_url_every != by_url_every - 1]
    share = max(1, -(-len(pages) // max(1, -(-len(pushed) // per_push))))  # pages sent after each push
    for start in range(0, max(len(pushed), 1), per_push):
        if pushed[start:start + per_push]:
            push(pipeline, source_id, articles.rss(pushed[start:start + per_push]))
            expected |= {article_id(a.url) for a in pushed[start:start + per_push]}
        for page in pages[:share]:
            url = site.add(f"/faults/{uuid.uuid4().hex}.html", page.html, delay=page_delay)
            expected.add(_accepted(pipeline, "/ingest", json={"url": url})["id"])
        pages = pages[share:]
    for page in pages:
        url = site.add(f"/faults/{uuid.uuid4().hex}.html", page.html, delay=page_delay)
        expected.add(_accepted(pipeline, "/ingest", json={"url": url})["id"])
    assert len(expected) == len(items)
    return expected


def delivered_share(receiver: "SignedReceiver", expected: set[str], targets: list[str]) -> float:
    """The share of ``expected`` articles the receiver took at every target."""
    got = {(a.article_id, a.target) for a in receiver.accepted()}
    return sum(all((a, t) in got for t in targets) for a in expected) / max(1, len(expected))


# -- the checks -------------------------------------------------------------------------------------------------------
def wait_delivered(receiver: SignedReceiver, expected: set[str], targets: list[str], *, timeout: float = 600.0,
                   pipeline=None) -> None:  # noqa: ANN001
    """Until the receiver took a delivery of every expected article at every target (any version)."""
    def done() -> bool:
        if pipeline is not None:
            dead = [name for name, process in pipeline.processes.items() if process.poll() is not None]
            assert not dead, f"exited: {dead}; logs in {pipeline.logs}"
        got = {(a.article_id, a.target) for a in receiver.accepted()}
        return all((article, target) in got for article in expected for target in targets)

    wait_until(done, timeout=timeout, interval=1.0,
               message=f"{len(expected)} articles delivered to {', '.join(targets)} (see the logs)")


def wait_delivered_supervised(receiver: SignedReceiver, expected: set[str], targets: list[str], pipeline, *,  # noqa: ANN001
                              timeout: float) -> list[str]:
    """:func:`wait_delivered`, starting again a worker that exits by itself, as `newswire up`, Compose and Kubernetes
    do (the API must not exit). Returns the workers started again, for the test to print."""
    restarted: list[str] = []

    def delivered_under_supervision() -> bool:
        for name, process in list(pipeline.processes.items()):
            if process.poll() is None:
                continue
            assert name.startswith("worker-"), f"{name} exited; logs in {pipeline.logs}"
            restarted.append(name)  # what the supervisor would do
            pipeline.restart(name)
        return delivered_share(receiver, expected, targets) >= 1.0

    wait_until(delivered_under_supervision, timeout=timeout, interval=1.0,
               message=f"{len(expected)} articles delivered to {', '.join(targets)} (see the logs)")
    return restarted


def published_versions(article_ids: set[str]) -> dict[str, list[tuple[int, str]]]:
    """article id -> [(version, status)] from the store."""
    from sqlalchemy import select

    from shared.store import ArticleVersion, session_scope

    found: dict[str, list[tuple[int, str]]] = {}
    ids = sorted(article_ids)
    with session_scope() as session:
        for start in range(0, len(ids), 500):
            for row in session.execute(select(ArticleVersion.article_id, ArticleVersion.version, ArticleVersion.status)
                                       .where(ArticleVersion.article_id.in_(ids[start:start + 500]))):
                found.setdefault(row.article_id, []).append((row.version, row.status))
    return found


def assert_exactly_once(receiver: SignedReceiver, expected: set[str], targets: list[str]) -> dict[str, int]:
    """Every expected article published once (one version), and that version taken by the receiver exactly once
    per target: one webhook-id per (article, version, target), none for anything unexpected.

    A webhook-id arriving twice is one delivery sent again: a worker killed after the send and before it
    recorded the outcome leaves its claim to run out, and it is sent again with the same webhook-id, as
    Standard Webhooks prescribes (a receiver drops the repeat by that id). Those repeats are returned (with
    how many deliveries had a claim that died) for the test to judge; anything else fails here."""
    from sqlalchemy import func, select

    from shared.store import Delivery, DeliveryAttempt, session_scope

    versions = published_versions(expected)
    missing = sorted(expected - set(versions))
    assert not missing, f"{len(missing)} articles never stored, e.g. {missing[:3]}"
    not_one = {a: v for a, v in versions.items() if [s for _, s in v] != ["published"]}
    assert not not_one, f"{len(not_one)} articles not published exactly once, e.g. {list(not_one.items())[:3]}"
    delivered = receiver.delivered()
    wanted = {(a, versions[a][0][0], t) for a in expected for t in targets}
    assert set(delivered) == wanted, (
        f"not delivered: {sorted(wanted - set(delivered))[:5]}; unexpected: {sorted(set(delivered) - wanted)[:5]}")
    twice = {key: count for key, count in delivered.items() if count != 1}
    assert not twice, f"{len(twice)} (article, version, target) taken under more than one webhook-id: {list(twice)[:5]}"
    assert receiver.bad_signatures == 0
    repeats = receiver.repeats()
    with session_scope() as session:
        # Claims that ended without their outcome recorded: a claim counts an attempt, recording logs one.
        logged = select(DeliveryAttempt.delivery_id, func.count().label("n")).group_by(DeliveryAttempt.delivery_id) \
            .subquery()
        lost_claims = session.execute(
            select(func.coalesce(func.sum(Delivery.attempts - func.coalesce(logged.c.n, 0)), 0))
            .select_from(Delivery).outerjoin(logged, logged.c.delivery_id == Delivery.id)).scalar()
    return {"repeated_posts": sum(repeats.values()), "lost_claims": int(lost_claims or 0)}


def queues_empty() -> bool:
    """Every stage's queue is empty (a wake-up a worker holds for later is not in a queue)."""
    from shared.redis_client import get_redis

    client = get_redis()
    return not any(client.llen(stage) for stage in STAGES)


def dead_letters() -> list[dict]:
    from sqlalchemy import select

    from shared.store import session_scope
    from shared.store.models import DeadLetter

    with session_scope() as session:
        return [{"stage": d.stage, "task": d.task, "error": d.error} for d in
                session.execute(select(DeadLetter)).scalars()]


def half_done_deliveries() -> list[tuple[int, str]]:
    """Deliveries not in a final state: pending, retrying or claimed (``sending``)."""
    from sqlalchemy import select

    from shared.store import Delivery, session_scope

    with session_scope() as session:
        return [(row.id, row.status) for row in session.execute(
            select(Delivery.id, Delivery.status).where(Delivery.status.not_in(("delivered", "superseded"))))]


class Killer(threading.Thread):
    """Every few seconds (uniformly ``low``..``high``, from ``seed``) a random one of ``names`` of the pipeline:
    either the whole worker (main process and pool children, SIGKILL to its process group) is killed and started
    again, or, with ``children`` of the time, one of its pool processes is killed (SIGKILL) and Celery replaces it.
    ``kills`` lists (seconds since start, what)."""

    def __init__(self, pipeline, names: list[str], seed: int, low: float, high: float,  # noqa: ANN001
                 children: float = 0.5) -> None:
        super().__init__(name="killer", daemon=True)
        self.pipeline = pipeline
        self.names = names
        self.rng = random.Random(seed)
        self.low, self.high = low, high
        self.children = children
        self.kills: list[tuple[float, str]] = []
        self.halt = threading.Event()
        self.error: BaseException | None = None

    def _kill_child(self, name: str) -> bool:
        import psutil

        try:
            pool = sorted(psutil.Process(self.pipeline.processes[name].pid).children(), key=lambda c: c.pid)
            if not pool:
                return False
            self.rng.choice(pool).kill()
        except psutil.Error:
            return False
        return True

    def run(self) -> None:
        start = time.monotonic()
        try:
            while not self.halt.wait(self.rng.uniform(self.low, self.high)):
                name = self.rng.choice(self.names)
                if self.rng.random() < self.children and self._kill_child(name):
                    what = f"{name} (a pool process)"
                else:
                    self.pipeline.restart(name)
                    what = name
                self.kills.append((round(time.monotonic() - start, 1), what))
        except BaseException as exc:  # noqa: BLE001  (reported by stop())
            self.error = exc

    def stop(self) -> list[tuple[float, str]]:
        self.halt.set()
        self.join(timeout=60)
        assert self.error is None, f"the killer failed: {self.error!r}"
        return self.kills
