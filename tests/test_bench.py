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
