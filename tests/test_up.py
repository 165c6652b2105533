"""`newswire up` with no settings at all: bundled Redis on a unix socket, SQLite, workers, scheduler, API.

Also the CLI around it: ingest a local file with --wait, status, extract; a killed worker is restarted;
SIGTERM stops every child.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from conftest import SHARED, wait_until

NEWSWIRE = [sys.executable, "-m", "newswire.cli"]


def _children_with(marker: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if marker in (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="ignore"):
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def _parent(pid: int) -> int:
    return int((Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[1])


@pytest.fixture()
def embedded_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DATABASE_URL") and not k.startswith("NEWSWIRE_")}
    env["NEWSWIRE_DATA_DIR"] = str(tmp_path / "var")
    return env


def test_up_runs_everything_and_stops_cleanly(tmp_path: Path, embedded_env: dict[str, str]) -> None:
    from shared.redis_server import free_port

    port = free_port()
    up = subprocess.Popen(NEWSWIRE + ["up", "--port", str(port)], env=embedded_env, cwd=tmp_path,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    output: list[str] = []
    try:
        api = f"http://127.0.0.1:{port}"

        def healthy() -> bool:
            try:
                return httpx.get(api + "/healthz", timeout=2).status_code == 200
            except httpx.HTTPError:
                return False

        wait_until(healthy, timeout=90, message="newswire up healthy")
        data_dir = Path(embedded_env["NEWSWIRE_DATA_DIR"])
        assert (data_dir / "redis.sock").exists()
        assert (data_dir / "newswire.db").exists()
        assert (data_dir / "appendonly.aof").exists() or (data_dir / "appendonlydir").exists()

        sample = SHARED / "samples" / "jiaozuo-wenming.html"
        truth = json.loads((SHARED / "samples" / "jiaozuo-wenming.truth.json").read_text(encoding="utf-8"))
        ingest = subprocess.run(NEWSWIRE + ["ingest", str(sample), "--url", truth["url"], "--wait", "--timeout", "60"],
                                env=embedded_env, cwd=tmp_path, capture_output=True, text=True, timeout=120)
        assert ingest.returncode == 0, ingest.stderr
        article = json.loads(ingest.stdout)
        assert article["outcome"] == "published"
        assert article["title"] == truth["title"]
        assert article["url"] == truth["url"]

        status = subprocess.run(NEWSWIRE + ["status", "--json"], env=embedded_env, cwd=tmp_path,
                                capture_output=True, text=True, timeout=60)
        report = json.loads(status.stdout)
        assert all(report["workers"][stage] for stage in ("ingest", "clean", "enrich", "publish"))
        assert set(report["queues"]) == {"ingest", "clean", "enrich", "publish"}

        feed = httpx.get(api + "/feeds/all.json").json()
        assert [item["title"] for item in feed["items"]] == [truth["title"]]

        # A worker that dies is restarted by the supervisor.
        marker = f"clean@%h.{up.pid}"
        main_worker = [pid for pid in _children_with(marker) if _parent(pid) == up.pid]
        assert len(main_worker) == 1
        os.kill(main_worker[0], signal.SIGKILL)
        wait_until(lambda: [p for p in _children_with(marker) if _parent(p) == up.pid and p != main_worker[0]],
                   timeout=30, message="clean worker restarted")
    finally:
        up.send_signal(signal.SIGTERM)
        try:
            out, _ = up.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            up.kill()
            out, _ = up.communicate()
        output.append(out)
    text = "".join(output)
    assert "restarted" in text
    assert "all stopped" in text
    assert up.returncode == 0
    assert _children_with(f"@%h.{up.pid}") == []  # no worker left behind


def test_extract_command(tmp_path: Path) -> None:
    sample = SHARED / "samples" / "jiaozuo-wenming.html"
    truth = json.loads((SHARED / "samples" / "jiaozuo-wenming.truth.json").read_text(encoding="utf-8"))
    result = subprocess.run(NEWSWIRE + ["extract", str(sample), "--url", truth["url"]], capture_output=True, text=True,
                            timeout=60, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    part = json.loads(result.stdout)
    assert part["title"] == truth["title"]
    assert not any(boilerplate in part["text"] for boilerplate in truth["must_not_contain"])
