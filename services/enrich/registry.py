"""The enrichers, in the order they run, each with a version and a time budget.

An enricher is a plain function ``(payload, part) -> None`` that fills its own fields of
the enrich part. The registry runs them in order; one that raises or runs past its budget
leaves its error in ``part.errors`` and the article goes on without that part: enrichment
never blocks publishing.
"""

from __future__ import annotations

import signal
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Callable, Iterator

from shared.payload import ArticlePayload, EnrichPart
from shared.store.db import store_unavailable
from shared.telemetry import get_logger

log = get_logger(__name__)

EnrichFunction = Callable[[ArticlePayload, EnrichPart], None]


class EnricherTimeout(Exception):
    """An enricher ran past its time budget."""


@dataclass(frozen=True)
class Enricher:
    name: str
    version: str
    run: EnrichFunction
    budget: float = 5.0  # seconds of wall time; NEWSWIRE_ENRICH_BUDGETS overrides per name
    load: Callable[[], object] | None = field(default=None, compare=False)  # loads its models once per process


@contextmanager
def time_budget(seconds: float | None, name: str) -> Iterator[None]:
    """Raise EnricherTimeout in the body once ``seconds`` pass (SIGALRM; main thread only, else unbounded).

    Celery's prefork children run tasks in their main thread, and Celery's own limits use
    other signals (soft: SIGUSR1, hard: SIGKILL from the parent), so SIGALRM is ours to use.
    """
    if not seconds or seconds <= 0 or threading.current_thread() is not threading.main_thread():
        yield
        return

    def _expired(_signum, _frame):  # noqa: ANN001, ANN202
        raise EnricherTimeout(f"{name} ran past its budget of {seconds:g} s")

    previous = signal.signal(signal.SIGALRM, _expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _registry() -> list[Enricher]:
    from services.enrich import entities, keywords, language, places, reading_time, related, summary, topics

    return [
        # language first: the others read part.language
        Enricher("language", language.VERSION, language.enrich_language, 2.0, language.load),
        Enricher("entities", entities.VERSION, entities.enrich_entities, 5.0, entities.load),
        Enricher("places", places.VERSION, places.enrich_places, 3.0, places.load),  # reads the place entities
        Enricher("keywords", keywords.VERSION, keywords.enrich_keywords, 3.0, keywords.load),
        Enricher("topics", topics.VERSION, topics.enrich_topics, 2.0, topics.load),
        Enricher("summary", summary.VERSION, summary.enrich_summary, 2.0),
        Enricher("reading_time", reading_time.VERSION, reading_time.enrich_reading_time, 1.0),
        Enricher("related", related.VERSION, related.enrich_related, 3.0),  # last: reads entities, places, keywords
    ]


_ENRICHERS: list[Enricher] | None = None


def enrichers() -> list[Enricher]:
    global _ENRICHERS
    if _ENRICHERS is None:
        _ENRICHERS = _registry()
    return _ENRICHERS


def budgets(chain: list[Enricher] | None = None) -> dict[str, float]:
    """Each enricher's budget in seconds: its default, unless NEWSWIRE_ENRICH_BUDGETS names it (0: none)."""
    from shared.settings import get_settings

    overrides = get_settings().enrich_budgets
    return {item.name: float(overrides.get(item.name, item.budget)) for item in chain or enrichers()}


_loaded: set[str] = set()  # enrichers whose models this process has loaded (or tried to)


def _load(item: Enricher) -> None:
    """Load one enricher's models once per process, outside its time budget (a budget bounds the work on
    an article, not a cold start). A failed load is logged; the enricher then records its own error."""
    if item.load is None or item.name in _loaded:
        return
    _loaded.add(item.name)
    try:
        item.load()
    except Exception as exc:  # noqa: BLE001  (the enricher records the same error per article)
        log.warning("enrich model load failed", extra={"enricher": item.name, "error": repr(exc)})


def load_models() -> dict[str, float]:
    """Load every enricher's models once (at worker start, before the pool forks). Returns seconds per enricher."""
    took: dict[str, float] = {}
    for item in enrichers():
        if item.load is None:
            continue
        start = time.perf_counter()
        _load(item)
        took[item.name] = round(time.perf_counter() - start, 3)
    return took


def run_enrichers(payload: ArticlePayload, only: list[str] | None = None,
                  chain: list[Enricher] | None = None, cpu: dict[str, float] | None = None) -> EnrichPart:
    """Run ``chain`` (default: the registry) on the article; ``only`` keeps the named enrichers.

    ``cpu``, when given, gets each enricher's CPU seconds added (the bench reads it)."""
    part = EnrichPart()
    chain = enrichers() if chain is None else chain
    limits = budgets(chain)
    for item in chain:
        if only is not None and item.name not in only:
            continue
        part.versions[item.name] = item.version
        _load(item)  # no-op once loaded (at worker start, or by the first article in this process)
        before = part.model_dump(exclude={"versions", "errors"})
        started = time.process_time()
        try:
            with time_budget(limits[item.name], item.name):
                item.run(payload, part)
        except Exception as exc:  # noqa: BLE001  (a failing enricher never fails the article)
            if store_unavailable(exc):
                raise  # the store, not the article: the task waits for it and runs again, every part included
            # Whatever it half wrote is taken back: the article goes on without that part.
            restored = EnrichPart.model_validate(before)
            for key in before:
                setattr(part, key, getattr(restored, key))
            part.errors[item.name] = f"{type(exc).__name__}: {exc}"[:500]
            log.warning("enricher failed", extra={"enricher": item.name, "error": part.errors[item.name]})
        if cpu is not None:
            cpu[item.name] = cpu.get(item.name, 0.0) + time.process_time() - started
    return part
