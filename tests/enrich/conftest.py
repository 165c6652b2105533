from __future__ import annotations

import pytest


@pytest.fixture(scope="session", autouse=True)
def enrich_models() -> None:
    """Load the models once, as a worker does at start, so no enricher pays the load inside its budget."""
    from services.enrich.registry import load_models

    load_models()
