"""Republication: exactly one new delivery per chosen target, counted at real local receivers, even when the
same request comes twice; through the function, the API, and a hook run by the real workers."""

from __future__ import annotations

import uuid
from typing import Iterator

import httpx
import pytest
from standardwebhooks.webhooks import Webhook

from conftest import WEBHOOK_SECRET, wait_until
from tests.hooks.conftest import body_of, job_state, make_hook, post, signed
from tests.publish.conftest import SECRET_A, drain_until_settled, make_article, webhook
from tests.publish.receivers import Receiver

pytestmark = pytest.mark.pipeline


@pytest.fixture(scope="module")
def local(pipeline) -> Iterator[None]:  # noqa: ANN001
    """Deliveries sent from this process to 127.0.0.1 (the receivers), on a short schedule."""
    from newswire.embedded import override_environment

    with override_environment({"NEWSWIRE_ALLOW_PRIVATE_NETWORKS": "127.0.0.1/32",
                               "NEWSWIRE_DELIVERY_SCHEDULE": "0,0.2,0.4", "NEWSWIRE_DELIVERY_MAX_ATTEMPTS": "3"}):
        yield


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.close()


def rows_of(article_id: str) -> list[tuple[str, str, int, str]]:
    from sqlalchemy import select

    from shared.store import ArticleVersion, Delivery, session_scope

    with session_scope() as session:
        return [tuple(r) for r in session.execute(
            select(Delivery.target, Delivery.event, Delivery.generation, Delivery.status)
            .join(ArticleVersion, ArticleVersion.id == Delivery.version_id)
            .where(ArticleVersion.article_id == article_id).order_by(Delivery.id)).all()]


def test_one_new_delivery_per_target_even_when_asked_twice(local, receiver) -> None:  # noqa: ANN001
    from services.publish.republish import RepublishError, republish

    path_a, path_b = f"/a/{uuid.uuid4().hex}", f"/b/{uuid.uuid4().hex}"
    a, b = webhook(f"a-{uuid.uuid4().hex[:6]}", receiver.url(path_a)), webhook(f"b-{uuid.uuid4().hex[:6]}",
                                                                               receiver.url(path_b))
    skip = webhook(f"zh-only-{uuid.uuid4().hex[:6]}", receiver.url("/never"), rules=[{"language": ["fr"]}])
    configured = {a.name: a, b.name: b, skip.name: skip}
    article_id, _ = make_article()
    key = f"test:{uuid.uuid4().hex}"
    first = republish(article_id, targets=None, actor="tests", reason="editor fixed a typo", key=key,
                      configured=configured)
    assert sorted(first.targets) == sorted([a.name, b.name]) and skip.name in first.skipped
    again = republish(article_id, targets=None, actor="tests", key=key, configured=configured)
    assert again.duplicate and again.republication == first.republication and again.deliveries == first.deliveries
    for target in (a, b, skip):
        drain_until_settled(target)
    assert len(receiver.at(path_a)) == 1 and len(receiver.at(path_b)) == 1 and not receiver.at("/never")
    sent = receiver.at(path_a)[0]
    document = Webhook(SECRET_A).verify(sent.body, sent.headers)
    assert document["id"] == article_id and document["type"] == "article.published"
    assert sent.headers["webhook-id"].endswith(f"_r{first.republication}")

    # A new request (another key) is a new republication: one more per target, its own webhook-id;
    # the target already holds the story, so it is an update.
    second = republish(article_id, targets=[b.name], actor="tests", configured=configured)
    assert second.targets == [b.name] and not second.duplicate
    drain_until_settled(b)
    assert len(receiver.at(path_a)) == 1 and len(receiver.at(path_b)) == 2
    assert Webhook(SECRET_A).verify(receiver.at(path_b)[1].body, receiver.at(path_b)[1].headers)["type"] == \
        "article.updated"
    assert len({r.headers["webhook-id"] for r in receiver.at(path_b)}) == 2
    assert sorted(rows_of(article_id)) == sorted([
        (a.name, "publish", first.republication, "delivered"), (b.name, "publish", first.republication, "delivered"),
        (b.name, "update", second.republication, "delivered")])

    with pytest.raises(RepublishError) as unknown:
        republish(article_id, targets=["nowhere"], actor="tests", configured=configured)
    assert unknown.value.status == 422
    with pytest.raises(RepublishError) as missing:
        republish(str(uuid.uuid4()), actor="tests", configured=configured)
    assert missing.value.status == 404


