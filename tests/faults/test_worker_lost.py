"""A message whose worker dies under it again and again (a page that crashes a library, eats the memory, ...) is a
poison message of its own kind: no exception reaches Newswire, the worker is simply gone, and the broker hands the
message out again after the visibility timeout, for ever. After NEWSWIRE_TASK_MAX_CRASHES such deaths it becomes a
dead letter (WorkerLostError, replayable) and the queue moves on.

The rehearsal sets the limit to 1: ingest is killed while it fetches a slow page; at the redelivery the message is
a dead letter and is not fetched again, and an article behind it is published.
"""

from __future__ import annotations

import uuid

from tests.faults.conftest import Articles, dead_letters, wait_delivered, wait_until


def test_a_message_whose_worker_keeps_dying_becomes_a_dead_letter(fault_pipeline, receiver, site) -> None:  # noqa: ANN001
    articles = Articles(2, seed=7)
    pipeline = fault_pipeline(targets=("alpha",), env={"NEWSWIRE_TASK_MAX_CRASHES": "1"})
    killer_path = f"/faults/lost-{uuid.uuid4().hex}.html"
    killer_url = site.add(killer_path, articles.items[0].html, delay=3)
    response = pipeline.client.post("/ingest", json={"url": killer_url})
    assert response.status_code == 202, response.text
    wait_until(lambda: site.routes[killer_path].hits >= 1, timeout=60, message="the page being fetched")
    pipeline.restart("worker-ingest")  # the worker dies under the message: its first death

    def lost() -> list[dict]:
        return [letter for letter in dead_letters() if "worker died under this message" in (letter["error"] or "")]

    [letter] = wait_until(lost, timeout=180, message="the message that lost its worker is a dead letter")
    assert letter["stage"] == "ingest" and "1 time(s)" in letter["error"], letter
    assert site.routes[killer_path].hits == 1  # not fetched again once it was a dead letter

    # The queue goes on: a page behind it is published and delivered.
    next_path = f"/faults/after-{uuid.uuid4().hex}.html"
    after = pipeline.client.post("/ingest", json={"url": site.add(next_path, articles.items[1].html)}).json()
    wait_delivered(receiver, {after["id"]}, ["alpha"], timeout=180)
