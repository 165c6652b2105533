"""Train the NER models shipped in services/enrich/models/ (run offline; needs python-crfsuite only).

    .venv/bin/python -m services.enrich.train.train_ner ../shared/eval/enrich/train/ner_train.jsonl

Trains on the training file only (never on the dev set, which measures). Writes ner_zh.crfsuite
and ner_en.crfsuite; features come from services/enrich/entities.py, the same code that tags.

Chinese has few labelled sentences (1,318), so its training set is enlarged by mention replacement
(Dai & Adel, 2020): copies of the sentences that hold entities, each name of two or more characters
swapped, with a fixed seed, for another name of the same type from the same training file. The copies
teach the tagger the contexts of names rather than the names themselves.
"""

from __future__ import annotations

import argparse
import json
import random
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


def replace_mentions(records: list[dict], copies: int, seed: int = 0, share: float = 0.8) -> list[dict]:
    """Copies of the records that hold entities, each entity of two or more characters replaced (with
    probability ``share``) by a random entity of the same type from the records; offsets follow."""
    rng = random.Random(seed)
    pool: dict[str, list[str]] = {}
    for record in records:
        for entity in record["entities"]:
            if len(entity["text"]) >= 2:
                pool.setdefault(entity["type"], []).append(entity["text"])
    out = []
    for _copy in range(copies):
        for record in records:
            if not record["entities"]:
                continue
            text, new, entities, pos = record["text"], "", [], 0
            for entity in sorted(record["entities"], key=lambda e: e["start"]):
                new += text[pos:entity["start"]]
                name = entity["text"]
                if len(name) >= 2 and rng.random() < share:
                    name = rng.choice(pool[entity["type"]])
                entities.append({"text": name, "type": entity["type"], "start": len(new), "end": len(new) + len(name)})
                new += name
                pos = entity["end"]
            out.append({**record, "text": new + text[pos:], "entities": entities})
    return out


def examples(path: Path, lang: str, copies: int = 0):  # noqa: ANN201
    with path.open(encoding="utf-8") as handle:
        records = [record for record in map(json.loads, handle) if record["lang"] == lang]
    for record in records + replace_mentions(records, copies):
        text = record["text"]
        if lang == "zh":
            units = [(i, i + 1) for i in range(len(text))]
            yield zh_features(text), _labels(units, record["entities"])
        else:
            tokens = en_tokens(text)
            units = [(s, e) for _t, s, e in tokens]
            yield en_features([t for t, _s, _e in tokens]), _labels(units, record["entities"])


def train(path: Path, lang: str, out: Path, c1: float, c2: float, iterations: int, minfreq: float,
          copies: int = 0) -> None:
    trainer = pycrfsuite.Trainer(verbose=False)
    count = 0
    for features, labels in examples(path, lang, copies):
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
    parser.add_argument("--copies", type=int, default=None,
                        help="mention-replaced copies of the sentences with entities (default: 5 for zh, 0 for en)")
    parser.add_argument("--out", type=Path, default=MODELS)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    for lang in args.lang or ["zh", "en"]:
        copies = args.copies if args.copies is not None else 5 if lang == "zh" else 0
        train(args.train, lang, args.out / f"ner_{lang}.crfsuite", args.c1, args.c2, args.iterations, args.minfreq,
              copies)


if __name__ == "__main__":
    main()
