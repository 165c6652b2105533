"""Access to the console and its API: tokens stored hashed, roles, 401/403, cookie login with CSRF proof, audit.

The app runs in this process (FastAPI's TestClient) on the session's real Redis and database.
"""

from __future__ import annotations

import subprocess
import sys

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.console.conftest import bearer


@pytest.fixture(scope="module")
def client(console_env):  # noqa: ANN001, ANN201
    from services.api.app import app

    with TestClient(app, follow_redirects=False) as test_client:
        yield test_client


@pytest.fixture()
def letter(console_env) -> int:  # noqa: ANN001
    from shared.store.dead_letters import record_dead_letter

    return record_dead_letter(stage="clean", task="clean.process", payload={"url": "http://127.0.0.1:9/x.html"},
                              error=ValueError("test: unreadable page"), attempts=1)


def _audit(action: str | None = None) -> list:
    from shared.store import session_scope
    from shared.store.models import AuditLog

    with session_scope() as session:
        query = select(AuditLog).order_by(AuditLog.id)
        if action:
            query = query.where(AuditLog.action == action)
        return [(a.actor, a.role, a.action, a.subject, a.result) for a in session.execute(query).scalars()]


def test_tokens_are_stored_hashed_and_revocable(console_env) -> None:  # noqa: ANN001
    from services.api.console.access import create_token, hash_token, principal_for_token, revoke_token
    from shared.store import session_scope
    from shared.store.models import ApiToken

    token, row = create_token("read-only", "hash check")
    assert token.startswith("nw_") and len(token) >= 40
    with session_scope() as session:
        stored = session.get(ApiToken, row.id)
        assert stored.token_hash == hash_token(token)
        assert token not in (stored.token_hash, stored.prefix, stored.name)
    assert principal_for_token(token).role == "read-only"
    assert principal_for_token(token + "x") is None
    revoke_token(str(row.id))
    assert principal_for_token(token) is None


def test_no_token_no_access_except_probes_feeds_and_metrics(client) -> None:  # noqa: ANN001
    page = client.get("/console")
    assert page.status_code == 303 and page.headers["location"].startswith("/console/login")
    assert client.get("/console/hooks").status_code == 303
    assert client.get("/console/api/overview").status_code == 401
    assert client.get("/audit-log").status_code == 401
    assert client.get("/console/api/overview", headers=bearer("nw_not-a-token")).status_code == 401
    assert client.post("/console/api/dead-letters/replay", json={"ids": [1]}).status_code == 401
    # Issue 6: no token, no access, except /healthz, the public feeds and (by default) /metrics.
    for path in ("/articles", "/sources", "/targets", "/deliveries", "/dead-letters", "/openapi.json", "/docs",
                 "/no-such-path"):
        refused = client.get(path)
        assert refused.status_code == 401, (path, refused.status_code)
        assert refused.headers["www-authenticate"] == "Bearer"
    assert client.post("/ingest", json={"url": "https://example.com/a"}).status_code == 401
    assert client.get("/metrics").status_code == 200
    assert client.get("/livez").status_code == 200
    assert client.get("/feeds/all.json").status_code == 200


def test_read_only_reads_but_cannot_act_and_the_refusal_is_audited(client, tokens, letter) -> None:  # noqa: ANN001
    viewer = bearer(tokens["read-only"])
    assert client.get("/console/api/overview", headers=viewer).status_code == 200
    listed = client.get("/console/api/dead-letters", params={"stage": "clean"}, headers=viewer).json()
    assert letter in [item["id"] for item in listed["items"]]
    for verb in ("replay", "discard"):
        refused = client.post(f"/console/api/dead-letters/{verb}", json={"ids": [letter]}, headers=viewer)
        assert refused.status_code == 403, refused.text
        assert "read-only" in refused.json()["detail"]
    assert client.post("/console/api/sources/1/pause", json={}, headers=viewer).status_code == 403
    assert client.get(f"/console/api/dead-letters/{letter}", headers=viewer).json()["status"] == "open"
    denied = [entry for entry in _audit("dead_letter.discard") if entry[0].startswith("test viewer")]
    assert denied and denied[-1][4] == "denied" and denied[-1][1] == "read-only"
    assert denied[-1][3] == f"dead letters {letter}"  # what was attempted is recorded with the refusal
    # The audit log is readable through the API, by any token.
    entries = client.get("/audit-log", params={"action": "dead_letter.replay"}, headers=viewer).json()["items"]
    assert any(e["result"] == "denied" and e["actor"].startswith("test viewer") for e in entries)


def test_read_only_pages_have_no_action_buttons(client, tokens, letter) -> None:  # noqa: ANN001
    viewer, operator = bearer(tokens["read-only"]), bearer(tokens["operator"])
    for path in ("/console/dead-letters?stage=clean", f"/console/dead-letters/{letter}"):
        seen = client.get(path, headers=viewer)
        assert seen.status_code == 200
        assert f"#{letter}" in seen.text
        assert "Replay" not in seen.text and "Discard" not in seen.text
        acting = client.get(path, headers=operator)
        assert "Replay" in acting.text and "Discard" in acting.text


