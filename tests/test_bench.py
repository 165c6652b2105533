"""`newswire bench --json` end to end: its own Redis, SQLite and workers; the figures it prints are sane."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = Path(os.environ.get("NEWSWIRE_BENCH_PAGES") or ROOT.parent / "shared" / "eval" / "extraction" / "dev")
KEYS = ("articles_per_s", "noop_articles_per_s", "work_bound_articles_per_s", "efficiency",
        "p50_ms", "p95_ms", "p99_ms", "cores")


@pytest.mark.timeout(300)
@pytest.mark.skipif(not PAGES.is_dir(), reason=f"no evaluation pages at {PAGES}")
def test_bench_json_has_sane_figures(tmp_path) -> None:  # noqa: ANN001
    # The bench starts its own Redis and SQLite only when REDIS_URL / DATABASE_URL are unset.
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DATABASE_URL") and not k.startswith("NEWSWIRE_")}
    env.update(NEWSWIRE_ALLOW_PRIVATE_NETWORKS="1", NEWSWIRE_BENCH_PAGES=str(PAGES), TMPDIR=str(tmp_path))
    done = subprocess.run([sys.executable, "-m", "newswire.cli", "bench", "--articles", "20", "--json"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout)

    for key in KEYS:
        value = result.get(key)
        assert isinstance(value, (int, float)) and not isinstance(value, bool), (key, value)
        assert math.isfinite(value) and value > 0, (key, value)
    assert result["p50_ms"] <= result["p95_ms"] <= result["p99_ms"]
    assert result["noop_articles_per_s"] > result["articles_per_s"], result
    assert result["failures"] < result["articles"], result


SOAK_ROW = ("interval", "phase", "seconds", "sent", "delivered", "delivered_per_s", "p50_ms", "p95_ms", "p99_ms",
            "failed", "backlog", "rss_mb", "load1")


@pytest.mark.timeout(180)
@pytest.mark.skipif(not PAGES.is_dir(), reason=f"no evaluation pages at {PAGES}")
def test_soak_delivers_every_article_once_and_reports_memory(tmp_path) -> None:  # noqa: ANN001
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DATABASE_URL") and not k.startswith("NEWSWIRE_")}
    env.update(NEWSWIRE_BENCH_PAGES=str(PAGES), TMPDIR=str(tmp_path))
    done = subprocess.run([sys.executable, "-m", "newswire.cli", "bench", "soak", "--minutes", "0.2", "--rate", "2",
                           "--interval", "4", "--json"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=170)
    assert done.returncode in (0, 1), done.stderr[-3000:]
    result = json.loads(done.stdout)
    assert done.returncode == (0 if result["ok"] else 1), result["problems"]

    # Every article sent arrived at the receiver, signed, exactly once; nothing failed on the way.
    assert result["sent"] >= 10, result
    assert result["delivered"] == result["delivered_once"] == result["sent"], result
    errors = result["errors"]
    for key in ("dead_letters", "failed_deliveries", "duplicates", "bad_signatures", "undelivered",
                "refused_intakes", "content_duplicates"):
        assert errors[key] == 0, (key, errors)
    assert 0 < result["p50_ms"] <= result["p95_ms"] <= result["p99_ms"], result

    rows = result["intervals"]
    assert len(rows) >= 3 and all(set(SOAK_ROW) <= set(row) for row in rows), rows
    assert sum(row["sent"] for row in rows) == result["sent"]
    assert sum(row["delivered"] for row in rows) == result["delivered"]

    memory = result["memory"]
    names = {row["name"] for row in memory["processes"]}
    expected = {"api", "scheduler", "redis"} | {f"worker-{stage}" for stage in ("ingest", "clean", "enrich", "publish")}
    expected |= {f"worker-{stage}:pool-1" for stage in ("ingest", "clean", "enrich", "publish")}
    assert expected <= names, names
    for row in memory["processes"]:
        if row["start_mb"] is not None and row["end_mb"] is not None:
            assert row["start_mb"] > 0 and row["end_mb"] > 0, row
            assert row["growth_mb"] == pytest.approx(row["end_mb"] - row["start_mb"], abs=0.11), row
    over = sorted(row["name"] for row in memory["processes"]
                  if row["growth_mb"] is not None and row["growth_mb"] > memory["max_growth_mb"])
    assert sorted(memory["over_bound"]) == over
    assert result["ok"] == (not over and not result["problems"])


def test_soak_memory_report_matches_processes_by_pid() -> None:
    from newswire.bench_soak import memory_report

    mb = 1024 * 1024
    start = [("worker-clean", 10, 100 * mb), ("worker-clean:pool", 11, 200 * mb), ("worker-clean:pool", 12, 200 * mb),
             ("redis", 5, 10 * mb)]
    end = [("worker-clean", 10, 101 * mb), ("worker-clean:pool", 11, 300 * mb), ("worker-clean:pool", 13, 90 * mb),
           ("redis", 5, 9 * mb)]
    report = memory_report(start, end, bound_mb=64)
    rows = {row["name"]: row for row in report["processes"]}
    assert rows["worker-clean"]["growth_mb"] == 1.0
    assert rows["worker-clean:pool-1"]["growth_mb"] == 100.0
    assert rows["worker-clean:pool-2"]["end_mb"] is None  # replaced during the run: no growth to judge
    assert rows["worker-clean:pool-new"]["start_mb"] is None and rows["worker-clean:pool-new"]["end_mb"] == 90.0
    assert rows["redis"]["growth_mb"] == -1.0
    assert report["over_bound"] == ["worker-clean:pool-1"]
    assert report["largest_growth"] == {"name": "worker-clean:pool-1", "growth_mb": 100.0}
    assert sorted(report["replaced"]) == ["worker-clean:pool-2", "worker-clean:pool-new"]
    assert memory_report(start, end, bound_mb=100)["over_bound"] == []
