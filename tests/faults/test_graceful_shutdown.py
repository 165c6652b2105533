"""SIGTERM during work loses nothing and leaves no delivery half-done.

The whole system as an operator runs it: ``newswire up`` (its bundled Redis on a unix socket with the
append-only file, the four workers, the scheduler, the API; the test's own database), two webhook targets at the
receiver, and the production timeouts (visibility timeout 30 minutes, drains of 20 s), so a message that a
shutdown left unacknowledged would not come back within the test: it would fail. NEWSWIRE_FAULT_SHUTDOWN_ARTICLES
distinct small articles (default 200) go in; once a third reached the receiver, ``newswire up`` gets SIGTERM (as
Ctrl-C, systemd or Kubernetes send it) and stops its children in order: API and scheduler, then the workers
(Celery's warm shutdown: running tasks finish, reserved messages go back to their queues), then Redis.

While everything is down: no delivery is ``sending`` (every claimed delivery was sent and its outcome recorded),
and work was left over. Then ``newswire up`` again on the same folder: every article ends published, each
(version, target) taken exactly once by the receiver, no dead letter, every queue empty.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest

from shared.settings import STAGES
from tests.faults.conftest import (PIPELINE_ENV, Articles, add_push_source, assert_exactly_once, dead_letters,
                                   delivered_share, half_done_deliveries, queues_empty, submit, wait_delivered,
                                   wait_until, write_targets)

pytestmark = [pytest.mark.fault, pytest.mark.timeout(1200)]

ARTICLES = int(os.environ.get("NEWSWIRE_FAULT_SHUTDOWN_ARTICLES", "200"))
TARGETS = ["alpha", "beta"]
NEWSWIRE = [sys.executable, "-m", "newswire.cli"]


class Up:
    """``newswire up`` in a process group of its own, its output in a log file."""

    def __init__(self, env: dict[str, str], workdir: Path) -> None:
        from shared.redis_server import free_port

        self.env, self.workdir = env, workdir
        self.port = free_port()
        self.api = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None
        self.runs = 0

    def start(self) -> None:
        self.runs += 1
        with open(self.workdir / f"up-{self.runs}.log", "ab", buffering=0) as log:
            self.process = subprocess.Popen(NEWSWIRE + ["up", "--port", str(self.port)], env=self.env,
                                            cwd=self.workdir, stdout=log, stderr=subprocess.STDOUT,
                                            process_group=0)

    def wait_ready(self) -> None:
        from shared.redis_client import get_redis
        from shared.workers import HEARTBEAT_PREFIX

        def ready() -> bool:
            assert self.process.poll() is None, f"newswire up exited: see {self.workdir}/up-{self.runs}.log"
            try:
                if httpx.get(self.api + "/healthz", timeout=2).status_code != 200:
                    return False
                beating = {key.decode().split(":")[2] for key in get_redis().scan_iter(match=f"{HEARTBEAT_PREFIX}*")}
            except Exception:  # noqa: BLE001  (Redis or the API still starting)
                return False
            return set(STAGES) <= beating

        wait_until(ready, timeout=240, interval=0.5, message="newswire up with every worker beating")

    def terminate(self, timeout: float = 600.0) -> int:
        """SIGTERM to ``newswire up`` alone (its children are in sessions of their own): it stops them in order."""
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=timeout)

    def kill_leftovers(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=120)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


def test_sigterm_mid_flow_loses_nothing_and_leaves_no_delivery_half_done(fault_database, receiver, site,  # noqa: ANN001
                                                                          tmp_path) -> None:
    from newswire.embedded import override_environment

    data_dir = tmp_path / "var"
    data_dir.mkdir()
    targets = write_targets(tmp_path / "targets.json", receiver, TARGETS, timeout=3)
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSWIRE_") and k not in ("REDIS_URL", "DATABASE_URL")}
    env.update(PIPELINE_ENV, NEWSWIRE_DATA_DIR=str(data_dir), DATABASE_URL=fault_database,
               NEWSWIRE_TARGETS_FILE=str(targets), PYTHONUNBUFFERED="1")
    for command in (["migrate"], ["token", "create", "--role", "operator"]):
        done = subprocess.run(NEWSWIRE + command, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
    token = done.stdout.strip().splitlines()[-1]
    up = Up(env, tmp_path)
    articles = Articles(ARTICLES, seed=ARTICLES + 1)
    with override_environment({"NEWSWIRE_DATA_DIR": str(data_dir), "DATABASE_URL": fault_database,
                               "REDIS_URL": None, "NEWSWIRE_TARGETS_FILE": str(targets)}), \
            httpx.Client(base_url=up.api, headers={"Authorization": f"Bearer {token}"}, timeout=30) as client:
        system = SimpleNamespace(client=client)
        try:
            up.start()
            up.wait_ready()
            started = time.monotonic()
            source_id = add_push_source(system)
            expected = submit(system, site, source_id, articles, articles.items)
            wait_until(lambda: delivered_share(receiver, expected, TARGETS) >= 1 / 3, timeout=600, interval=0.2,
                       message="a third delivered")
            from shared.redis_client import get_redis

            queued = {stage: get_redis().llen(stage) for stage in STAGES}
            stopping = time.monotonic()
            code = up.terminate()
            assert code == 0, f"newswire up exited with {code}: see {tmp_path}/up-1.log"
            left = len(expected) - round(delivered_share(receiver, expected, TARGETS) * len(expected))
            print(f"SIGTERM with {left} of {len(expected)} articles not delivered, queued then: {queued}; "
                  f"everything stopped {time.monotonic() - stopping:.0f} s later")
            assert left > 0, "everything was delivered before the shutdown: nothing was in flight"
            claimed = [delivery for delivery in half_done_deliveries() if delivery[1] == "sending"]
            assert not claimed, f"deliveries left claimed (sending) by the shutdown: {claimed[:10]}"

            up.start()
            up.wait_ready()
            wait_delivered(receiver, expected, TARGETS, timeout=600)
            wait_until(lambda: not half_done_deliveries(), timeout=300, interval=1.0,
                       message="no delivery left unsent")
            time.sleep(3)  # anything sent twice would arrive now
            print(f"flowed in {time.monotonic() - started:.0f} s")
            repeats = assert_exactly_once(receiver, expected, TARGETS)
            print(f"receiver: {len(receiver.accepted())} posts taken, {repeats}")
            assert repeats == {"repeated_posts": 0, "lost_claims": 0}, repeats
            assert not dead_letters(), dead_letters()[:5]
            wait_until(queues_empty, timeout=60, interval=0.5, message="every queue empty")
            # The scheduler built its due set from the store when it first started: without the push source.
            assert client.get(f"/sources/{source_id}").json()["last_error"] is None
        finally:
            up.kill_leftovers()


def test_newswire_up_gives_each_child_its_grace_and_a_second_signal_stops_at_once(tmp_path) -> None:  # noqa: ANN001
    """The supervisor of ``newswire up`` waits for a child as long as its ``grace`` (a worker: the task time limit
    and 30 s, so a running task finishes instead of being killed and left to the visibility timeout); a second
    Ctrl-C or SIGTERM while it waits kills what is left at once."""
    import threading

    from newswire.supervisor import Child, Supervisor

    def child(name: str, on_term: str, grace: float) -> Child:
        code = (f"import signal, sys, time\nsignal.signal(signal.SIGTERM, {on_term})\nprint('ready', flush=True)\n"
                "time.sleep(600)\n")
        return Child(name, [sys.executable, "-c", code], tmp_path / f"{name}.log", grace=grace)

    finishing = child("finishing", "lambda *_: (time.sleep(1), sys.exit(0))", grace=300)  # a warm shutdown
    stubborn = child("stubborn", "signal.SIG_IGN", grace=3600)
    said: list[str] = []
    supervisor = Supervisor([finishing, stubborn], env=dict(os.environ), log=said.append)
    supervisor.start_all()
    for one in (finishing, stubborn):
        wait_until(lambda one=one: "ready" in one.log_path.read_text(), timeout=60, message=f"{one.name} started")
    stopping = threading.Thread(target=supervisor.stop)
    stopping.start()
    wait_until(lambda: finishing.process.poll() is not None, timeout=120, message="the finishing child done")
    supervisor.force = True  # the second signal
    stopping.join(timeout=120)
    assert not stopping.is_alive()
    assert finishing.process.returncode == 0, said  # it finished its work: not killed
    assert stubborn.process.returncode == -signal.SIGKILL
    assert "[red]stubborn stopping at once; killing it[/]" in said, said
