"""The REST resources: cursor paging on every list, dead letters (list, show, replay, discard, one or in bulk),
stages (pause, resume), every action audited; and the CLI's dlq and stages commands doing the same."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid

from sqlalchemy import select

from tests.api.conftest import bearer


def _letters(marker: str, count: int, stage: str = "clean") -> list[int]:
    from shared.store.dead_letters import record_dead_letter

    return [record_dead_letter(stage=stage, task="test.nothing", payload={"url": f"http://127.0.0.1:9/{marker}/{n}"},
                               error=RuntimeError(f"{marker} failure {n}"), attempts=2) for n in range(count)]


def _audit(action: str) -> list[tuple]:
    from shared.store import session_scope
    from shared.store.models import AuditLog

    with session_scope() as session:
        return [(a.actor, a.role, a.subject, a.result, a.detail) for a in session.execute(
            select(AuditLog).where(AuditLog.action == action).order_by(AuditLog.id)).scalars()]


def _walk(client, path: str, headers: dict, **params) -> list[list]:  # noqa: ANN001, ANN003
    """Every page of a list, following next_cursor."""
    pages, cursor = [], None
    while True:
        answer = client.get(path, params={**params, **({"cursor": cursor} if cursor else {})}, headers=headers)
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert "next_cursor" in body
        pages.append(body["items"])
        cursor = body["next_cursor"]
        if cursor is None:
            return pages
        assert len(pages) < 50


def test_cursor_paging_is_the_same_everywhere(client, tokens) -> None:  # noqa: ANN001
    from services.publish import engine
    from services.publish.targets import configured_targets
    from shared.store import Source, session_scope
    from tests.publish.conftest import make_article

    viewer = bearer(tokens["read-only"])
    marker = uuid.uuid4().hex[:10]
    letters = _letters(marker, 5)
    pages = _walk(client, "/dead-letters", viewer, error=marker, limit=2)
    assert [len(p) for p in pages] == [2, 2, 1]
    assert [item["id"] for page in pages for item in page] == sorted(letters, reverse=True)

    with session_scope() as session:
        for n in range(3):
            session.add(Source(kind="feed", url=f"http://127.0.0.1:9/{marker}-{n}.xml", status="active"))
    pages = _walk(client, "/sources", viewer, q=marker, limit=2)
    assert [len(p) for p in pages] == [2, 1] and len({s["id"] for p in pages for s in p}) == 3

    article_ids = [make_article(title=f"{marker} story {n}")[0] for n in range(3)]
    pages = _walk(client, "/articles", viewer, q=marker, limit=2)
    assert sorted(a["id"] for p in pages for a in p) == sorted(article_ids) and len(pages) == 2

    article_id, version_id = make_article(title=f"{marker} routed")
    engine.plan(version_id, configured_targets())
    pages = _walk(client, "/deliveries", viewer, article_id=article_id, limit=1)
    assert sorted(d["target"] for p in pages for d in p) == ["api-hook", "api-wp"] and len(pages) == 2
    assert all(d["article_id"] == article_id for p in pages for d in p)

    for path in ("/dead-letters", "/sources", "/articles", "/deliveries"):
        assert client.get(path, params={"cursor": "not-a-cursor"}, headers=viewer).status_code == 400, path
    assert client.get("/targets", headers=viewer).json()["next_cursor"] is None


def test_article_links_its_routing_decisions(client, tokens) -> None:  # noqa: ANN001
    from services.publish import engine
    from services.publish.targets import configured_targets
    from tests.publish.conftest import make_article

    viewer = bearer(tokens["read-only"])
    article_id, version_id = make_article()
    engine.plan(version_id, configured_targets())
    detail = client.get(f"/articles/{article_id}", headers=viewer).json()
    assert {r["target"] for r in detail["versions"][0]["routing"]} == {"api-hook", "api-wp"}
    assert client.get(detail["links"]["explain"], headers=viewer).status_code == 200
    assert len(client.get(detail["links"]["deliveries"], headers=viewer).json()["items"]) == 2


def test_dead_letters_show_replay_discard_audited(client, tokens) -> None:  # noqa: ANN001
    operator, viewer = bearer(tokens["operator"]), bearer(tokens["read-only"])
    marker = uuid.uuid4().hex[:10]
    first, second, third, fourth = _letters(marker, 4)
    shown = client.get(f"/dead-letters/{first}", headers=viewer).json()
    assert shown["payload"] == {"url": f"http://127.0.0.1:9/{marker}/0"} and marker in shown["error"]
    assert shown["status"] == "open" and shown["attempts"] == 2
    assert client.get("/dead-letters/999999999", headers=viewer).status_code == 404

    done = client.post(f"/dead-letters/{first}/discard", headers=operator)
    assert done.status_code == 200 and done.json()["done"] == [first]
    again = client.post(f"/dead-letters/{first}/discard", headers=operator)
    assert again.status_code == 409 and str(first) in again.json()["failed"]
    assert client.post("/dead-letters/999999999/replay", headers=operator).status_code == 404

    replayed = client.post(f"/dead-letters/{second}/replay", headers=operator)
    assert replayed.status_code == 200 and replayed.json()["done"] == [second]
    # Bulk, by filter: the open ones matching (third and fourth), not the discarded or replayed ones.
    bulk = client.post("/dead-letters/replay", json={"filter": {"error": marker, "stage": "clean"}}, headers=operator)
    assert bulk.status_code == 200 and sorted(bulk.json()["done"]) == [third, fourth]
    statuses = {item["id"]: item["status"] for item in client.get(
        "/dead-letters", params={"error": marker}, headers=viewer).json()["items"]}
    assert statuses == {first: "discarded", second: "replayed", third: "replayed", fourth: "replayed"}
    assert client.post("/dead-letters/discard", json={"ids": [1], "filter": {"stage": "clean"}},
                       headers=operator).status_code == 422
    nothing = client.post("/dead-letters/discard", json={"filter": {"error": marker}}, headers=operator)
    assert nothing.status_code == 422  # every matching letter is closed now

    entries = _audit("dead_letter.replay")
    assert any(a[0].startswith("test operator") and a[3] == "ok" and a[2] == f"dead letters {second}"
               for a in entries)
    assert any(a[3] == "ok" and marker in (a[2] or "") and sorted(a[4]["done"]) == [third, fourth] for a in entries)
    assert [a[3] for a in _audit("dead_letter.discard") if a[2] == f"dead letters {first}"][-2:] == ["ok", "error"]


def test_stages_pause_and_resume_through_the_api(client, tokens) -> None:  # noqa: ANN001
    from shared import stage_control

    operator, viewer = bearer(tokens["operator"]), bearer(tokens["read-only"])
    listed = client.get("/stages", headers=viewer).json()["items"]
    assert [s["stage"] for s in listed] == ["ingest", "clean", "enrich", "publish"]
    assert client.post("/stages/clean/pause", headers=viewer).status_code == 403
    assert client.post("/stages/nope/pause", headers=operator).status_code == 422
    try:
        paused = client.post("/stages/clean/pause", json={"reason": "maintenance"}, headers=operator)
        assert paused.status_code == 200, paused.text
        assert paused.json()["paused"] and paused.json()["paused_by"].startswith("test operator")
        shown = {s["stage"]: s for s in client.get("/stages", headers=viewer).json()["items"]}
        assert shown["clean"]["paused"] and shown["clean"]["reason"] == "maintenance"
        assert not shown["enrich"]["paused"]
        assert stage_control.is_paused("clean") or stage_control.paused_stages().get("clean")
    finally:
        resumed = client.post("/stages/clean/resume", headers=operator)
    assert resumed.status_code == 200 and not resumed.json()["paused"]
    assert "clean" not in stage_control.paused_stages()
    assert [a[3] for a in _audit("stage.pause") if a[2] == "clean"][-1] == "ok"
    assert [a[1] for a in _audit("stage.pause") if a[2] == "clean"][-2:] == ["read-only", "operator"]


def test_cli_dlq_and_stages(api_env) -> None:  # noqa: ANN001
    """Six commands (each a process start: kept few)."""
    import os

    env = {k: v for k, v in os.environ.items()}
    marker = uuid.uuid4().hex[:10]
    letters = _letters(marker, 3, stage="enrich")

    def newswire(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "newswire.cli", *args], env=env, capture_output=True,
                              text=True, timeout=120)

    listed = newswire("dlq", "list", "--error", marker, "--json")
    assert listed.returncode == 0, listed.stderr
    assert sorted(item["id"] for item in json.loads(listed.stdout)["items"]) == letters
    one = newswire("dlq", "discard", str(letters[0]), "--json")
    assert one.returncode == 0 and json.loads(one.stdout)["done"] == [letters[0]]
    rest = newswire("dlq", "replay", "--error", marker, "--stage", "enrich", "--json")
    assert rest.returncode == 0, rest.stderr
    assert sorted(json.loads(rest.stdout)["done"]) == letters[1:]
    entries = [a for a in _audit("dead_letter.replay") if marker in (a[2] or "")]
    assert entries[-1][0].startswith("cli (") and entries[-1][1] == "cli" and entries[-1][3] == "ok"

    paused = newswire("stages", "pause", "ingest", "--reason", "cli test")
    try:
        assert paused.returncode == 0, paused.stderr
        stages = {s["stage"]: s for s in json.loads(newswire("stages", "list", "--json").stdout)}
        assert stages["ingest"]["paused"] and stages["ingest"]["paused_by"].startswith("cli (")
    finally:
        resumed = newswire("stages", "resume", "ingest")
    assert resumed.returncode == 0, resumed.stderr
    assert [a[0][:5] for a in _audit("stage.resume") if a[2] == "ingest"][-1] == "cli ("


def test_every_action_leaves_an_audit_entry(client, tokens) -> None:  # noqa: ANN001
    """An action the handler did not audit itself (refused by validation before it ran, say) is audited by the gate
    with its HTTP status; one it audited is not written twice."""
    operator = bearer(tokens["operator"])
    assert client.post("/sources", json={"no": "url"}, headers=operator).status_code == 422
    entry = _audit("POST /sources")[-1]
    assert entry[0].startswith("test operator") and entry[3] == "error" and entry[2] == "/sources"
    before = len(_audit("stage.resume"))
    assert client.post("/stages/publish/resume", headers=operator).status_code == 200
    assert len(_audit("stage.resume")) == before + 1 and not _audit("POST /stages/{stage}/resume")


def test_api_added_local_sources_only_inside_the_allowed_folders(client, tokens, tmp_path) -> None:  # noqa: ANN001
    """An API token must not turn Newswire into a reader of the host's files; the CLI on the host may."""
    from newswire.embedded import override_environment
    from services.ingest import sources

    allowed = tmp_path / "allowed"
    allowed.mkdir()
    feed = allowed / "feed.xml"
    feed.write_text("<rss version='2.0'><channel><title>t</title></channel></rss>")
    outside = tmp_path / "outside.xml"
    outside.write_text(feed.read_text())
    operator = bearer(tokens["operator"])
    with override_environment({"NEWSWIRE_INGEST_LOCAL_ROOTS": str(allowed), "NEWSWIRE_INGEST_DROP_DIR": None}):
        for url in ("/etc/passwd", "file:///etc/hostname", str(outside), f"{allowed}/../outside.xml"):
            refused = client.post("/sources", json={"url": url}, headers=operator)
            assert refused.status_code == 403 and "NEWSWIRE_INGEST_LOCAL_ROOTS" in refused.json()["detail"], url
        opml = (f'<opml version="2.0"><body><outline type="rss" text="x" xmlUrl="file://{outside}"/>'
                '</body></opml>').encode()
        imported = client.post("/sources/import", content=opml, headers={**operator, "content-type": "text/x-opml"})
        assert imported.status_code == 200 and imported.json()["failed"] and not imported.json()["added"]
        added = client.post("/sources", json={"url": f"file://{feed}"}, headers=operator)
        assert added.status_code == 201, added.text
        assert client.delete(f"/sources/{added.json()['id']}", headers=operator).status_code in (200, 204)
        # The CLI's path (a person on the host) is not limited.
        made = sources.add(str(outside), kind="file")
        sources.remove(made["id"])
