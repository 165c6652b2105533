"""Multi-host rehearsal: two "hosts" share one Redis and one database; one dies mid-flow, the other finishes the work.

Each host is a process group of its own with its own working directory (NEWSWIRE_DATA_DIR, cwd), running a Celery
worker for every stage, named ``<stage>@host-a`` / ``<stage>@host-b`` as on two machines, and fetching with its
own User-Agent so the page server can tell the hosts apart. The API runs in a third group (the "front"). Pages
take a while to serve, so fetches are in flight. Host A's whole process group is killed with SIGKILL (a host
losing power) at a moment when the page server is serving it a page; host B must then:

- fetch that page again (its message was never acknowledged and comes back after the visibility timeout),
- bring every submitted article to published, each with exactly one version and one delivered delivery,
- with exactly one webhook received per article, and no dead letters.

No timing is asserted; the waits are long (a loaded 2-core machine), and the visibility timeout is short (20 s)
so that the rehearsal costs about a minute. With TEST_DATABASE_URL (PostgreSQL) the hosts share a fresh
PostgreSQL database; otherwise one SQLite file.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from conftest import WEBHOOK_SECRET, wait_until
from newswire.supervisor import api_command, worker_command
from services.publish.limits import PREFIX as PUBLISH_PREFIX
from shared.redis_client import redis_from_url
from shared.redis_server import free_port, start_redis
from shared.settings import STAGES
from tests.faults.conftest import FAULT_ENV

# A fault rehearsal (tests/faults), not marked `pipeline`: CI runs it once, with the main suite (on PostgreSQL where
# CI has it), and not again in its SQLite-only pass of the pipeline tests (.ci/run), which would add another minute.
pytestmark = [pytest.mark.fault, pytest.mark.timeout(900)]  # its waits are long for a loaded machine

ARTICLES = 10
PAGE_DELAY = 1.5  # seconds the page server takes to answer: long enough to catch a fetch in flight
HOSTS = ("host-a", "host-b")


# -- a page server that knows which host is fetching what -----------------------------------------
@dataclass
class Fetch:
    path: str
    agent: str
    started: float
    finished: float | None = None


@dataclass
class PageServer:
    pages: dict[str, bytes]
    delay: float
    fetches: list[Fetch] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *_args) -> None:  # noqa: ANN002
                pass

            def do_GET(self) -> None:  # noqa: N802
                body = server.pages.get(self.path)
                fetch = Fetch(self.path, self.headers.get("User-Agent", ""), time.monotonic())
                with server.lock:
                    server.fetches.append(fetch)
                time.sleep(server.delay)
                status = 200 if body is not None else 404
                body = body if body is not None else b"not found"
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "text/html; charset=utf-8")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                finally:
                    fetch.finished = time.monotonic()

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request, client_address) -> None:  # noqa: ANN001
                pass  # a killed host hangs up mid-answer

        self.httpd = Server(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}{path}"

    def in_flight(self, agent: str) -> Fetch | None:
        with self.lock:
            return next((f for f in self.fetches if f.agent == agent and f.finished is None), None)

    def served(self) -> int:
        with self.lock:
            return sum(1 for f in self.fetches if f.finished is not None)

    def fetched_by(self, path: str, agent: str, after: float) -> bool:
        with self.lock:
            return any(f.path == path and f.agent == agent and f.started > after for f in self.fetches)

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


# -- hosts ----------------------------------------------------------------------------------------
@dataclass
class Host:
    """One "machine": its processes share one process group, so killing the group kills the whole host."""

    name: str
    workdir: Path
    env: dict[str, str]
    processes: list[subprocess.Popen] = field(default_factory=list)

    @property
    def agent(self) -> str:
        return f"Newswire-rehearsal/{self.name}"

    @property
    def pgid(self) -> int:
        return self.processes[0].pid

    def spawn(self, name: str, command: list[str]) -> None:
        logs = self.workdir / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        with open(logs / f"{name}.log", "ab", buffering=0) as log:
            # A new process group (in this session: a group of another session cannot be joined) per host.
            group = {"process_group": 0} if not self.processes else {"process_group": self.pgid}
            self.processes.append(subprocess.Popen(command, env=self.env, cwd=self.workdir, stdout=log,
                                                   stderr=subprocess.STDOUT, **group))

    def start_workers(self) -> None:
        for stage in STAGES:
            command = worker_command(stage, concurrency=1)
            command[command.index("-n") + 1] = f"{stage}@{self.name}"
            self.spawn(f"worker-{stage}", command)

    def kill(self) -> None:
        """The host loses power: SIGKILL to the whole group (workers and their pool processes) at once."""
        os.killpg(self.pgid, signal.SIGKILL)
        for process in self.processes:
            process.wait(timeout=30)

    def stop(self) -> None:
        if not self.processes or all(p.poll() is not None for p in self.processes):
            return
        try:
            os.killpg(self.pgid, signal.SIGTERM)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + 30
        for process in self.processes:
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
        try:
            os.killpg(self.pgid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        for process in self.processes:
            process.wait(timeout=30)

    def dead(self) -> list[str]:
        return [" ".join(p.args[-12:]) for p in self.processes if p.poll() is not None]


def distinct_pages(raw: bytes, count: int) -> dict[str, bytes]:
    """The sample page, made into ``count`` different articles (different title and text, so no duplicates)."""
    text = raw.decode("utf-8")
    pages = {}
    for number in range(count):
        marker = f"（第{number + 1}稿 {uuid.uuid4().hex[:8]}）"
        page = text.replace("截至目前", f"截至目前{marker}").replace("</title>", f"{marker}</title>", 1)
        assert page != text
        pages[f"/hosts/{uuid.uuid4().hex}.html"] = page.encode("utf-8")
    return pages


# -- the rehearsal ---------------------------------------------------------------------------------
def test_a_host_dies_mid_flow_and_the_other_finishes_everything(fault_database, sink, sample, tmp_path) -> None:  # noqa: ANN001
    raw, _truth = sample
    server = PageServer(distinct_pages(raw, ARTICLES), delay=PAGE_DELAY)
    redis_process, redis_url = start_redis(tmp_path / "redis")
    base_env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSWIRE_") and k not in ("REDIS_URL", "DATABASE_URL")}
    base_env.update(FAULT_ENV, REDIS_URL=redis_url, DATABASE_URL=fault_database,
                    NEWSWIRE_WEBHOOK_URL=sink.url, NEWSWIRE_WEBHOOK_SECRET=WEBHOOK_SECRET, PYTHONUNBUFFERED="1")

    def host_env(name: str, workdir: Path, agent: str | None = None) -> dict[str, str]:
        workdir.mkdir(parents=True, exist_ok=True)
        env = dict(base_env, NEWSWIRE_DATA_DIR=str(workdir))
        if agent:
            env["NEWSWIRE_USER_AGENT"] = agent
        return env

    hosts = {name: Host(name, tmp_path / name, {}) for name in HOSTS}
    for host in hosts.values():
        host.env = host_env(host.name, host.workdir, host.agent)
    front = Host("front", tmp_path / "front", host_env("front", tmp_path / "front"))
    try:
        migrate = subprocess.run([sys.executable, "-m", "newswire.cli", "migrate"], env=front.env, cwd=front.workdir,
                                 capture_output=True, text=True, timeout=300)
        assert migrate.returncode == 0, migrate.stderr
        created = subprocess.run([sys.executable, "-m", "newswire.cli", "token", "create", "--role", "operator"],
                                 env=front.env, cwd=front.workdir, capture_output=True, text=True, timeout=120)
        assert created.returncode == 0, created.stderr
        auth = {"Authorization": f"Bearer {created.stdout.strip().splitlines()[-1]}"}
        for host in hosts.values():
            host.start_workers()
        port = free_port()
        front.spawn("api", api_command("127.0.0.1", port))
        api = f"http://127.0.0.1:{port}"

        client = redis_from_url(redis_url)
        expected = {f"newswire:worker:{stage}:{stage}@{name}" for name in HOSTS for stage in STAGES}

        def everyone_ready() -> bool:
            for host in (*hosts.values(), front):
                assert not host.dead(), f"{host.name}: exited early: {host.dead()}; logs in {host.workdir / 'logs'}"
            beating = {key.decode() for key in client.scan_iter(match="newswire:worker:*")}
            try:
                api_ready = httpx.get(api + "/readyz", timeout=5).status_code == 200
            except httpx.HTTPError:
                api_ready = False
            return expected <= beating and api_ready

        wait_until(everyone_ready, timeout=240, interval=0.5, message="both hosts' workers and the API")

        submitted = {}
        for path in server.pages:
            response = httpx.post(api + "/ingest", json={"url": server.url(path)}, headers=auth, timeout=30)
            assert response.status_code == 202, response.text
            submitted[path] = response.json()["id"]

        # Mid-flow: pages already served (articles moving through clean, enrich, publish) and one being fetched
        # by host A right now. Chosen while no host holds the webhook target's drain lock: a host dying inside a
        # drain pauses that target for the lock's and the claims' lease (about 140 s, docs/operations.md), which
        # loses nothing but would only make this rehearsal slow.
        victim = hosts["host-a"]
        drain_lock = f"{PUBLISH_PREFIX}:draining:webhook"

        def host_a_mid_fetch() -> Fetch | None:
            if server.served() < 2 or client.exists(drain_lock):
                return None
            return server.in_flight(victim.agent)

        caught = wait_until(host_a_mid_fetch, timeout=180, interval=0.02,
                            message="host A fetching a page while others are under way")
        victim.kill()

        def all_delivered() -> bool:
            assert not hosts["host-b"].dead(), f"host B died: {hosts['host-b'].dead()}"
            for article_id in submitted.values():
                response = httpx.get(f"{api}/articles/{article_id}", headers=auth, timeout=30)
                if response.status_code != 200:
                    return False
                versions = response.json()["versions"]
                if not versions or versions[0]["status"] != "published":
                    return False
                if not any(d["status"] == "delivered" for d in versions[0]["deliveries"]):
                    return False
            return True

        wait_until(all_delivered, timeout=420, interval=0.5, message="every article published and delivered")

        # The page host A was fetching came back to host B (its message had never been acknowledged).
        assert server.fetched_by(caught.path, hosts["host-b"].agent, after=caught.started), (
            "host B never fetched the page host A was fetching when it died")
        time.sleep(2)  # let a duplicate delivery, if any, arrive before counting
        for path, article_id in submitted.items():
            article = httpx.get(f"{api}/articles/{article_id}", headers=auth, timeout=30).json()
            assert len(article["versions"]) == 1, f"{path}: {len(article['versions'])} versions"
            version = article["versions"][0]
            delivered = [d for d in version["deliveries"] if d["status"] == "delivered"]
            assert len(delivered) == 1, f"{path}: deliveries {version['deliveries']}"
            received = sink.for_article(article_id)
            assert len(received) == 1, f"{path}: the receiver got {len(received)} webhooks"
        letters = httpx.get(f"{api}/dead-letters", headers=auth, timeout=30).json()["items"]
        assert not letters, f"dead letters: {letters}"
        # Nothing left behind in Redis either: every stage's queue drains.
        wait_until(lambda: not any(client.llen(stage) for stage in STAGES), timeout=60, interval=0.5,
                   message="every queue empty")
    finally:
        for host in (*hosts.values(), front):
            host.stop()
        redis_process.terminate()
        redis_process.wait(timeout=20)
        server.close()
