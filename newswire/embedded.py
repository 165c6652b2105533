"""An embedded pipeline in child processes: Redis (bundled, on a free port, unless a URL is given), a database
(SQLite in a folder, unless a URL is given), one Celery worker per stage and optionally the API and the scheduler.

Used by the test suite and by ``newswire bench``: the same real parts as ``newswire up``.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import httpx

from shared.redis_client import redis_from_url
from shared.redis_server import free_port, start_redis
from shared.settings import STAGES
from newswire.supervisor import api_command, scheduler_command, worker_command


def reset_process_state() -> None:
    """Drop what this process cached from the settings: the settings themselves, the engine, the Redis client."""
    from shared.redis_client import reset_client
    from shared.settings import reset_settings
    from shared.store.db import dispose_engine

    reset_settings()
    dispose_engine()
    reset_client()


def _set_environment(values: dict[str, str | None]) -> None:
    for key, value in values.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    reset_process_state()


@contextmanager
def override_environment(values: dict[str, str | None]) -> Iterator[None]:
    """Set (or, for None, remove) environment variables in this process; settings, engine and Redis client follow."""
    saved = {key: os.environ.get(key) for key in values}
    _set_environment(values)
    try:
        yield
    finally:
        _set_environment(saved)


@dataclass
class EmbeddedPipeline:
    """Start with ``start()`` (or as a context manager); ``env`` is what every child sees."""

    redis_url: str | None = None
    database_url: str | None = None
    env: dict[str, str] = field(default_factory=dict)
    stages: tuple[str, ...] = STAGES
    concurrency: dict[str, int] = field(default_factory=dict)
    api: bool = True
    scheduler: bool = False  # Celery beat, as `newswire up` runs it (``newswire bench soak`` measures it)
    extra_worker_args: list[str] = field(default_factory=list)
    workdir: Path | None = None

    processes: dict[str, subprocess.Popen] = field(default_factory=dict, init=False)
    api_url: str | None = field(default=None, init=False)
    token: str | None = field(default=None, init=False)  # an operator token of this pipeline's API
    _client: httpx.Client | None = field(default=None, init=False)
    _own_workdir: bool = field(default=False, init=False)
    _redis: subprocess.Popen | None = field(default=None, init=False)

    def __enter__(self) -> "EmbeddedPipeline":
        self.start()
        return self

    def __exit__(self, *_exc) -> None:  # noqa: ANN002
        self.stop()

    @property
    def logs(self) -> Path:
        assert self.workdir is not None
        return self.workdir / "logs"

    def child_env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSWIRE_")}
        env.update(
            {
                "NEWSWIRE_DATA_DIR": str(self.workdir),
                "REDIS_URL": self.redis_url or "",
                "DATABASE_URL": self.database_url or "",
                "PYTHONUNBUFFERED": "1",
            }
        )
        env.update(self.env)
        return env

    def start(self) -> None:
        if self.workdir is None:
            self.workdir = Path(tempfile.mkdtemp(prefix="newswire-"))
            self._own_workdir = True
        self.logs.mkdir(parents=True, exist_ok=True)
        if not self.redis_url:
            self._redis, self.redis_url = start_redis(self.workdir / "redis", log_file=self.logs / "redis.log")
        if not self.database_url:
            self.database_url = f"sqlite:///{self.workdir / 'newswire.db'}"
        env = self.child_env()
        subprocess.run([sys.executable, "-m", "newswire.cli", "migrate"], env=env, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        if self.api:  # no token, no access: the pipeline's own operator token, as `newswire token create` makes
            created = subprocess.run(
                [sys.executable, "-m", "newswire.cli", "token", "create", "--role", "operator", "--name",
                 "embedded pipeline"], env=env, check=True, capture_output=True, text=True)
            self.token = created.stdout.strip().splitlines()[-1]
        for stage in self.stages:
            command = worker_command(stage, self.concurrency.get(stage), loglevel="INFO") + self.extra_worker_args
            self._spawn(f"worker-{stage}", command, env)
        if self.api:
            port = free_port()
            self._spawn("api", api_command("127.0.0.1", port), env)
            self.api_url = f"http://127.0.0.1:{port}"
        if self.scheduler:
            self._spawn("scheduler", scheduler_command(self.workdir, "INFO"), env)
        self.wait_ready()

    @property
    def auth(self) -> dict[str, str]:
        """The Authorization header of this pipeline's operator token."""
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    @property
    def client(self) -> httpx.Client:
        """An HTTP client that sends the operator token (give it full URLs or paths of the API)."""
        if self._client is None:
            self._client = httpx.Client(base_url=self.api_url or "", headers=self.auth, timeout=30)
        return self._client

    def _spawn(self, name: str, command: list[str], env: dict[str, str]) -> None:
        log = open(self.logs / f"{name}.log", "ab", buffering=0)
        self.processes[name] = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT,
                                                start_new_session=True)
        log.close()

    def restart(self, name: str) -> None:
        """Kill one child hard (SIGKILL) and start it again with the same command."""
        process = self.processes[name]
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:  # it died already (and left no process of its group behind)
            pass
        process.wait()
        self._spawn(name, list(process.args), self.child_env())

    def restart_redis(self, down: float = 0.0, hard: bool = True) -> None:
        """Stop the pipeline's own Redis (``hard``: SIGKILL, a crash; else SIGTERM, a clean shutdown), leave it
        down ``down`` seconds, start it again on the same port and folder: it reloads its append-only file."""
        if self._redis is None or not self.redis_url or not self.redis_url.startswith("redis://127.0.0.1:"):
            raise RuntimeError("only a Redis this pipeline started on a port can be restarted")
        port = int(self.redis_url.rsplit(":", 1)[1].split("/")[0])
        self._redis.send_signal(signal.SIGKILL if hard else signal.SIGTERM)
        self._redis.wait(timeout=30)
        time.sleep(down)
        self._redis, _ = start_redis(self.workdir / "redis", port=port, log_file=self.logs / "redis.log")

    def wait_ready(self, timeout: float = 90.0) -> None:
        from shared.workers import HEARTBEAT_PREFIX

        client = redis_from_url(self.redis_url)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for name, process in self.processes.items():
                if process.poll() is not None:
                    raise RuntimeError(f"{name} exited with {process.returncode}: see {self.logs / (name + '.log')}")
            keys = {key.decode().split(":")[2] for key in client.scan_iter(match=f"{HEARTBEAT_PREFIX}*")}
            api_ok = True
            if self.api_url:
                try:
                    api_ok = httpx.get(self.api_url + "/healthz", timeout=2).status_code == 200
                except httpx.HTTPError:
                    api_ok = False
            if set(self.stages) <= keys and api_ok:
                return
            time.sleep(0.2)
        raise RuntimeError(f"pipeline not ready after {timeout}s; logs in {self.logs}")

    def stop(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
        for process in self.processes.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 20
        for process in self.processes.values():
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        if self._redis is not None:
            self._redis.terminate()
            self._redis.wait(timeout=10)
        if self._own_workdir and self.workdir and not os.environ.get("NEWSWIRE_KEEP_WORKDIR"):
            shutil.rmtree(self.workdir, ignore_errors=True)
