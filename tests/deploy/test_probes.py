"""The probes Kubernetes runs (deploy/k8s): ``newswire probe worker|migrations`` and the API's /livez and /readyz.

Against real processes: the session's pipeline (real workers heartbeating into a real Redis) for the passing
cases, and a real API process whose Redis is gone for the failing ones.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from conftest import wait_until
from shared.redis_server import free_port

pytestmark = pytest.mark.pipeline


def newswire(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "newswire.cli", *args], env=env, capture_output=True, text=True,
                          timeout=120)


def clean_env(**values: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSWIRE_") and k not in ("REDIS_URL", "DATABASE_URL")}
    env.update(values)
    return env


def test_worker_probe_passes_for_this_hosts_workers(pipeline) -> None:  # noqa: ANN001
    env = clean_env(REDIS_URL=pipeline.redis_url, DATABASE_URL=pipeline.database_url,
                    NEWSWIRE_DATA_DIR=str(pipeline.workdir))
    for stage in ("ingest", "clean", "enrich", "publish"):
        result = newswire("probe", "worker", stage, env=env)
        assert result.returncode == 0, result.stderr
        assert result.stdout.startswith("ok: ") and f"newswire:worker:{stage}:{stage}@" in result.stdout


def test_worker_probe_without_a_stage_finds_any_worker_of_this_host(pipeline) -> None:  # noqa: ANN001
    from newswire.probe import worker_heartbeat

    env = clean_env(REDIS_URL=pipeline.redis_url, NEWSWIRE_DATA_DIR=str(pipeline.workdir))
    result = newswire("probe", "worker", env=env)
    assert result.returncode == 0 and "newswire:worker:" in result.stdout, result.stderr
    elsewhere = worker_heartbeat(None, hostname="no-such-container-1d2e")
    assert not elsewhere.ok and "any worker" in elsewhere.message


def test_worker_probe_fails_for_another_host_and_unknown_stage(pipeline) -> None:  # noqa: ANN001
    from newswire.probe import worker_heartbeat

    elsewhere = worker_heartbeat("ingest", hostname="no-such-pod-7f9c")
    assert not elsewhere.ok and "no heartbeat" in elsewhere.message
    assert worker_heartbeat("ingest").ok
    unknown = newswire("probe", "worker", "translate", env=clean_env(REDIS_URL=pipeline.redis_url))
    assert unknown.returncode == 1 and "unknown stage" in unknown.stderr


def test_worker_probe_with_redis_gone_fails_readiness_but_not_liveness(tmp_path: Path) -> None:
    env = clean_env(REDIS_URL=f"redis://127.0.0.1:{free_port()}/0", NEWSWIRE_DATA_DIR=str(tmp_path))
    ready = newswire("probe", "worker", "clean", env=env)
    assert ready.returncode == 1 and "Redis unreachable" in ready.stderr
    alive = newswire("probe", "worker", "clean", "--liveness", env=env)
    assert alive.returncode == 0 and "not the worker's fault" in alive.stdout


def test_migrations_probe(pipeline, tmp_path: Path) -> None:  # noqa: ANN001
    current = newswire("probe", "migrations", env=clean_env(DATABASE_URL=pipeline.database_url,
                                                            NEWSWIRE_DATA_DIR=str(tmp_path)))
    assert current.returncode == 0 and current.stdout.startswith("ok: database at "), current.stderr

    empty = clean_env(DATABASE_URL=f"sqlite:///{tmp_path / 'empty.db'}", NEWSWIRE_DATA_DIR=str(tmp_path))
    fresh = newswire("probe", "migrations", "--wait", "1", env=empty)
    assert fresh.returncode == 1 and "no schema yet" in fresh.stderr and "newswire migrate" in fresh.stderr
    assert newswire("migrate", env=empty).returncode == 0
    assert newswire("probe", "migrations", env=empty).returncode == 0

    import sqlite3

    with sqlite3.connect(tmp_path / "empty.db") as connection:  # as if a newer image had migrated it
        connection.execute("UPDATE alembic_version SET version_num = '9999_from_the_future'")
    newer = newswire("probe", "migrations", env=empty)
    assert newer.returncode == 0 and "newer than this code" in newer.stdout

    unreachable = clean_env(DATABASE_URL=f"postgresql://nobody@127.0.0.1:{free_port()}/none",
                            NEWSWIRE_DATA_DIR=str(tmp_path))
    down = newswire("probe", "migrations", env=unreachable)
    assert down.returncode == 1 and "database unreachable" in down.stderr


def test_api_livez_and_readyz(pipeline) -> None:  # noqa: ANN001
    assert httpx.get(pipeline.api_url + "/livez", timeout=10).json() == {"status": "ok"}
    ready = httpx.get(pipeline.api_url + "/readyz", timeout=10)
    assert ready.status_code == 200 and ready.json()["missing"] == []


def test_api_without_redis_is_alive_but_not_ready(tmp_path: Path) -> None:
    env = clean_env(REDIS_URL=f"redis://127.0.0.1:{free_port()}/0", DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite'}",
                    NEWSWIRE_DATA_DIR=str(tmp_path))
    assert newswire("migrate", env=env).returncode == 0
    port = free_port()
    api = subprocess.Popen([sys.executable, "-m", "uvicorn", "services.api.app:app", "--port", str(port)], env=env,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        def answering() -> httpx.Response | None:
            try:
                return httpx.get(base + "/livez", timeout=15)
            except httpx.HTTPError:
                return None

        assert wait_until(answering, timeout=90, message="API answering").status_code == 200
        ready = httpx.get(base + "/readyz", timeout=30)
        assert ready.status_code == 503
        assert ready.json()["missing"] == ["redis"] and ready.json()["checks"]["database"] == "ok"
    finally:
        api.terminate()
        api.wait(timeout=20)
