"""No token, no access (but the allow-list); a read-only token sees every GET and acts on nothing; configured secrets
appear in no answer, even where stored text holds them (a receiver echoing a credential, an error quoting it)."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest

from tests.api.conftest import HEADER_TOKEN, PUSH_TOKEN, SECRETS, WEBHOOK_SECRET, WORDPRESS_PASSWORD, bearer


@pytest.fixture(scope="module")
def stored(api_env) -> dict[str, Any]:  # noqa: ANN001
    """An article routed to both targets, a delivery whose error and attempt log quote secrets, a dead letter whose
    error and payload hold them, a source: one of everything a GET can show."""
    from services.publish import engine
    from services.publish.targets import configured_targets
    from shared.store import Delivery, DeliveryAttempt, Source, session_scope
    from shared.store.dead_letters import record_dead_letter
    from tests.publish.conftest import make_article

    article_id, version_id = make_article(title=f"Secrets test {uuid.uuid4().hex[:6]}")
    engine.plan(version_id, configured_targets())
    with session_scope() as session:
        delivery = session.query(Delivery).filter(Delivery.version_id == version_id,
                                                   Delivery.target == "api-hook").one()
        delivery.status, delivery.attempts, delivery.last_status_code = "failed", 1, 401
        delivery.last_error = f"401: receiver said 'bad Authorization: Bearer {HEADER_TOKEN}'"
        session.add(DeliveryAttempt(delivery_id=delivery.id, attempt=1, status_code=401, worker="test",
                                    error=f"refused with secret {WEBHOOK_SECRET}",
                                    response_excerpt=f'{{"echo": "{WORDPRESS_PASSWORD}", "push": "{PUSH_TOKEN}"}}'))
        source = Source(kind="feed", url=f"http://127.0.0.1:9/secret-{uuid.uuid4().hex[:8]}.xml", status="active",
                        last_error=f"HTTP 403 with token {PUSH_TOKEN}")
        session.add(source)
        session.flush()
        delivery_id, source_id = delivery.id, source.id
    letter = record_dead_letter(stage="publish", task="publish.deliver",
                                payload={"delivery_id": delivery_id, "target": "api-hook",
                                         "headers": {"Authorization": f"Bearer {HEADER_TOKEN}"}},
                                error=ValueError(f"WordPress refused password {WORDPRESS_PASSWORD}"), attempts=4)
    return {"article_id": article_id, "letter_id": letter, "source_id": source_id, "delivery_id": delivery_id}


def _paths(client, token: str, stored: dict[str, Any]) -> list[str]:  # noqa: ANN001
    """Every GET path of the spec with its parameters filled in, and the console pages."""
    spec = client.get("/openapi.json", headers=bearer(token)).json()
    values = {"article_id": stored["article_id"], "letter_id": str(stored["letter_id"]), "name": "api-hook",
              "source_id": str(stored["source_id"]), "fetch_id": "none", "channel": "all", "fmt": "json",
              "stage": "publish", "hook": "none", "job_id": "none", "id": "1"}
    paths = []
    for path, operations in spec["paths"].items():
        if "get" not in operations:
            continue
        paths.append(re.sub(r"{(\w+)}", lambda m: values.get(m.group(1), "1"), path))  # unknown: a 404 at worst
    paths += ["/openapi.json", "/docs", "/console", "/console/targets", "/console/dead-letters",
              f"/console/dead-letters/{stored['letter_id']}", f"/console/stories/{stored['article_id']}",
              "/console/sources", "/console/audit", f"/articles?q={stored['article_id'][:8]}",
              f"/deliveries?article_id={stored['article_id']}", "/dead-letters?stage=publish"]
    return paths


def test_every_get_with_a_read_only_token_shows_no_secret(client, tokens, stored) -> None:  # noqa: ANN001
    viewer = tokens["read-only"]
    seen_statuses: dict[str, int] = {}
    for path in _paths(client, viewer, stored):
        answer = client.get(path, headers=bearer(viewer))
        seen_statuses[path] = answer.status_code
        probe = path in ("/healthz", "/readyz")  # 503 when no worker runs: their meaning, not a fault
        assert answer.status_code < 500 or probe, (path, answer.status_code, answer.text[:300])
        for secret in SECRETS:
            assert secret not in answer.text, f"{path} shows a configured secret"
    # The walk reached the views that hold the secrets, and they answered.
    for path in ("/targets", f"/articles/{stored['article_id']}", f"/articles/{stored['article_id']}/explain",
                 "/deliveries", f"/dead-letters/{stored['letter_id']}", f"/sources/{stored['source_id']}"):
        assert seen_statuses.get(path) == 200, (path, seen_statuses.get(path))
    detail = client.get(f"/articles/{stored['article_id']}", headers=bearer(viewer)).json()
    attempts = [a for v in detail["versions"] for d in v["deliveries"] for a in d["attempt_log"]]
    assert any("[redacted]" in (a["error"] or "") and "[redacted]" in (a["response_excerpt"] or "")
               for a in attempts)
    letter = client.get(f"/dead-letters/{stored['letter_id']}", headers=bearer(viewer)).json()
    assert letter["payload"]["headers"]["Authorization"] == "[redacted]" and "[redacted]" in letter["error"]
    assert {t["name"] for t in client.get("/targets", headers=bearer(viewer)).json()["items"]} >= {"api-hook",
                                                                                                     "api-wp"}


def test_secrets_never_reach_a_log_line(api_env, caplog) -> None:  # noqa: ANN001
    import logging

    from shared.redact import RedactingFilter

    record = logging.LogRecord("x", logging.WARNING, __file__, 1, "delivery failed: %s", (f"key {WEBHOOK_SECRET}",),
                               None)
    assert RedactingFilter().filter(record)
    assert WEBHOOK_SECRET not in record.getMessage() and "[redacted]" in record.getMessage()


def test_no_token_no_access_but_the_allow_list(client, stored) -> None:  # noqa: ANN001
    for path in ("/articles", "/targets", "/deliveries", "/dead-letters", "/stages", "/sources", "/audit-log",
                 f"/articles/{stored['article_id']}", "/openapi.json", "/docs", "/redoc", "/nope"):
        assert client.get(path).status_code == 401, path
        assert client.get(path, headers=bearer("nw_revoked-or-made-up")).status_code == 401, path
    assert client.post("/stages/clean/pause").status_code == 401
    assert client.post("/dead-letters/replay", json={"ids": [1]}).status_code == 401
    # Open: probes, public feeds, the console's sign-in and static files, signed callbacks (they answer on their own
    # terms, never 401 for want of a token), metrics by default.
    for path in ("/livez", "/feeds/all.json", "/console/login", "/console/static/console.css", "/metrics"):
        assert client.get(path).status_code == 200, path
    assert client.get("/healthz").status_code in (200, 503)
    assert client.get("/console").status_code == 303
    assert client.post(f"/sources/{stored['source_id']}/push", content=b"<rss/>").status_code == 401  # its own check
    # The push token passes (the handler's check), then the unknown source answers 404: nothing is queued.
    pushed = client.post("/sources/999999999/push?url=http://127.0.0.1:9/x.html", content=b"<p>x</p>",
                         headers={"Authorization": f"Bearer {PUSH_TOKEN}", "content-type": "text/html"})
    assert pushed.status_code == 404, pushed.text
    assert client.post(f"/websub/{stored['source_id']}", content=b"<feed/>").status_code == 202  # ignored, unsigned


def test_read_only_token_cannot_act_anywhere(client, tokens, stored) -> None:  # noqa: ANN001
    """Every non-GET operation of the spec, with a read-only token and a well-formed body: refused, audited."""
    from sqlalchemy import select

    from shared.store import session_scope
    from shared.store.models import AuditLog

    viewer = bearer(tokens["read-only"])
    spec = client.get("/openapi.json", headers=viewer).json()
    values = {"article_id": stored["article_id"], "letter_id": str(stored["letter_id"]), "name": "api-hook",
              "source_id": str(stored["source_id"]), "stage": "enrich", "verb": "pause", "hook": "none"}
    bodies = {"/ingest": {"url": "http://127.0.0.1:9/a.html"}, "/sources": {"url": "http://127.0.0.1:9/f.xml"},
              "/dead-letters/replay": {"ids": [stored["letter_id"]]},
              "/dead-letters/discard": {"ids": [stored["letter_id"]]}, "/deliveries/replay": {"ids": [1]},
              "/console/api/dead-letters/replay": {"ids": [stored["letter_id"]]},
              "/console/api/dead-letters/discard": {"ids": [stored["letter_id"]]}}
    signed_elsewhere = {"/sources/{source_id}/push", "/hooks/{hook}"}
    with session_scope() as session:
        before = session.execute(select(AuditLog.id).order_by(AuditLog.id.desc()).limit(1)).scalar() or 0
    refused = []
    for path, operations in spec["paths"].items():
        for method in operations:
            if method == "get" or path in signed_elsewhere:
                continue
            url = re.sub(r"{(\w+)}", lambda m: values.get(m.group(1), "1"), path)
            answer = client.request(method.upper(), url, headers=viewer, json=bodies.get(path, {}))
            assert answer.status_code in (403, 404, 422), (method, path, answer.status_code, answer.text[:200])
            if answer.status_code == 403:
                refused.append((method, path))
    assert len(refused) >= 15, refused
    with session_scope() as session:
        denied = list(session.execute(select(AuditLog).where(AuditLog.id > before, AuditLog.result == "denied")
                                      ).scalars())
    assert len(denied) >= len(refused) and all(entry.role == "read-only" for entry in denied)
    assert client.get(f"/dead-letters/{stored['letter_id']}", headers=viewer).json()["status"] == "open"
