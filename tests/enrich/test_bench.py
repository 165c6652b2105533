"""`newswire bench enrich` runs the registry over real bodies and prints its figures."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from newswire.cli import cli


def test_bench_enrich_prints_figures(tmp_path: Path) -> None:
    data = tmp_path / "bodies.jsonl"
    data.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in [
        {"url": "https://a.example/1", "lang": "en", "title": "Council approves budget",
         "body": "The city council approved a new budget on Monday. " * 10},
        {"url": "https://b.example/2", "lang": "zh", "title": "焦作解放区推进文明城市创建",
         "body": "焦作市解放区全力推进文明城市创建工作。区委书记吴军提出要求。" * 5},
    ]), encoding="utf-8")
    result = CliRunner().invoke(cli, ["bench", "enrich", "--data", str(data), "--json"])
    assert result.exit_code == 0, result.output
    figures = json.loads(result.output.strip().splitlines()[-1])
    assert figures["bodies"] == 2 and figures["bodies_per_cpu_second"] > 0
    assert set(figures["enricher_cpu_seconds"]) >= {"language", "entities", "places", "keywords", "topics"}
    assert figures["errors"] == {}
    assert 0 < figures["model_files_mb"] <= 50
