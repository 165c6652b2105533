"""Bad input ends as a dead letter with a readable reason, never a crash or a silent drop."""

from __future__ import annotations

import uuid

import httpx
import pytest

from conftest import wait_until

pytestmark = pytest.mark.pipeline


def _dead_letter_for(pipeline, url: str) -> dict:  # noqa: ANN001
    from shared.payload import article_id_for

    article_id = article_id_for(url)

    def check() -> dict | None:
        items = pipeline.client.get(f"{pipeline.api_url}/dead-letters", params={"article_id": article_id}).json()["items"]
        return items[0] if items else None

    return wait_until(check, timeout=40, message=f"dead letter for {url}")


def _submit(pipeline, url: str) -> None:  # noqa: ANN001
    response = pipeline.client.post(pipeline.api_url + "/ingest", json={"url": url}, timeout=10)
    assert response.status_code == 202, response.text


def test_404_is_a_dead_letter(pipeline, site) -> None:  # noqa: ANN001
    url = site.url(f"/missing/{uuid.uuid4().hex}.html")
    _submit(pipeline, url)
    letter = _dead_letter_for(pipeline, url)
    assert letter["stage"] == "ingest"
    assert "404" in letter["error"]
    assert letter["attempts"] == 1  # a 404 is not retried


def test_timeout_is_retried_then_a_dead_letter(pipeline, site) -> None:  # noqa: ANN001
    url = site.add(f"/slow/{uuid.uuid4().hex}.html", "<html><body><p>late</p></body></html>", delay=3)
    _submit(pipeline, url)
    letter = _dead_letter_for(pipeline, url)
    assert "timed out" in letter["error"]
    assert letter["attempts"] == 2  # NEWSWIRE_RETRY_MAX=1: the first try and one retry


def test_slow_drip_body_hits_the_total_timeout(pipeline, site) -> None:  # noqa: ANN001
    url = site.add(f"/drip/{uuid.uuid4().hex}.html", b"", drip=0.2)
    _submit(pipeline, url)
    letter = _dead_letter_for(pipeline, url)
    assert "total timeout" in letter["error"] or "timed out" in letter["error"]


def test_non_html_body_is_a_dead_letter(pipeline, site) -> None:  # noqa: ANN001
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 10
    url = site.add(f"/image/{uuid.uuid4().hex}.png", png, headers={"Content-Type": "image/png"})
    _submit(pipeline, url)
    letter = _dead_letter_for(pipeline, url)
    assert "image/png" in letter["error"]
    assert letter["attempts"] == 1


def test_body_over_the_size_limit_is_a_dead_letter(pipeline, site) -> None:  # noqa: ANN001
    big = b"<html><body>" + b"<p>words words words</p>" * 150_000 + b"</body></html>"  # ~3.6 MB > 2 MB
    url = site.add(f"/big/{uuid.uuid4().hex}.html", big)
    _submit(pipeline, url)
    letter = _dead_letter_for(pipeline, url)
    assert "exceeds the limit" in letter["error"]


def test_private_address_is_refused(pipeline, site) -> None:  # noqa: ANN001
    # 127.0.0.2 is loopback too, but outside the allowed 127.0.0.1/32: the guard refuses it before connecting.
    path = f"/private/{uuid.uuid4().hex}.html"
    site.add(path, "<html><body><p>secret</p></body></html>")
    url = site.url(path, host="127.0.0.2")
    _submit(pipeline, url)
    letter = _dead_letter_for(pipeline, url)
    assert "loopback" in letter["error"] and "NEWSWIRE_ALLOW_PRIVATE_NETWORKS" in letter["error"]
    assert site.routes[path].hits == 0


def test_page_without_an_article_is_a_dead_letter(pipeline, site) -> None:  # noqa: ANN001
    url = site.add(f"/empty/{uuid.uuid4().hex}.html", "<html><head><title>x</title></head><body></body></html>")
    _submit(pipeline, url)
    letter = _dead_letter_for(pipeline, url)
    assert letter["stage"] == "clean"
    assert "no article text" in letter["error"]


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"url": "not a url"},
        {"url": "ftp://example.com/x"},
        {"url": "file:///etc/passwd"},
        {"url": "https://example.com/", "html": ""},
        {"url": "https://example.com/", "extra": 1},
        {"url": 5},
        [],
        "junk",
    ],
)
def test_ingest_junk_answers_422(pipeline, body) -> None:  # noqa: ANN001
    response = pipeline.client.post(pipeline.api_url + "/ingest", json=body, timeout=10)
    assert response.status_code == 422
    assert response.json()["detail"] == "invalid request"


def test_ingest_non_json_answers_422(pipeline) -> None:  # noqa: ANN001
    response = pipeline.client.post(pipeline.api_url + "/ingest", content=b"\xff\xfe not json",
                          headers={"Content-Type": "application/json"}, timeout=10)
    assert response.status_code == 422


def test_unknown_article_is_404(pipeline) -> None:  # noqa: ANN001
    assert pipeline.client.get(f"{pipeline.api_url}/articles/{uuid.uuid4()}").status_code == 404


def test_healthz_names_every_stage(pipeline) -> None:  # noqa: ANN001
    response = httpx.get(pipeline.api_url + "/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["missing"] == []
    assert set(body["checks"]["workers"]) == {"ingest", "clean", "enrich", "publish"}


def test_a_message_that_breaks_the_task_itself_is_a_dead_letter(pipeline) -> None:  # noqa: ANN001
    from shared.celery_app import app as celery

    marker = uuid.uuid4().hex
    celery.send_task("enrich.process", args=[], kwargs={"unexpected": marker}, queue="enrich")

    def check() -> dict | None:
        items = pipeline.client.get(f"{pipeline.api_url}/dead-letters", params={"stage": "enrich"}).json()["items"]
        return next((item for item in items if item["payload"].get("kwargs", {}).get("unexpected") == marker), None)

    letter = wait_until(check, timeout=30, message="dead letter for a malformed message")
    assert letter["error_type"] == "TypeError"


def test_openapi_and_docs_are_served(pipeline) -> None:  # noqa: ANN001
    spec = pipeline.client.get(pipeline.api_url + "/openapi.json").json()
    assert {"/ingest", "/articles", "/articles/{article_id}", "/healthz", "/dead-letters"} <= set(spec["paths"])
    assert "requestBody" in spec["paths"]["/ingest"]["post"]
    assert pipeline.client.get(pipeline.api_url + "/docs").status_code == 200