def test_operator_discards_and_replays_with_audit(client, tokens, letter) -> None:  # noqa: ANN001
    operator = bearer(tokens["operator"])
    done = client.post("/console/api/dead-letters/discard", json={"ids": [letter]}, headers=operator)
    assert done.status_code == 200, done.text
    assert done.json()["done"] == [letter]
    again = client.post("/console/api/dead-letters/discard", json={"ids": [letter]}, headers=operator)
    assert again.status_code == 409 and str(letter) in again.json()["failed"]
    assert client.get(f"/console/api/dead-letters/{letter}", headers=operator).json()["status"] == "discarded"
    entries = _audit("dead_letter.discard")
    assert entries[-2][0].startswith("test operator") and entries[-2][4] == "ok" and str(letter) in entries[-2][3]
    assert entries[-1][4] == "error"


def test_replay_by_filter_sends_each_payload_to_its_task(client, tokens, console_env) -> None:  # noqa: ANN001
    """Replay of a filtered range: the stored payloads go back to their task, as its argument, on its queue."""
    import uuid

    from celery.signals import before_task_publish

    from shared.store.dead_letters import record_dead_letter

    marker = uuid.uuid4().hex
    ids = [record_dead_letter(stage="enrich", task="enrich.process",
                              payload={"url": f"http://127.0.0.1:9/{marker}/{n}", "n": n},
                              error=RuntimeError(f"boom {marker}"), attempts=3) for n in range(3)]
    sent: list[tuple] = []

    def observe(sender=None, body=None, routing_key=None, headers=None, **_kw):  # noqa: ANN001, ANN202
        sent.append((sender, body[0], routing_key, headers))  # the dict itself: stamped by every receiver

    before_task_publish.connect(observe, weak=False)
    try:
        answer = client.post("/console/api/dead-letters/replay", headers=bearer(tokens["operator"]),
                             json={"filter": {"stage": "enrich", "error": marker, "from_id": ids[1]}})
    finally:
        before_task_publish.disconnect(observe)
    assert answer.status_code == 200, answer.text
    assert sorted(answer.json()["done"]) == ids[1:]
    assert [(task, queue) for task, _args, queue, _h in sent] == [("enrich.process", "enrich")] * 2
    assert sorted(args[0]["n"] for _task, args, _q, _h in sent) == [1, 2]
    assert all("newswire_enqueued_at" in headers for *_rest, headers in sent)
    operator = bearer(tokens["operator"])
    assert client.get(f"/console/api/dead-letters/{ids[0]}", headers=operator).json()["status"] == "open"
    assert client.get(f"/console/api/dead-letters/{ids[1]}", headers=operator).json()["status"] == "replayed"


def test_cookie_login_and_csrf_proof(client, tokens, letter) -> None:  # noqa: ANN001
    bad = client.post("/console/login", data={"token": "nw_wrong", "next": "/console"})
    assert bad.status_code == 303 and "error=invalid" in bad.headers["location"]
    good = client.post("/console/login", data={"token": tokens["operator"], "next": "/console/dead-letters"})
    assert good.status_code == 303 and good.headers["location"] == "/console/dead-letters"
    cookie = good.cookies.get("newswire_token")
    assert cookie == tokens["operator"]
    assert "httponly" in good.headers["set-cookie"].lower() and "samesite=strict" in good.headers["set-cookie"].lower()
    jar = {"newswire_token": cookie}
    assert client.get("/console", cookies=jar).status_code == 200
    # An action through the cookie alone (what a forged cross-site form would send) is refused...
    forged = client.post("/console/api/dead-letters/discard", data={"ids": str(letter)}, cookies=jar)
    assert forged.status_code == 403
    # ...and accepted with the console's header, or with the form's csrf field.
    from services.api.console.access import csrf_for, hash_token

    form = client.post("/console/api/dead-letters/discard", cookies=jar,
                       data={"ids": str(letter), "csrf": csrf_for(hash_token(cookie)), "back": "/console/dead-letters"})
    assert form.status_code == 303 and "notice=" in form.headers["location"]
    assert client.get(f"/console/api/dead-letters/{letter}", cookies=jar).json()["status"] == "discarded"


def test_every_page_renders(client, tokens, letter) -> None:  # noqa: ANN001
    viewer = bearer(tokens["read-only"])
    for path in ("/console", "/console?hours=24", "/console/sources", "/console/targets", "/console/dead-letters",
                 "/console/stories?q=nothing-like-this", "/console/audit", f"/console/dead-letters/{letter}",
                 "/console/hooks", "/console/hooks?status=failed&verdict=refused&hook=x"):
        page = client.get(path, headers=viewer)
        assert page.status_code == 200, (path, page.text[:500])
        assert "<main" in page.text
    assert "No article has" in client.get("/console/stories?q=nothing-like-this", headers=viewer).text
    assert client.get("/console/static/console.js").status_code == 200
    assert client.get("/console/static/nope.js").status_code == 404


