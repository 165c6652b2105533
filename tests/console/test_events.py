"""Celery task events are on (what Flower reads): task-sent from the API, task-received/started/succeeded from
the real workers."""

from __future__ import annotations

import threading
import uuid

import pytest

from conftest import wait_until
from tests.console.conftest import article_html, published, story_paragraphs, submit

pytestmark = pytest.mark.pipeline


def test_task_events_reach_an_event_receiver(pipeline, site) -> None:  # noqa: ANN001
    from shared.celery_app import make_app

    celery = make_app()
    seen: list[dict] = []
    ready = threading.Event()
    receivers: list = []

    def listen() -> None:
        with celery.connection_for_read() as connection:
            receiver = celery.events.Receiver(connection, handlers={"*": seen.append})
            receivers.append(receiver)
            ready.set()
            try:
                receiver.capture(limit=None, timeout=None, wakeup=False)
            except Exception:  # noqa: BLE001  (stopped)
                pass

    thread = threading.Thread(target=listen, daemon=True)
    thread.start()
    assert ready.wait(10)
    url = site.add(f"/events-{uuid.uuid4().hex}.html", article_html("Event story", story_paragraphs("Eventville")))
    published(pipeline, submit(pipeline, url)["id"])

    def kinds() -> set[str] | None:
        found = {(e.get("type"), e.get("name") or "") for e in list(seen)}
        types = {t for t, _ in found}
        wanted = {"task-sent", "task-received", "task-started", "task-succeeded"}
        return types if wanted <= types else None

    try:
        wait_until(kinds, timeout=20, message="task events")
        names = {e.get("name") for e in seen if e.get("type") == "task-received"}
        assert {"ingest.fetch", "clean.process", "enrich.process", "publish.process"} <= names
    finally:
        receivers[0].should_stop = True
        thread.join(timeout=10)
