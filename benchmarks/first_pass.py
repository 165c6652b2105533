"""Does a fast first-pass parser pay? selectolax (lexbor) strips what is never text before lxml parses the page.

    .venv/bin/pip install selectolax          # not a dependency of the project: only this measurement needs it
    .venv/bin/python benchmarks/first_pass.py [--rounds 3]

On the dev pages (decoded once, untimed), each round times in CPU seconds, in the same process:
  (a) what the clean stage does now: lxml parses the decoded page;
  (b) the first pass: lexbor parses it, drops scripts, styles and the other tags the stage never reads as text
      (``content.DROP_TAGS`` less <title>, <meta>, <link>, which the metadata reads), serialises it, then lxml
      parses the smaller page;
  (c) the stage's main-text step (``content.extract_body``) on the tree of (a) and on the tree of (b), so a smaller
      tree's saving in the later steps is counted too.
The first pass pays only if (b) + its body time is clearly below (a) + its body time, round after round. JSON-LD
lives in <script> tags, so a real first pass would also have to hand those to the metadata step first.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from services.clean import content  # noqa: E402
from services.clean.decode import decode_html  # noqa: E402
from services.clean.extract import parse  # noqa: E402

PAGES = ROOT.parent / "shared" / "eval" / "extraction" / "dev" / "pages"
NEVER_TEXT = [tag for tag in content.DROP_TAGS if tag not in ("title", "meta", "link", "base")]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    try:
        from selectolax.lexbor import LexborHTMLParser
    except ImportError:
        print("selectolax is not installed: .venv/bin/pip install selectolax", file=sys.stderr)
        return 2
    texts = [decode_html(path.read_bytes()).text for path in sorted(PAGES.glob("*.html"))]

    def first_pass(text: str) -> str:
        tree = LexborHTMLParser(text)
        tree.strip_tags(NEVER_TEXT)
        return tree.html or ""

    print(f"{len(texts)} pages; CPU seconds per round (the machine is shared: compare within a row)")
    print(f"{'round':>5} {'lxml':>8} {'lexbor':>8} {'lxml small':>11} {'body full':>10} {'body small':>11} "
          f"{'now':>7} {'with pass':>10}")
    totals = [0.0, 0.0]
    stripped: list[str] = []
    for round_no in range(1, args.rounds + 1):
        def now() -> tuple[float, float]:
            start = time.process_time()
            full = [parse(text) for text in texts]
            parsed = time.process_time() - start
            start = time.process_time()
            for root in full:
                content.extract_body(root)
            return parsed, time.process_time() - start

        def with_pass() -> tuple[float, float, float, list[str]]:
            start = time.process_time()
            stripped = [first_pass(text) for text in texts]
            lexbor = time.process_time() - start
            start = time.process_time()
            small = [parse(text) for text in stripped]
            parsed = time.process_time() - start
            start = time.process_time()
            for root in small:
                content.extract_body(root)
            return lexbor, parsed, time.process_time() - start, stripped

        if round_no % 2:  # which goes first alternates, so drift in the machine's load falls on both
            lxml_s, body_full = now()
            lexbor_s, small_s, body_small, stripped = with_pass()
        else:
            lexbor_s, small_s, body_small, stripped = with_pass()
            lxml_s, body_full = now()
        print(f"{round_no:5} {lxml_s:8.3f} {lexbor_s:8.3f} {small_s:11.3f} {body_full:10.3f} {body_small:11.3f} "
              f"{lxml_s + body_full:7.3f} {lexbor_s + small_s + body_small:10.3f}")
        totals[0] += lxml_s + body_full
        totals[1] += lexbor_s + small_s + body_small
    print(f"bytes: {sum(map(len, texts))} decoded, {sum(map(len, stripped))} after the first pass")
    print(f"all rounds: now {totals[0]:.3f} s, with the first pass {totals[1]:.3f} s: ratio {totals[1] / totals[0]:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
