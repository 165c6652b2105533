"""The clean stage's extraction beside trafilatura, on the same pages in the same run.

    .venv/bin/python benchmarks/extraction_compare.py                     # dev set, trafilatura favor_precision
    .venv/bin/python benchmarks/extraction_compare.py --anchor trafilatura_default --json /tmp/compare.json

Uses the shared scorer (../shared/eval/score_extraction.py) for every figure and the shared anchor adapters
(../shared/eval/extraction_anchors.py). Both extractors get each page in turn (ours first on even pages, the
anchor first on odd ones), after one warm-up call each, so load on the machine falls on both alike. Prints the
scorer's table for each and the ratio of pages per CPU second (ours / anchor).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED_EVAL = ROOT.parent / "shared" / "eval"


def _load(path: Path, name: str):  # noqa: ANN202
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def _groups(scorer, rows: list[dict]) -> list[tuple[str, dict]]:  # noqa: ANN001
    total = sum(row["seconds"] for row in rows)
    groups = [("all", scorer.summarize(rows, total))]
    by_lang: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        by_lang[row["group"]].append(row)
    for lang in ("en", "zh", "other"):
        if by_lang[lang]:
            groups.append((f"lang={lang}", scorer.summarize(by_lang[lang], sum(r["seconds"] for r in by_lang[lang]))))
    return groups


def run(scorer, contenders: dict, pages: list[tuple[dict, bytes]]) -> dict[str, list[dict]]:  # noqa: ANN001
    """Every page to every extractor in turn (which goes first alternates), scored by the shared scorer."""
    names = list(contenders)
    rows: dict[str, list[dict]] = {name: [] for name in names}
    for index, (record, html) in enumerate(pages):
        for name in names if index % 2 == 0 else reversed(names):
            out, err, seconds, cpu = scorer.call(contenders[name], html, record.get("url"), 60, True)
            row = scorer.score_page(record, out if not err else {}, False)
            row.update(seconds=seconds, cpu_seconds=cpu)
            if err:
                row["error"] = err
            rows[name].append(row)
    return rows


def print_speed(summaries: dict, anchor: str, label: str = "speed") -> float | None:
    """Print and return the ratio of pages per CPU second, ours / the anchor's, from one run's summaries."""
    ours_rate = summaries["newswire"]["all"]["pages_per_cpu_s"]
    anchor_rate = summaries[anchor]["all"]["pages_per_cpu_s"]
    ratio = ours_rate / anchor_rate if ours_rate and anchor_rate else None
    print(f"{label}: newswire {ours_rate:.1f} pages per CPU second, {anchor} {anchor_rate:.1f}: ratio {ratio:.2f}x"
          if ratio else f"{label}: not measured")
    return ratio


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(SHARED_EVAL / "extraction" / "dev"))
    parser.add_argument("--anchor", default="trafilatura_precision", help="an adapter in extraction_anchors.py")
    parser.add_argument("--limit", type=int)
    parser.add_argument("--json", help="write both summaries and the ratio here")
    args = parser.parse_args(argv)

    scorer = _load(SHARED_EVAL / "score_extraction.py", "score_extraction")
    anchors = _load(SHARED_EVAL / "extraction_anchors.py", "extraction_anchors")
    sys.path.insert(0, str(ROOT))
    from benchmarks.extraction_eval import extract as ours

    contenders = {"newswire": ours, args.anchor: getattr(anchors, args.anchor)}
    pages = scorer.load_data([args.data], args.limit)
    htmls = [Path(rec["_html_path"]).read_bytes() for rec in pages]
    for extract in contenders.values():
        scorer.call(extract, htmls[0], pages[0].get("url"), 60, True)

    names = list(contenders)
    rows = run(scorer, contenders, list(zip(pages, htmls)))

    summaries = {}
    for name in names:
        groups = _groups(scorer, rows[name])
        summaries[name] = dict(groups)
        scorer.print_table(f"extractor: {name}   data: {args.data}   pages: {len(pages)}", groups)
        print()
    ratio = print_speed(summaries, args.anchor)
    if args.json:
        Path(args.json).write_text(json.dumps({"summaries": summaries, "speed_ratio": ratio}, indent=1,
                                              ensure_ascii=False, default=str), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