def test_cli_token_create_prints_the_token_once(console_env, tmp_path) -> None:  # noqa: ANN001
    import os

    env = {**os.environ, **console_env}
    made = subprocess.run([sys.executable, "-m", "newswire.cli", "token", "create", "--role", "operator", "--name",
                           "cli-made"], env=env, capture_output=True, text=True, timeout=60)
    assert made.returncode == 0, made.stderr
    token = made.stdout.strip()
    assert token.startswith("nw_") and "\n" not in token
    listed = subprocess.run([sys.executable, "-m", "newswire.cli", "token", "list", "--json"], env=env,
                            capture_output=True, text=True, timeout=60)
    assert token not in listed.stdout and "cli-made" in listed.stdout
    wrong = subprocess.run([sys.executable, "-m", "newswire.cli", "token", "create", "--role", "admin"], env=env,
                           capture_output=True, text=True, timeout=60)
    assert wrong.returncode == 2
    revoked = subprocess.run([sys.executable, "-m", "newswire.cli", "token", "revoke", "cli-made"], env=env,
                             capture_output=True, text=True, timeout=60)
    assert revoked.returncode == 0, revoked.stderr
    from services.api.console.access import principal_for_token

    assert principal_for_token(token) is None


def test_sources_panel_and_actions(client, tokens, console_env) -> None:  # noqa: ANN001
    import uuid

    from celery.signals import before_task_publish

    from shared.store import Source, session_scope

    url = f"http://127.0.0.1:9/feed-{uuid.uuid4().hex[:8]}.xml"
    with session_scope() as session:
        source = Source(kind="feed", url=url, title="Test feed", status="active", interval_seconds=900,
                        error_streak=4, last_error="HTTP 500")
        session.add(source)
        session.flush()
        source_id = source.id
    viewer, operator = bearer(tokens["read-only"]), bearer(tokens["operator"])
    listed = client.get("/console/api/sources", params={"q": url}, headers=viewer).json()["items"]
    assert [(s["id"], s["health"], s["error_streak"]) for s in listed] == [(source_id, "failing", 4)]
    page = client.get("/console/sources", params={"q": url}, headers=viewer).text
    assert "HTTP 500" in page and "Fetch now" not in page
    assert "Fetch now" in client.get("/console/sources", params={"q": url}, headers=operator).text
    assert client.post(f"/console/api/sources/{source_id}/pause", headers=operator, json={}).json()["status"] == "paused"
    assert client.get("/console/api/sources", params={"q": url}, headers=viewer).json()["items"][0]["health"] == "paused"
    from services.ingest import scheduling

    assert scheduling.next_due(source_id) is None  # the console pauses the way ingest does: off the due set
    assert client.post(f"/console/api/sources/{source_id}/resume", headers=operator, json={}).json()["status"] == "active"
    assert scheduling.next_due(source_id) is not None
    sent: list = []

    def observe(sender=None, body=None, **_kw):  # noqa: ANN001, ANN202
        sent.append((sender, body[0][0]))

    before_task_publish.connect(observe, weak=False)
    try:
        fetched = client.post(f"/console/api/sources/{source_id}/fetch", headers=operator, json={})
    finally:
        before_task_publish.disconnect(observe)
    assert fetched.status_code == 200, fetched.text
    assert sent == [("ingest.fetch", sent[0][1])]
    assert sent[0][1]["source_id"] == source_id and sent[0][1]["source_poll"] is True
    assert client.post("/console/api/sources/999999/pause", headers=operator, json={}).status_code == 404
    actions = [(a[2], a[4]) for a in _audit() if a[3] == f"source {source_id}" and a[0].startswith("test operator")]
    assert actions == [("source.pause", "ok"), ("source.resume", "ok"), ("source.fetch", "ok")]


def test_hooks_page_shows_hooks_jobs_and_calls_without_secrets(client, tokens) -> None:  # noqa: ANN001
    import uuid

    from services.hooks import config as hook_config, jobs
    from shared.store import session_scope

    name = f"console-{uuid.uuid4().hex[:8]}"
    created = hook_config.add_hook(name, ["retract"], actor="tests")
    refused = client.post(f"/hooks/{name}", content=b'{"action": "retract"}',
                          headers={"content-type": "application/json"})  # unsigned: refused and recorded
    assert refused.status_code in (400, 401), refused.text
    with session_scope() as session:
        job_id = jobs.create(session, "retract", {"article_id": "none"}, hook=name, actor="tests").id
    assert jobs.run(job_id)["status"] == "failed"
    viewer = bearer(tokens["read-only"])
    page = client.get("/console/hooks", params={"hook": name}, headers=viewer)
    assert page.status_code == 200, page.text[:500]
    html = page.text
    assert f'data-hook="{name}"' in html and created.hook["signing_keys"][0]["fingerprint"] in html
    assert created.secret not in html and created.secret.removeprefix("whsec_") not in html
    assert f'data-job="{job_id}"' in html and "no article" in html
    assert "refused" in html and 'class="verdict-refused"' in html
    only_accepted = client.get("/console/hooks", params={"hook": name, "verdict": "accepted"}, headers=viewer).text
    assert 'class="verdict-refused"' not in only_accepted
