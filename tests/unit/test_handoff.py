"""The hand-off ledger (shared/handoff.py) against a real Redis, with real Celery messages and no worker: what a send
records, where the sweep finds a message (queue list, kombu's unacknowledged hash), what it sends again and what it
leaves alone (a backlog waiting in its queue)."""

from __future__ import annotations

import json
import uuid

import pytest

from shared import handoff


@pytest.fixture(scope="module")
def own_redis(tmp_path_factory):  # noqa: ANN001, ANN201
    """A Redis of these tests' own (the bundled binary): no worker of another test consumes its queues."""
    from shared.redis_server import start_redis

    process, url = start_redis(tmp_path_factory.mktemp("handoff-redis"))
    yield url
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture()
def ledger(own_redis, database_url):  # noqa: ANN001, ANN201
    """This Redis, emptied: no queued messages, no unacknowledged ones, an empty ledger."""
    from newswire.embedded import override_environment
    from shared.redis_client import get_redis

    with override_environment({"REDIS_URL": own_redis, "DATABASE_URL": database_url}):
        client = get_redis()
        client.flushdb()
        yield client


def send(task: str = "clean.process", queue: str | None = None, **options) -> str:  # noqa: ANN003
    """Send a task's message as any process does (the ledger records it through Celery's publish signal)."""
    from shared.celery_app import app
    from shared.settings import get_settings

    message = {"id": uuid.uuid4().hex, "url": f"http://handoff.example.com/{uuid.uuid4().hex}", "fetch_id": "f1"}
    args = [message] if task != "publish.drain" else ["alpha"]
    with app.connection_for_write(get_settings().broker_url) as connection:
        return app.send_task(task, args=args, queue=queue or task.split(".")[0], connection=connection,
                             **options).id


def take(client, queue: str) -> tuple[str, bytes]:  # noqa: ANN001
    """What a worker killed between BRPOP and recording the message does: the oldest message leaves the list."""
    raw = client.rpop(queue)
    assert raw is not None
    return json.loads(raw)["headers"]["id"], raw


def test_a_stage_message_is_recorded_before_it_is_sent_and_other_tasks_are_not(ledger) -> None:  # noqa: ANN001
    task_id = send("enrich.process", headers={"newswire_store_waits": 2})
    item = handoff.entry(task_id)
    assert item is not None
    assert (item["task"], item["queue"], item["retries"]) == ("enrich.process", "enrich", 0)
    assert item["args"][0]["fetch_id"] == "f1"
    assert item["headers"] == {"newswire_store_waits": 2}
    assert ledger.zscore(handoff.SENT_KEY, task_id) == pytest.approx(item["sent"])
    send("publish.drain")  # a drain is not in the ledger (publish.sweep finds lost ones)
    assert handoff.pending() == 1
    handoff.done(task_id)
    assert handoff.entry(task_id) is None and handoff.pending() == 0


def test_messages_are_found_in_their_queue_and_in_the_unacknowledged_hash(ledger) -> None:  # noqa: ANN001
    waiting = send("ingest.fetch")
    reserved = send("publish.process")
    reserved_id, raw = take(ledger, "publish")
    assert reserved_id == reserved
    # kombu's Redis transport records a delivered message so: {tag: [message, exchange, routing key]}.
    ledger.hset(handoff.unacked_key(), uuid.uuid4().hex, json.dumps([json.loads(raw), "", "publish"]))
    lost = send("clean.process")
    take(ledger, "clean")
    assert handoff.present_ids(ledger) == {waiting, reserved}
    assert lost not in handoff.present_ids(ledger)


