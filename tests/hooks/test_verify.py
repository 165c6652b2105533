"""POST /hooks/{hook} through the real API: what is accepted, what is refused and why, what is logged."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid

import httpx
import pytest

from conftest import wait_until
from tests.hooks.conftest import body_of, job_state, make_hook, post, signed, stale, unique

pytestmark = pytest.mark.pipeline


def calls_of(api_url: str, hook: str, headers: dict) -> list[dict]:
    response = httpx.get(f"{api_url}/hooks/{hook}/calls", headers=headers, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()["items"]


def test_signed_call_is_accepted_and_its_job_runs(pipeline, viewer) -> None:  # noqa: ANN001
    name, secret = make_hook(["reingest"])
    body = body_of({"action": "reingest", "url": f"https://127.0.0.1:1/{uuid.uuid4().hex}.html"})
    headers = signed([secret], body)
    answer = post(pipeline.api_url, name, body, headers)
    assert answer.status_code == 202, answer.text
    accepted = answer.json()
    assert accepted["status"] == "accepted" and accepted["action"] == "reingest"
    assert answer.headers["location"] == f"/jobs/{accepted['job_id']}"
    done = wait_until(lambda: job_state(accepted["job_id"]).get("status") == "done" and job_state(accepted["job_id"]),
                      timeout=30, message="reingest job done")
    assert done["result"]["fetch_id"] == accepted["job_id"]
    shown = httpx.get(f"{pipeline.api_url}/jobs/{accepted['job_id']}", headers=viewer, timeout=10).json()
    assert shown["status"] == "done" and shown["kind"] == "reingest" and shown["hook"] == name
    [call] = calls_of(pipeline.api_url, name, viewer)
    assert call["verdict"] == "accepted" and call["job_id"] == accepted["job_id"]
    assert call["webhook_id"] == headers["webhook-id"] and call["action"] == "reingest"
    from prometheus_client.parser import text_string_to_metric_families

    def scraped() -> dict:
        text = httpx.get(f"{pipeline.api_url}/metrics", headers=viewer, timeout=10).text
        return {(s.name, tuple(sorted(s.labels.items()))): s.value
                for family in text_string_to_metric_families(text) for s in family.samples}

    # Counters are flushed from each process every half second: wait for this call's.
    wait_until(lambda: scraped().get(("newswire_hook_calls_total", (("hook", name), ("verdict", "accepted")))) == 1,
               timeout=10, message="newswire_hook_calls counted")
    assert ("newswire_jobs_waiting", (("status", "pending"),)) in scraped()


@pytest.mark.parametrize("case", ["wrong-secret", "stale", "future", "altered", "no-headers", "bad-signature-list",
                                  "not-json", "unknown-field", "not-allowed", "too-large", "no-such-hook",
                                  "not-utf8", "nul-in-body", "nul-in-name"])
def test_refused_calls_say_why_and_are_logged(pipeline, viewer, case: str) -> None:  # noqa: ANN001
    name, secret = make_hook(["reingest"], max_body_bytes=2000)
    other = "whsec_" + base64.b64encode(uuid.uuid4().bytes * 2).decode()
    body = body_of({"url": "https://example.com/a.html"})
    headers = signed([secret], body)
    expected = {"wrong-secret": 401, "stale": 401, "future": 401, "altered": 401, "no-headers": 400,
                "bad-signature-list": 400, "not-json": 400, "unknown-field": 422, "not-allowed": 403,
                "too-large": 413, "no-such-hook": 404, "not-utf8": 400, "nul-in-body": 422,
                "nul-in-name": 404}[case]
    hook = name
    if case == "wrong-secret":
        headers = signed([other], body)
    elif case == "stale":
        headers = signed([secret], body, when=stale(-6))
    elif case == "future":
        headers = signed([secret], body, when=stale(6))
    elif case == "altered":
        body = body_of({"url": "https://example.com/b.html"})
    elif case == "no-headers":
        headers = {"content-type": "application/json"}
    elif case == "bad-signature-list":
        headers["webhook-signature"] = "v1 garbage,,, v1,@@@"
    elif case == "not-json":
        body = b"url=https://example.com/a.html"
        headers = signed([secret], body)
    elif case == "unknown-field":
        body = body_of({"url": "https://example.com/a.html", "target": "cms"})
        headers = signed([secret], body)
    elif case == "not-allowed":
        body = body_of({"action": "retract", "article_id": str(uuid.uuid4())})
        headers = signed([secret], body)
    elif case == "too-large":
        body = body_of({"url": "https://example.com/a.html", "note": "x" * 3000})
        headers = signed([secret], body)
    elif case == "no-such-hook":
        hook = unique("missing")
    elif case == "nul-in-body":
        body = body_of({"url": "https://example.com/a.html", "note": "a\u0000b"})
        headers = signed([secret], body)
    elif case == "nul-in-name":
        hook = unique("nul") + "%00"
    elif case == "not-utf8":
        body = b'{"url": "https://example.com/\xff.html"}'
        headers = dict(headers, **{"webhook-signature": "v1," + base64.b64encode(b"x" * 32).decode()})
    answer = post(pipeline.api_url, hook, body, headers)
    assert answer.status_code == expected, answer.text
    refused = answer.json()
    assert refused["status"] == "refused" and refused["detail"]
    assert "job_id" not in refused
    if case in ("stale", "future"):
        assert ("old" if case == "stale" else "future") in refused["detail"]
    calls = calls_of(pipeline.api_url, hook.replace("%00", "%5Cx00"), viewer)
    assert calls and calls[0]["verdict"] == "refused" and calls[0]["status_code"] == expected
    assert calls[0]["reason"] == refused["detail"] and calls[0]["job_id"] is None
    from services.hooks import jobs

    assert jobs.listing(hook=hook)["items"] == []


def test_replayed_id_answers_200_and_acts_once(pipeline, viewer) -> None:  # noqa: ANN001
    from services.hooks import intake, jobs

    name, secret = make_hook(["reingest"])
    body = body_of({"url": f"https://127.0.0.1:1/{uuid.uuid4().hex}.html"})
    headers = signed([secret], body)
    first = post(pipeline.api_url, name, body, headers)
    assert first.status_code == 202, first.text
    again = post(pipeline.api_url, name, body, headers)
    assert again.status_code == 200, again.text
    assert again.json()["status"] == "duplicate" and again.json()["job_id"] == first.json()["job_id"]
    # The same id with another body is a conflict, not a replay.
    other = body_of({"url": "https://example.com/other.html"})
    conflict = post(pipeline.api_url, name, other, signed([secret], other, msg_id=headers["webhook-id"]))
    assert conflict.status_code == 409, conflict.text
    # Redis forgets (restart without persistence): the stored request still stops the replay.
    from shared.redis_client import get_redis

    for key in get_redis().scan_iter(match=f"{intake.REDIS_PREFIX}:*"):
        get_redis().delete(key)
    later = post(pipeline.api_url, name, body, signed([secret], body, msg_id=headers["webhook-id"]))
    assert later.status_code == 200 and later.json()["job_id"] == first.json()["job_id"], later.text
    assert len(jobs.listing(hook=name)["items"]) == 1
    verdicts = [c["verdict"] for c in calls_of(pipeline.api_url, name, viewer)]
    assert verdicts == ["duplicate", "refused", "duplicate", "accepted"]


def test_rotation_two_secrets_verify_then_the_old_one_retires(pipeline, operator, viewer) -> None:  # noqa: ANN001
    name, old = make_hook(["reingest"])
    rotated = httpx.post(f"{pipeline.api_url}/hooks/{name}/rotate", json={"grace_seconds": 3600}, headers=operator,
                         timeout=10)
    assert rotated.status_code == 200, rotated.text
    new = rotated.json()["signing_key"]
    assert new != old and new.startswith("whsec_")
    assert [s["active"] for s in rotated.json()["signing_keys"]] == [True, True]
    for secrets in ([old], [new], [old, new]):  # either secret alone, or a sender signing with both
        body = body_of({"url": f"https://127.0.0.1:1/{uuid.uuid4().hex}.html"})
        answer = post(pipeline.api_url, name, body, signed(secrets, body))
        assert answer.status_code == 202, (secrets, answer.text)
    used = {c["secret_fingerprint"] for c in calls_of(pipeline.api_url, name, viewer)}
    assert len(used) == 2  # the log tells which secret each call used (is the old one still in use?)
    retired = httpx.post(f"{pipeline.api_url}/hooks/{name}/rotate", json={"grace_seconds": 0}, headers=operator,
                         timeout=10)
    newest = retired.json()["signing_key"]
    body = body_of({"url": f"https://127.0.0.1:1/{uuid.uuid4().hex}.html"})
    assert post(pipeline.api_url, name, body, signed([new], body)).status_code == 401
    assert post(pipeline.api_url, name, body, signed([newest], body)).status_code == 202


def test_github_style_hook(pipeline, viewer) -> None:  # noqa: ANN001
    name, secret = make_hook(["reingest"], scheme="github")
    assert not secret.startswith("whsec_")
    body = body_of({"url": f"https://127.0.0.1:1/{uuid.uuid4().hex}.html"})
    good = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    delivery = str(uuid.uuid4())
    headers = {"x-hub-signature-256": good, "x-github-delivery": delivery, "content-type": "application/json"}
    assert post(pipeline.api_url, name, body, headers).status_code == 202
    assert post(pipeline.api_url, name, body, headers).status_code == 200  # the delivery id seen before
    wrong = "sha256=" + hmac.new(b"not the secret", body, hashlib.sha256).hexdigest()
    refused = post(pipeline.api_url, name, body, dict(headers, **{"x-hub-signature-256": wrong,
                                                                  "x-github-delivery": str(uuid.uuid4())}))
    assert refused.status_code == 401
    no_id = post(pipeline.api_url, name, body, {"x-hub-signature-256": good})
    assert no_id.status_code == 400 and "X-GitHub-Delivery" in no_id.json()["detail"]
    standard = post(pipeline.api_url, name, body, signed([secret if secret.startswith("whsec_") else
                                                          "whsec_" + base64.b64encode(secret.encode()).decode()], body))
    assert standard.status_code == 400  # a GitHub-style hook wants its own header


def test_secrets_never_appear_in_answers(pipeline, operator, viewer) -> None:  # noqa: ANN001
    created = httpx.post(f"{pipeline.api_url}/hooks", json={"name": unique("shown"), "actions": ["retract"]},
                         headers=operator, timeout=10)
    assert created.status_code == 201, created.text
    name, secret = created.json()["name"], created.json()["signing_key"]  # the one answer that holds it
    assert created.json()["signing_keys"][0]["fingerprint"] and "signing_key" not in created.json()["signing_keys"][0]
    raw = secret[len("whsec_"):]
    body = body_of({"article_id": str(uuid.uuid4())})
    post(pipeline.api_url, name, body, signed([secret], body))  # refused: no such article
    answers = [
        httpx.get(f"{pipeline.api_url}/hooks", headers=viewer, timeout=10),
        httpx.get(f"{pipeline.api_url}/hooks/{name}", headers=viewer, timeout=10),
        httpx.get(f"{pipeline.api_url}/hooks/{name}/calls", headers=viewer, timeout=10),
        httpx.get(f"{pipeline.api_url}/hook-calls", headers=viewer, timeout=10),
        httpx.get(f"{pipeline.api_url}/jobs", headers=viewer, timeout=10),
        httpx.get(f"{pipeline.api_url}/openapi.json", headers=viewer, timeout=10),
    ]
    for answer in answers:
        assert answer.status_code == 200, answer.text
        assert secret not in answer.text and raw not in answer.text
    assert httpx.get(f"{pipeline.api_url}/hooks", timeout=10).status_code == 401  # reads need a token
    denied = httpx.post(f"{pipeline.api_url}/hooks/{name}/rotate", headers=viewer, timeout=10)
    assert denied.status_code == 403  # changes need an operator
    logs = "".join(p.read_text(errors="replace") for p in pipeline.logs.glob("*.log"))
    assert raw not in logs
    audit = httpx.get(f"{pipeline.api_url}/audit-log", headers=operator, timeout=10)
    if audit.status_code == 200:
        assert raw not in audit.text
    assert json.loads(httpx.get(f"{pipeline.api_url}/hooks/{name}", headers=viewer, timeout=10).text)["name"] == name


def test_reingest_a_source_polls_it_now(pipeline, site, viewer) -> None:  # noqa: ANN001
    from services.ingest import sources

    feed = site.add(f"/hooks-feed/{uuid.uuid4().hex}.xml",
                    '<?xml version="1.0"?><rss version="2.0"><channel><title>Hook feed</title>'
                    '<link>http://127.0.0.1/</link><description>d</description></channel></rss>',
                    headers={"Content-Type": "application/rss+xml"})
    source_id = sources.add(feed, kind="feed", interval=86400)["id"]
    name, secret = make_hook(["reingest"])
    body = body_of({"source_id": source_id})
    answer = post(pipeline.api_url, name, body, signed([secret], body))
    assert answer.status_code == 202, answer.text
    assert answer.json()["subject"] == f"source {source_id}"
    job_id = answer.json()["job_id"]
    done = wait_until(lambda: job_state(job_id).get("status") in ("done", "failed") and job_state(job_id),
                      timeout=30, message="source poll job")
    assert done["status"] == "done" and done["result"]["source_id"] == source_id, done
    # The poll itself ran on the ingest worker: its state is read through the job.
    wait_until(lambda: (httpx.get(f"{pipeline.api_url}/jobs/{job_id}", headers=viewer, timeout=10).json()
                        .get("fetch") or {}).get("state"), timeout=30, message="the poll's state")
    missing = body_of({"source_id": 10**9})
    assert post(pipeline.api_url, name, missing, signed([secret], missing)).status_code == 422
