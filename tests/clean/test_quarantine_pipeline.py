"""Through the running pipeline: an article the quality verdict fails is a dead letter with its reasons."""

from __future__ import annotations

import uuid

import httpx
import pytest

from conftest import wait_until

pytestmark = pytest.mark.pipeline

SPAM_PAGE = (
    "<html><head><title>注册即送空投</title></head><body><div class='content'>"
    + "<p>欧易OKX交易所注册即送空投，币安Binance合约交易百倍杠杆，火币Huobi新用户返佣，币圈社群每日喊单，稳赚不赔。</p>" * 6
    + "</div></body></html>"
)


def test_a_spam_page_is_quarantined_not_published(pipeline, site) -> None:  # noqa: ANN001
    from shared.payload import article_id_for

    url = site.add(f"/spam/{uuid.uuid4().hex}.html", SPAM_PAGE)
    response = pipeline.client.post(pipeline.api_url + "/ingest", json={"url": url}, timeout=10)
    assert response.status_code == 202, response.text
    article_id = article_id_for(url)

    def letter() -> dict | None:
        items = pipeline.client.get(f"{pipeline.api_url}/dead-letters", params={"article_id": article_id}).json()["items"]
        return items[0] if items else None

    found = wait_until(letter, timeout=40, message=f"dead letter for {url}")
    assert found["stage"] == "clean"
    assert "quarantined" in found["error"] and "spam markers" in found["error"]
    assert pipeline.client.get(f"{pipeline.api_url}/articles/{article_id}").status_code == 404
