"""Train the NER models shipped in services/enrich/models/ (run offline; needs python-crfsuite only).

    .venv/bin/python -m services.enrich.train.train_ner ../shared/eval/enrich/train/ner_train.jsonl

Trains on the training file only (never on the dev set, which measures). Writes ner_zh.crfsuite
and ner_en.crfsuite; features come from services/enrich/entities.py, the same code that tags.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import pycrfsuite

from services.enrich.entities import MODELS, en_features, en_tokens, zh_features


def _labels(units: list[tuple[int, int]], entities: list[dict]) -> list[str]:
    """BIOES labels: B- begins, I- continues, E- ends an entity of several units, S- is one of one unit."""
    labels = ["O"] * len(units)
    for entity in entities:
        inside = [i for i, (start, end) in enumerate(units) if start >= entity["start"] and end <= entity["end"]]
        if len(inside) == 1:
            labels[inside[0]] = "S-" + entity["type"]
        elif inside:
            for i in inside:
                labels[i] = ("B-" if i == inside[0] else "E-" if i == inside[-1] else "I-") + entity["type"]
    return labels


def examples(path: Path, lang: str):  # noqa: ANN201
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            record = json.loads(line)
            if record["lang"] != lang:
                continue
            text = record["text"]
            if lang == "zh":
                units = [(i, i + 1) for i in range(len(text))]
                yield zh_features(text), _labels(units, record["entities"])
            else:
                tokens = en_tokens(text)
                units = [(s, e) for _t, s, e in tokens]
                yield en_features([t for t, _s, _e in tokens]), _labels(units, record["entities"])


def train(path: Path, lang: str, out: Path, c1: float, c2: float, iterations: int, minfreq: float) -> None:
    trainer = pycrfsuite.Trainer(verbose=False)
    count = 0
    for features, labels in examples(path, lang):
        trainer.append(features, labels)
        count += 1
    trainer.set_params({"c1": c1, "c2": c2, "max_iterations": iterations, "feature.minfreq": minfreq,
                        "feature.possible_transitions": True})
    start = time.time()
    trainer.train(str(out))
    print(f"{lang}: {count} sentences, {time.time() - start:.0f} s, {out.stat().st_size / 1e6:.2f} MB -> {out}",
          file=sys.stderr)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("train", type=Path)
    parser.add_argument("--lang", choices=["zh", "en"], action="append")
    parser.add_argument("--iterations", type=int, default=150)
    parser.add_argument("--c1", type=float, default=0.1)
    parser.add_argument("--c2", type=float, default=0.01)
    parser.add_argument("--minfreq", type=float, default=1)
    parser.add_argument("--out", type=Path, default=MODELS)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    for lang in args.lang or ["zh", "en"]:
        train(args.train, lang, args.out / f"ner_{lang}.crfsuite", args.c1, args.c2, args.iterations, args.minfreq)


if __name__ == "__main__":
    main()
