"""The API with its Redis gone: /healthz says what is missing; intake answers 503, never 500, and accepts nothing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx

from conftest import wait_until
from shared.redis_server import free_port


def test_api_without_redis_answers_503_with_reasons(tmp_path: Path) -> None:
    database = f"sqlite:///{tmp_path / 'newswire.db'}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSWIRE_")}
    env.update(REDIS_URL=f"redis://127.0.0.1:{free_port()}/0", DATABASE_URL=database, NEWSWIRE_DATA_DIR=str(tmp_path))
    subprocess.run([sys.executable, "-m", "newswire.cli", "migrate"], env=env, check=True, capture_output=True)
    created = subprocess.run([sys.executable, "-m", "newswire.cli", "token", "create", "--role", "operator"], env=env,
                             check=True, capture_output=True, text=True)
    auth = {"Authorization": f"Bearer {created.stdout.strip().splitlines()[-1]}"}
    port = free_port()
    api = subprocess.Popen([sys.executable, "-m", "uvicorn", "services.api.app:app", "--port", str(port)], env=env,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        def answering() -> httpx.Response | None:
            try:
                return httpx.get(base + "/healthz", timeout=15)
            except httpx.HTTPError:
                return None

        health = wait_until(answering, timeout=60, message="API answering")
        assert health.status_code == 503
        assert "redis" in health.json()["missing"]
        assert health.json()["checks"]["database"] == "ok"

        intake = httpx.post(base + "/ingest", json={"url": "https://example.com/a"}, headers=auth, timeout=60)
        assert intake.status_code == 503
        assert "nothing was accepted" in intake.json()["detail"]

        assert httpx.get(base + "/articles", headers=auth, timeout=15).status_code == 200
        assert httpx.get(base + "/feeds/all.json", timeout=15).status_code == 200
    finally:
        api.terminate()
        api.wait(timeout=20)
