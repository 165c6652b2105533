"""The delivery engine against real local receivers, real Redis and the real store."""

from __future__ import annotations

import threading

import pytest
from standardwebhooks.webhooks import Webhook

from tests.publish.conftest import (SECRET_A, SECRET_B, deliveries_of, drain_until_settled, make_article, unique,
                                    webhook)
from tests.publish.receivers import Answer

pytestmark = pytest.mark.usefixtures("publish_env")


def test_signed_with_every_secret_during_rotation_and_verified_by_standardwebhooks(receiver) -> None:  # noqa: ANN001
    from services.publish import engine

    path = f"/{unique('rotation')}"
    target = webhook(unique("rot"), receiver.url(path), secrets=[SECRET_A, SECRET_B])
    article_id, version_id = make_article()
    assert engine.plan(version_id, {target.name: target}) == [target.name]
    drain_until_settled(target)
    [request] = receiver.at(path)
    headers = {k: request.headers[k] for k in ("webhook-id", "webhook-timestamp", "webhook-signature")}
    assert len(headers["webhook-signature"].split()) == 2
    # Receivers holding only the old or only the new secret both verify the same message.
    for secret in (SECRET_A, SECRET_B):
        payload = Webhook(secret).verify(request.body, headers)
        assert payload["id"] == article_id and payload["type"] == "article.published"
    assert headers["webhook-id"] == engine.idempotency_key(article_id, 1, target.name)
    [delivery] = deliveries_of(article_id)
    assert delivery["status"] == "delivered" and delivery["key"] == headers["webhook-id"]
    # A forged body does not verify.
    with pytest.raises(Exception):
        Webhook(SECRET_A).verify(request.body.replace(b"published", b"retracted"), headers)


def test_fails_three_times_then_succeeds_exactly_once_with_the_same_key(receiver) -> None:  # noqa: ANN001
    from services.publish import engine

    path = f"/{unique('flaky')}"
    receiver.script(path, [Answer(503, body=b"busy, try later"), Answer(500), Answer(502)])
    target = webhook(unique("flaky"), receiver.url(path))
    article_id, version_id = make_article()
    engine.plan(version_id, {target.name: target})
    drain_until_settled(target)
    requests = receiver.at(path)
    assert [r.status for r in requests] == [503, 500, 502, 204]
    assert len({r.headers["webhook-id"] for r in requests}) == 1
    assert sum(1 for r in requests if r.status == 204) == 1
    [delivery] = deliveries_of(article_id)
    assert delivery["status"] == "delivered" and delivery["attempts"] == 4
    log = delivery["attempt_log"]
    assert [a["status_code"] for a in log] == [503, 500, 502, 204]
    assert log[0]["response_excerpt"] == "busy, try later" and "503" in log[0]["error"]
    # The schedule (0, 0.2, 0.4, 0.8 s here) spaces the attempts.
    gaps = [b.at - a.at for a, b in zip(requests, requests[1:])]
    assert gaps[0] >= 0.18 and gaps[1] >= 0.38 and gaps[2] >= 0.78
    # Draining again sends nothing more: delivered rows are never claimed again.
    engine.drain(target, budget=1)
    assert len(receiver.at(path)) == 4


def test_retry_after_is_honoured(receiver) -> None:  # noqa: ANN001
    from services.publish import engine

    path = f"/{unique('ra')}"
    receiver.script(path, [Answer(429, headers={"Retry-After": "2"})])
    target = webhook(unique("ra"), receiver.url(path))
    article_id, version_id = make_article()
    engine.plan(version_id, {target.name: target})
    drain_until_settled(target)
    first, second = receiver.at(path)
    assert first.status == 429 and second.status == 204
    assert second.at - first.at >= 1.9  # the schedule alone says 0.2 s