def test_a_retracted_story_is_not_republished(local) -> None:  # noqa: ANN001
    from services.publish import lifecycle
    from services.publish.republish import RepublishError, republish

    article_id, _ = make_article()
    lifecycle.retract(article_id, {}, note="legal", actor="tests")
    with pytest.raises(RepublishError) as refused:
        republish(article_id, actor="tests", configured={"x": webhook("x", "http://127.0.0.1:1/")})
    assert refused.value.status == 409 and "retracted" in str(refused.value)


def test_republish_over_the_api_is_idempotent_and_operator_only(pipeline, operator, viewer, sink) -> None:  # noqa: ANN001
    article_id, _ = make_article()
    url = f"{pipeline.api_url}/articles/{article_id}/republish"
    assert httpx.post(url, json={}, headers=viewer, timeout=10).status_code == 403
    assert httpx.post(url, json={}, timeout=10).status_code == 401
    assert httpx.post(url, json={"targets": ["nowhere"]}, headers=operator, timeout=10).status_code == 422
    key = {"Idempotency-Key": uuid.uuid4().hex, **operator}
    first = httpx.post(url, json={"targets": ["webhook"], "reason": "CMS asked"}, headers=key, timeout=10)
    assert first.status_code == 200, first.text
    again = httpx.post(url, json={"targets": ["webhook"], "reason": "CMS asked"}, headers=key, timeout=10)
    assert again.json()["duplicate"] and again.json()["republication"] == first.json()["republication"]
    wait_until(lambda: rows_of(article_id) == [("webhook", "publish", first.json()["republication"], "delivered")],
               timeout=30, message="the republication delivered by the workers")
    assert len(sink.for_article(article_id)) == 1
    audit = httpx.get(f"{pipeline.api_url}/audit-log?action=article.republish", headers=viewer, timeout=10).json()
    assert any(e["subject"] == article_id and e["result"] == "ok" for e in audit["items"])
    assert any(e["subject"] == article_id and e["result"] == "denied" for e in audit["items"])
    assert httpx.post(f"{pipeline.api_url}/articles/{uuid.uuid4()}/republish", json={}, headers=operator,
                      timeout=10).status_code == 404


def test_republish_hook_leads_to_exactly_one_delivery_through_the_workers(pipeline, sink) -> None:  # noqa: ANN001
    name, secret = make_hook(["republish", "retract"], targets=["webhook"])
    article_id, _ = make_article()
    body = body_of({"action": "republish", "article_id": article_id, "reason": "CMS fix"})
    headers = signed([secret], body)
    accepted = post(pipeline.api_url, name, body, headers)
    assert accepted.status_code == 202, accepted.text
    assert post(pipeline.api_url, name, body, headers).status_code == 200  # a retry of the same call
    job_id = accepted.json()["job_id"]
    done = wait_until(lambda: job_state(job_id).get("status") in ("done", "failed") and job_state(job_id),
                      timeout=30, message="republish job")
    assert done["status"] == "done", done
    assert done["result"]["targets"] == ["webhook"]
    generation = done["result"]["republication"]
    wait_until(lambda: rows_of(article_id) == [("webhook", "publish", generation, "delivered")], timeout=30,
               message="republication delivered")
    [received] = sink.for_article(article_id)
    assert Webhook(WEBHOOK_SECRET).verify(received.body, received.headers)["id"] == article_id
    assert received.headers["webhook-id"].endswith(f"_r{generation}")

    # Another call (its own webhook-id): one more delivery, with its own webhook-id.
    body = body_of({"action": "republish", "article_id": article_id})
    second = post(pipeline.api_url, name, body, signed([secret], body))
    assert second.status_code == 202
    wait_until(lambda: len(sink.for_article(article_id)) == 2, timeout=30, message="second republication")
    wait_until(lambda: job_state(second.json()["job_id"]).get("status") == "done", timeout=30, message="job done")
    assert len({r.headers["webhook-id"] for r in sink.for_article(article_id)}) == 2
    assert len(rows_of(article_id)) == 2

    outside = body_of({"action": "republish", "article_id": article_id, "targets": ["elsewhere"]})
    assert post(pipeline.api_url, name, outside, signed([secret], outside)).status_code == 403
