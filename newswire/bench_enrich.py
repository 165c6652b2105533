"""``newswire bench enrich``: the whole enrich stage over real article bodies, in one process.

The bodies are the labelled pages of ../shared/eval/extraction/dev (their true title and body, Chinese,
English and others, as the clean stage hands them on). Models are loaded first (timed apart, as a
worker does at start); then every enricher of the registry runs on every body, story clusters written
to a temporary SQLite store. Printed: bodies per CPU second (the issue's target is 50), each enricher's
share, the model load time and the size of the model files shipped in the project.
"""

from __future__ import annotations

import json
import resource
import tempfile
import time
from pathlib import Path
from typing import Any

import typer

DEFAULT_DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "eval" / "extraction" / "dev" / "truth.jsonl"


def _bodies(path: Path, limit: int) -> list[dict]:
    items = []
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            record = json.loads(line)
            if record.get("body"):
                items.append(record)
    return items[:limit] if limit else items


def run_enrich_bench(data: Path, limit: int = 0, rounds: int = 1) -> dict[str, Any]:
    from newswire.embedded import override_environment
    from shared.payload import ArticlePayload, CleanPart
    from shared.store.db import upgrade_schema

    records = _bodies(data, limit)
    with tempfile.TemporaryDirectory(prefix="newswire-bench-enrich-") as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        upgrade_schema(url)
        with override_environment({"DATABASE_URL": url, "NEWSWIRE_DATA_DIR": tmp}):
            from services.enrich.entities import MODELS
            from services.enrich.registry import load_models, run_enrichers

            start = time.process_time()
            loads = load_models()
            load_cpu = time.process_time() - start
            payloads = []
            for n, record in enumerate(records):
                payload = ArticlePayload.new(record.get("url") or f"https://bench.invalid/{n}")
                payload.clean = CleanPart(title=record.get("title") or "", text=record["body"], html="")
                payloads.append(payload)
            cpu: dict[str, float] = {}
            errors: dict[str, int] = {}
            chars = sum(len(p.clean.text) for p in payloads)
            wall = time.perf_counter()
            start = time.process_time()
            for _ in range(rounds):
                for payload in payloads:
                    part = run_enrichers(payload, cpu=cpu)
                    for name in part.errors:
                        errors[name] = errors.get(name, 0) + 1
            total = time.process_time() - start
            wall = time.perf_counter() - wall
    done = len(payloads) * rounds
    model_bytes = sum(path.stat().st_size for path in MODELS.iterdir() if path.is_file())
    languages: dict[str, int] = {}
    for record in records:
        languages[record.get("lang") or "?"] = languages.get(record.get("lang") or "?", 0) + 1
    return {
        "bodies": done,
        "languages": languages,
        "mean_body_chars": round(chars / max(1, len(payloads))),
        "cpu_seconds": round(total, 3),
        "wall_seconds": round(wall, 3),
        "bodies_per_cpu_second": round(done / total, 1) if total else None,
        "enricher_cpu_seconds": {name: round(seconds, 3) for name, seconds in cpu.items()},
        "errors": errors,
        "model_load_cpu_seconds": round(load_cpu, 2),
        "model_load_wall_seconds": loads,
        "model_files_mb": round(model_bytes / 1e6, 2),
        "max_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def register(bench_app: typer.Typer) -> None:
    @bench_app.command("enrich")
    def bench_enrich(
        data: Path = typer.Option(DEFAULT_DATA, "--data", help="JSON lines with title and body (the extraction truth)"),
        articles: int = typer.Option(0, "--articles", help="Bodies to use (0: all)"),
        rounds: int = typer.Option(1, "--rounds", help="Times over the bodies"),
        as_json: bool = typer.Option(False, "--json", help="Print one JSON object"),
    ) -> None:
        """The enrich stage over real article bodies: bodies per CPU second, each enricher's share, model cost."""
        if not data.exists():
            raise typer.BadParameter(f"{data} not found (../shared/eval/extraction/dev/truth.jsonl beside the repo)")
        result = run_enrich_bench(data, articles, rounds)
        if as_json:
            print(json.dumps(result))
            return
        print(f"enrich bench: {result['bodies']} bodies ({result['languages']}), mean {result['mean_body_chars']} chars")
        print(f"  {result['bodies_per_cpu_second']} bodies per CPU second "
              f"({result['cpu_seconds']} CPU s, {result['wall_seconds']} wall s; target 50)")
        total = sum(result["enricher_cpu_seconds"].values()) or 1.0
        for name, seconds in sorted(result["enricher_cpu_seconds"].items(), key=lambda item: -item[1]):
            print(f"    {name:<14} {seconds:8.3f} CPU s  {100 * seconds / total:5.1f} %")
        print(f"  errors recorded: {result['errors'] or 'none'}")
        print(f"  models: {result['model_files_mb']} MB shipped, loaded in {result['model_load_cpu_seconds']} CPU s "
              f"({result['model_load_wall_seconds']}), peak RSS {result['max_rss_mb']} MB")