def test_exhausted_delivery_is_a_dead_letter_and_replay_sends_it_again(receiver) -> None:  # noqa: ANN001
    from services.publish import engine, replay

    path = f"/{unique('dead')}"
    receiver.script(path, [Answer(503)] * 4)
    target = webhook(unique("dead"), receiver.url(path))
    article_id, version_id = make_article()
    engine.plan(version_id, {target.name: target})
    reports = drain_until_settled(target)
    dead = [d for r in reports for d in r.dead]
    assert len(dead) == 1 and dead[0]["id"] == article_id and dead[0]["attempts"] == 4
    [delivery] = deliveries_of(article_id)
    assert delivery["status"] == "failed" and delivery["attempts"] == 4
    count, targets = replay.replay_range(target=target.name)
    assert count == 1 and targets == [target.name]
    drain_until_settled(target)
    [delivery] = deliveries_of(article_id)
    assert delivery["status"] == "delivered" and delivery["attempts"] == 5
    assert [r.status for r in receiver.at(path)] == [503, 503, 503, 503, 204]


@pytest.mark.parametrize("status", [400, 401, 404, 422])
def test_4xx_is_not_retried(receiver, status) -> None:  # noqa: ANN001
    from services.publish import engine

    path = f"/{unique('4xx')}"
    receiver.script(path, [Answer(status)])
    target = webhook(unique("no"), receiver.url(path))
    article_id, version_id = make_article()
    engine.plan(version_id, {target.name: target})
    reports = drain_until_settled(target)
    assert len(receiver.at(path)) == 1
    [delivery] = deliveries_of(article_id)
    assert delivery["status"] == "failed" and delivery["last_status_code"] == status
    assert sum(len(r.dead) for r in reports) == 1


def test_410_disables_the_target_and_an_operator_sees_why(receiver) -> None:  # noqa: ANN001
    from services.publish import engine, state

    path = f"/{unique('gone')}"
    receiver.script(path, [Answer(410)])
    target = webhook(unique("gone"), receiver.url(path), concurrency=1)
    first, v1 = make_article()
    second, v2 = make_article()
    engine.plan(v1, {target.name: target})
    engine.plan(v2, {target.name: target})
    report = engine.drain(target, budget=5)
    assert len(receiver.at(path)) == 1
    seen = state.get_state(target.name)
    assert seen["disabled"] and "410" in seen["reason"]
    assert engine.drain(target, budget=1).stopped == "disabled"
    assert len(receiver.at(path)) == 1
    statuses = sorted(d["status"] for a in (first, second) for d in deliveries_of(a))
    assert statuses in (["failed", "pending"], ["failed", "failed"]) and report.failed >= 1
    state.enable(target.name)
    drain_until_settled(target)
    assert len(receiver.at(path)) == 2


def test_breaker_opens_after_a_failure_streak_and_a_probe_closes_it(receiver) -> None:  # noqa: ANN001
    import time

    from services.publish import engine
    from services.publish.limits import Limits

    path = f"/{unique('breaker')}"
    receiver.script(path, [Answer(503)] * 3)
    target = webhook(unique("brk"), receiver.url(path), concurrency=1, schedule=[0, 0, 0, 0, 0], breaker_cooldown=3)
    ids = [make_article()[1] for _ in range(5)]
    for version_id in ids:
        engine.plan(version_id, {target.name: target})
    report = engine.drain(target, budget=5)
    assert report.stopped == "breaker-open" and Limits(target.name).breaker_state() == "open"
    assert len(receiver.at(path)) == 3  # threshold 3: nothing more is sent while it is open
    assert engine.drain(target, budget=1).stopped == "breaker-open"
    time.sleep(3.1)  # after the cooldown one probe goes, it succeeds, the breaker closes and the rest flows
    drain_until_settled(target)
    assert Limits(target.name).breaker_state() == "closed"
    assert [r.status for r in receiver.at(path)].count(204) == 5


