"""``newswire up``: run every part as a child process, restart what dies, stop everything cleanly.

Children run in their own sessions so a Ctrl-C reaches only the supervisor,
which then stops them in order: the API and the scheduler first, then the
workers (Celery's warm shutdown finishes running tasks), Redis last.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from rich.console import Console

from shared.settings import STAGES

DEFAULT_CONCURRENCY = {"ingest": 2, "clean": 1, "enrich": 1, "publish": 2}
STOP_GRACE_SECONDS = 30.0


def worker_command(stage: str, concurrency: int | None = None, loglevel: str = "INFO") -> list[str]:
    if stage not in STAGES:
        raise ValueError(f"unknown stage {stage!r}: one of {', '.join(STAGES)}")
    concurrency = concurrency or int(os.environ.get(f"NEWSWIRE_{stage.upper()}_CONCURRENCY", DEFAULT_CONCURRENCY[stage]))
    return [
        sys.executable, "-m", "celery", "-A", "shared.celery_app", "worker",
        "-Q", stage, "-n", f"{stage}@%h.{os.getpid()}", "--concurrency", str(concurrency),
        "--pool", "prefork", "--loglevel", loglevel, "--without-gossip", "--without-mingle",
    ]


def scheduler_command(data_dir: Path, loglevel: str = "INFO") -> list[str]:
    return [
        sys.executable, "-m", "celery", "-A", "shared.celery_app", "beat",
        "--schedule", str(data_dir / "celerybeat-schedule"), "--loglevel", loglevel,
    ]


def api_command(host: str, port: int) -> list[str]:
    return [sys.executable, "-m", "uvicorn", "services.api.app:app", "--host", host, "--port", str(port),
            "--no-access-log"]


@dataclass
class Child:
    name: str
    command: list[str]
    log_path: Path
    process: subprocess.Popen | None = None
    started_at: float = 0.0
    restarts: int = 0
    restart_at: float | None = None
    backoff: float = 1.0
    stop_order: int = 1
    grace: float = STOP_GRACE_SECONDS  # how long it may take to stop after SIGTERM before it is killed


@dataclass
class Supervisor:
    children: list[Child]
    env: dict[str, str]
    console: Console = field(default_factory=Console)
    stopping: bool = False
    force: bool = False  # a second signal while stopping: kill what is left at once
    log: Callable[[str], None] | None = None

    def _say(self, message: str) -> None:
        (self.log or self.console.print)(message)

    def start(self, child: Child) -> None:
        child.log_path.parent.mkdir(parents=True, exist_ok=True)
        output = open(child.log_path, "ab", buffering=0)
        child.process = subprocess.Popen(
            child.command, env=self.env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
        )
        output.close()
        child.started_at = time.monotonic()
        child.restart_at = None

    def start_all(self) -> None:
        for child in self.children:
            self.start(child)

    def check(self) -> None:
        now = time.monotonic()
        for child in self.children:
            if child.process is not None and child.process.poll() is not None and child.restart_at is None:
                code = child.process.returncode
                if now - child.started_at > 60:
                    child.backoff = 1.0
                child.restart_at = now + child.backoff
                self._say(f"[yellow]{child.name} exited with code {code}; restarting in {child.backoff:.0f}s "
                          f"(log: {child.log_path})[/]")
                child.backoff = min(child.backoff * 2, 30.0)
            if child.restart_at is not None and now >= child.restart_at:
                child.restarts += 1
                self.start(child)
                self._say(f"[green]{child.name} restarted (restart #{child.restarts})[/]")

    def run(self, poll: float = 0.5) -> None:
        def _stop(signum, _frame) -> None:  # noqa: ANN001
            if self.stopping:
                self.force = True
            self.stopping = True

        previous = {sig: signal.signal(sig, _stop) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            while not self.stopping:
                self.check()
                time.sleep(poll)
        finally:
            try:
                self.stop()  # a second Ctrl-C or SIGTERM meanwhile stops what is left at once
            finally:
                for sig, handler in previous.items():
                    signal.signal(sig, handler)

    def stop(self) -> None:
        """SIGTERM to each group in order; each child gets its ``grace`` to finish (a worker: its running tasks),
        then SIGKILL; ``force`` (a second signal) kills what is left at once."""
        self._say("stopping… (once more to stop at once)")
        for order in sorted({child.stop_order for child in self.children}):
            group = [c for c in self.children if c.stop_order == order and c.process and c.process.poll() is None]
            for child in group:
                child.process.send_signal(signal.SIGTERM)
            started = time.monotonic()
            for child in group:
                while child.process.poll() is None and not self.force and time.monotonic() < started + child.grace:
                    time.sleep(0.1)
                if child.process.poll() is None:
                    why = "stopping at once" if self.force else f"did not stop in {child.grace:.0f}s"
                    self._say(f"[red]{child.name} {why}; killing it[/]")
                    os.killpg(child.process.pid, signal.SIGKILL)
                    child.process.wait()
        self._say("all stopped")
