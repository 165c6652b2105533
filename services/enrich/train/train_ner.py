"""Train the NER models shipped in services/enrich/models/ (run offline; needs python-crfsuite only).

    .venv/bin/python -m services.enrich.train.train_ner ../shared/eval/enrich/train/ner_train.jsonl

Trains on the training file only (never on the dev set, which measures). Writes ner_zh.crfsuite
and ner_en.crfsuite; features come from services/enrich/entities.py, the same code that tags.

Chinese has few labelled sentences (1,318), so its training set is enlarged by mention replacement
(Dai & Adel, 2020): copies of the sentences that hold entities, each name of two or more characters
swapped, with a fixed seed, for another name of the same type from the same training file. The copies
teach the tagger the contexts of names rather than the names themselves.

Choices (features, rules, c1/c2) are made by cross-validation on the training file, not on dev:

    .venv/bin/python -m services.enrich.train.train_ner ../shared/eval/enrich/train/ner_train.jsonl \
        --lang zh --cv 5 [--c1 0.1 --c2 0.01] [--cv-models /tmp/folds]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import random
import sys
import tempfile
import time
from collections import Counter
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


def read_records(path: Path, lang: str) -> list[dict]:
    with path.open(encoding="utf-8") as handle:
        return [record for record in map(json.loads, handle) if record["lang"] == lang]


def examples(records: list[dict], lang: str, copies: int = 0):  # noqa: ANN201
    for record in records + replace_mentions(records, copies):
        text = record["text"]
        if lang == "zh":
            units = [(i, i + 1) for i in range(len(text))]
            yield zh_features(text), _labels(units, record["entities"])
        else:
            tokens = en_tokens(text)
            units = [(s, e) for _t, s, e in tokens]
            yield en_features([t for t, _s, _e in tokens]), _labels(units, record["entities"])


def train_records(records: list[dict], lang: str, out: Path, c1: float, c2: float, iterations: int,
                  minfreq: float, copies: int = 0) -> int:
    trainer = pycrfsuite.Trainer(verbose=False)
    count = 0
    for features, labels in examples(records, lang, copies):
        trainer.append(features, labels)
        count += 1
    trainer.set_params({"c1": c1, "c2": c2, "max_iterations": iterations, "feature.minfreq": minfreq,
                        "feature.possible_transitions": True})
    trainer.train(str(out))
    return count


def train(path: Path, lang: str, out: Path, c1: float, c2: float, iterations: int, minfreq: float,
          copies: int = 0) -> None:
    start = time.time()
    count = train_records(read_records(path, lang), lang, out, c1, c2, iterations, minfreq, copies)
    print(f"{lang}: {count} sentences, {time.time() - start:.0f} s, {out.stat().st_size / 1e6:.2f} MB -> {out}",
          file=sys.stderr)


def _fold(args: tuple) -> dict[str, list[int]]:
    """Train on all folds but one, tag that one: per type [true positives, predicted, gold]."""
    records, lang, k, folds, c1, c2, iterations, minfreq, copies, keep = args
    from services.enrich.entities import extract_entities

    held = [r for i, r in enumerate(records) if i % folds == k]
    rest = [r for i, r in enumerate(records) if i % folds != k]
    with tempfile.TemporaryDirectory() as tmp:
        model = Path(keep or tmp) / f"fold{k}.crfsuite"
        if not (keep and model.exists()):  # kept fold models re-score changes of the rules without training
            train_records(rest, lang, model, c1, c2, iterations, minfreq, copies)
        tagger = pycrfsuite.Tagger()
        tagger.open(str(model))
        counts: dict[str, list[int]] = {}
        for record in held:
            gold = Counter((e["text"], e["type"]) for e in record["entities"])
            found = Counter((m.text, m.type) for m in extract_entities(record["text"], lang, tagger))
            for kind in {t for _x, t in gold} | {t for _x, t in found}:
                row = counts.setdefault(kind, [0, 0, 0])
                g = Counter({key: n for key, n in gold.items() if key[1] == kind})
                f = Counter({key: n for key, n in found.items() if key[1] == kind})
                row[0] += sum((g & f).values())
                row[1] += sum(f.values())
                row[2] += sum(g.values())
        tagger.close()
    return counts


def cross_validate(path: Path, lang: str, folds: int, c1: float, c2: float, iterations: int, minfreq: float,
                   copies: int = 0, workers: int = 2, keep: Path | None = None) -> dict[str, float]:
    """Entity-level F1 per type and micro, over ``folds`` folds of the training file (sentence i is in fold
    i mod folds; mention-replaced copies are made from the training folds only). Scored as
    score_enrich.py does: the (text, type) multiset of each sentence. ``keep``: a folder where the fold
    models are written, and read instead of trained when they are there already (to measure a change of
    the rules after tagging without training again; delete them after a change of features or data)."""
    records = read_records(path, lang)
    jobs = [(records, lang, k, folds, c1, c2, iterations, minfreq, copies, keep) for k in range(folds)]
    if workers > 1:
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            results = pool.map(_fold, jobs)
    else:
        results = [_fold(job) for job in jobs]
    total: dict[str, list[int]] = {}
    for counts in results:
        for kind, row in counts.items():
            mine = total.setdefault(kind, [0, 0, 0])
            for i in range(3):
                mine[i] += row[i]

    def f1(tp: int, predicted: int, gold: int) -> float:
        return 2 * tp / (predicted + gold) if predicted + gold else 0.0

    scores = {kind: f1(*row) for kind, row in sorted(total.items())}
    scores["micro"] = f1(*(sum(row[i] for kind, row in total.items() if kind != "MISC") for i in range(3)))
    return scores


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
    parser.add_argument("--cv", type=int, default=0, metavar="K",
                        help="instead of writing models, print K-fold cross-validated F1 on the training file")
    parser.add_argument("--workers", type=int, default=2, help="folds trained at once (with --cv)")
    parser.add_argument("--cv-models", type=Path, default=None, metavar="DIR",
                        help="with --cv: keep the fold models in DIR and reuse those already there")
    args = parser.parse_args()
    for lang in args.lang or ["zh", "en"]:
        copies = args.copies if args.copies is not None else 5 if lang == "zh" else 0
        if args.cv:
            scores = cross_validate(args.train, lang, args.cv, args.c1, args.c2, args.iterations, args.minfreq,
                                    copies, args.workers, args.cv_models)
            print(f"{lang} cv={args.cv} c1={args.c1} c2={args.c2} copies={copies} "
                  + " ".join(f"{kind}={value:.4f}" for kind, value in scores.items()))
            continue
        args.out.mkdir(parents=True, exist_ok=True)
        train(args.train, lang, args.out / f"ner_{lang}.crfsuite", args.c1, args.c2, args.iterations, args.minfreq,
              copies)


if __name__ == "__main__":
    main()