def test_a_newer_version_supersedes_a_pending_older_one(receiver) -> None:  # noqa: ANN001
    from services.publish import engine

    path = f"/{unique('latest')}"
    target = webhook(unique("latest"), receiver.url(path))
    article_id, v1 = make_article()
    engine.plan(v1, {target.name: target})
    _, v2 = make_article(article_id=article_id, version=2)
    engine.plan(v2, {target.name: target})
    drain_until_settled(target)
    requests = receiver.at(path)
    assert [r.json()["version"] for r in requests] == [2]
    by_version = {d["version"]: d for d in deliveries_of(article_id)}
    assert by_version[1]["status"] == "superseded" and "version 2" in by_version[1]["last_error"]
    assert by_version[2]["status"] == "delivered"


def test_an_update_goes_to_whoever_got_the_first_version(receiver) -> None:  # noqa: ANN001
    from services.publish import engine

    path = f"/{unique('update')}"
    target = webhook(unique("upd"), receiver.url(path), rules=[{"language": ["zh"]}])
    article_id, v1 = make_article()
    engine.plan(v1, {target.name: target})
    drain_until_settled(target)
    _, v2 = make_article(article_id=article_id, version=2, language="en")  # rules alone would skip it now
    engine.plan(v2, {target.name: target})
    drain_until_settled(target)
    bodies = [r.json() for r in receiver.at(path)]
    assert [(b["type"], b["version"]) for b in bodies] == [("article.published", 1), ("article.updated", 2)]


def test_concurrent_drains_never_send_twice(receiver) -> None:  # noqa: ANN001
    from services.publish import engine

    path = f"/{unique('race')}"
    target = webhook(unique("race"), receiver.url(path), concurrency=4)
    for _ in range(60):
        engine.plan(make_article()[1], {target.name: target})
    threads = [threading.Thread(target=engine.drain, args=(target,), kwargs={"budget": 10}) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    drain_until_settled(target)
    keys = [r.headers["webhook-id"] for r in receiver.at(path)]
    assert len(keys) == 60 and len(set(keys)) == 60


def test_rate_limit_is_shared_and_respected(receiver) -> None:  # noqa: ANN001
    from services.publish import engine

    path = f"/{unique('rate')}"
    target = webhook(unique("rate"), receiver.url(path), rate=10, burst=2, concurrency=4)
    for _ in range(12):
        engine.plan(make_article()[1], {target.name: target})
    threads = [threading.Thread(target=drain_until_settled, args=(target,)) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    times = sorted(r.at for r in receiver.at(path))
    assert len(times) == 12
    # A token bucket of 10/s with a burst of 2: any window of w seconds holds at most 2 + 10*w requests.
    for i, start in enumerate(times):
        within = sum(1 for t in times[i:] if t - start <= 0.5)
        assert within <= 2 + 5 + 1, f"{within} requests within 0.5 s"
    assert times[-1] - times[0] >= 0.8  # 12 requests at 10/s after a burst of 2 need about 1 s


def test_a_target_failing_for_its_disable_after_time_is_disabled_with_the_reason(receiver) -> None:  # noqa: ANN001
    import time

    from services.publish import engine, state

    path = f"/{unique('failing')}"
    receiver.script(path, [Answer(503)] * 50)
    target = webhook(unique("failing"), receiver.url(path), concurrency=1, schedule=[0, 0.1, 0.1, 0.1, 0.1, 0.1],
                     breaker_threshold=100, disable_after=0.25)  # 4 attempts, >= 0.3 s apart
    for _ in range(3):
        engine.plan(make_article()[1], {target.name: target})
    deadline = time.monotonic() + 10
    while not state.get_state(target.name)["disabled"] and time.monotonic() < deadline:
        engine.drain(target, budget=1)
        time.sleep(0.1)
    seen = state.get_state(target.name)
    assert seen["disabled"] and "failing since" in seen["reason"] and seen["failing_since"]
    sent = len(receiver.at(path))
    assert engine.drain(target, budget=1).stopped == "disabled" and len(receiver.at(path)) == sent