def test_a_lost_message_is_sent_again_once_after_being_missed_twice(ledger) -> None:  # noqa: ANN001
    lost = send("clean.process", headers={"newswire_store_waits": 1})
    other = send("clean.process")
    lost_id, _ = take(ledger, "clean")
    assert lost_id == lost
    young = handoff.sweep(ledger, age=3600, gap=0)  # too young to be looked at
    assert young.candidates == 0 and not young.resent
    first = handoff.sweep(ledger, age=0, gap=0)
    assert (first.candidates, first.present, first.suspected, first.resent) == (2, 1, 1, [])  # seen missing once
    assert ledger.llen("clean") == 1
    second = handoff.sweep(ledger, age=0, gap=0)
    assert second.resent == [lost]
    assert ledger.llen("clean") == 2
    again = json.loads(ledger.lindex("clean", 0))
    assert again["headers"]["id"] == lost and again["headers"]["task"] == "clean.process"
    assert again["headers"][handoff.RESENT_HEADER] == 1 and again["headers"]["newswire_store_waits"] == 1
    # The re-send is recorded afresh (new time, mark gone): not sent a third time.
    assert handoff.entry(lost)["headers"][handoff.RESENT_HEADER] == 1
    assert not ledger.hexists(handoff.MISSING_KEY, lost)
    assert handoff.sweep(ledger, age=0, gap=0).resent == []
    assert other in handoff.present_ids(ledger)


def test_the_second_sighting_must_come_later_than_the_gap(ledger) -> None:  # noqa: ANN001
    lost = send("publish.process")
    take(ledger, "publish")
    assert handoff.sweep(ledger, age=0, gap=60).suspected == 1
    assert handoff.sweep(ledger, age=0, gap=60).resent == []  # missing twice, but within the gap: in transit
    import time

    assert handoff.sweep(ledger, now=time.time() + 61, age=0, gap=60).resent == [lost]


def test_a_message_found_again_or_ended_between_sweeps_is_not_sent(ledger) -> None:  # noqa: ANN001
    moving = send("enrich.process")
    ended = send("enrich.process")
    moving_id, raw = take(ledger, "enrich")
    ended_id, _ = take(ledger, "enrich")
    assert (moving_id, ended_id) == (moving, ended)
    assert handoff.sweep(ledger, age=0, gap=0).suspected == 2
    ledger.hset(handoff.unacked_key(), "tag-1", json.dumps([json.loads(raw), "", "enrich"]))  # it was in transit
    handoff.done(ended)  # its task finished meanwhile
    report = handoff.sweep(ledger, age=0, gap=0)
    assert report.resent == [] and report.present == 1
    assert not ledger.hexists(handoff.MISSING_KEY, moving)


def test_a_backlog_of_ten_thousand_waiting_messages_is_not_sent_again(ledger) -> None:  # noqa: ANN001
    from shared.celery_app import app
    from shared.settings import get_settings

    body = {"id": "x", "url": "http://handoff.example.com/", "fetch_id": "f", "text": "word " * 400}
    with app.connection_for_write(get_settings().broker_url) as connection:
        producer = connection.Producer()
        for n in range(10_000):
            app.send_task("clean.process", args=[dict(body, id=str(n))], queue="clean", producer=producer)
    lost = send("clean.process")
    ledger.lrem("clean", 1, ledger.lindex("clean", 0))  # the newest: the lost one is not simply the last one read
    for _ in range(2):
        report = handoff.sweep(ledger, age=0, gap=0)
    assert report.candidates == 10_001 and report.present == 10_000
    assert report.resent == [lost]
    assert ledger.llen("clean") == 10_001


def test_a_message_lost_too_often_is_a_dead_letter(ledger, database_url, monkeypatch) -> None:  # noqa: ANN001
    from shared.settings import get_settings
    from shared.store import DeadLetter, session_scope, upgrade_schema
    from sqlalchemy import select

    upgrade_schema(database_url)
    monkeypatch.setattr(get_settings(), "handoff_max_resends", 2)
    lost = send("publish.process")
    for _ in range(3):
        take(ledger, "publish")
        handoff.sweep(ledger, age=0, gap=0)
        handoff.sweep(ledger, age=0, gap=0)
    assert handoff.entry(lost) is None  # sent twice, lost a third time: a dead letter, not sent again
    assert ledger.llen("publish") == 0
    with session_scope() as session:
        letters = [d for d in session.execute(select(DeadLetter)).scalars() if lost in (d.error or "")]
    assert len(letters) == 1 and letters[0].stage == "publish" and "lost between stages 3 times" in letters[0].error


def test_the_sweep_runs_once_per_interval_for_the_whole_deployment(ledger) -> None:  # noqa: ANN001
    assert handoff.sweep_once(ledger) is not None
    assert handoff.sweep_once(ledger) is None  # another worker's sweep within the interval: skipped
