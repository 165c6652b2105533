"""Adapter between the shared extraction scorer and the clean stage's extractor.

    cd /work/main
    python ../shared/eval/score_extraction.py --extractor benchmarks/extraction_eval.py:extract \
        --data ../shared/eval/extraction/dev

The scorer calls ``extract(html_bytes, url)`` and reads ``title``, ``body``, ``author`` and ``published``.
This calls exactly what the clean stage runs (``services.clean.extract.extract``, no queue, no store). A page
the clean stage rejects (``ExtractionError``: no text or no title) raises here too, so the scorer counts it as
an error with empty output, which is what the pipeline makes of it (a dead letter, nothing published).
"""

from __future__ import annotations

import sys
from pathlib import Path

# Loaded by file path from any working directory: make the repository importable without installing it.
_ROOT = Path(__file__).resolve().parents[1]
if str(_ROOT) not in sys.path:
    sys.path.insert(0, str(_ROOT))

from services.clean.extract import extract as _clean_extract  # noqa: E402


def extract(html: bytes, url: str | None = None) -> dict:
    part = _clean_extract(html, url or None)
    return {
        "title": part.title,
        "body": part.text,
        "author": ", ".join(part.authors) or None,
        "published": part.published.isoformat() if part.published else None,
    }
