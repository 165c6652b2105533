"""Publish tests: the session's real Redis and database in this process, local receivers, stored articles."""

from __future__ import annotations

import base64
import os
import uuid
from datetime import datetime, timezone
from typing import Any, Iterator

import pytest

from tests.publish.receivers import Receiver

SECRET_A = "whsec_" + base64.b64encode(b"publish-test-secret-A-0123456789").decode()
SECRET_B = "whsec_" + base64.b64encode(b"publish-test-secret-B-0123456789").decode()

ENV = {
    "NEWSWIRE_ALLOW_PRIVATE_NETWORKS": "127.0.0.1/32",
    "NEWSWIRE_HTTP_CONNECT_TIMEOUT": "2",
    "NEWSWIRE_HTTP_READ_TIMEOUT": "2",
    "NEWSWIRE_DELIVERY_SCHEDULE": "0,0.2,0.4,0.8",
    "NEWSWIRE_DELIVERY_MAX_ATTEMPTS": "4",
    "NEWSWIRE_BREAKER_THRESHOLD": "3",
    "NEWSWIRE_BREAKER_COOLDOWN": "0.5",
    "NEWSWIRE_WEBHOOK_URL": None,
    "NEWSWIRE_TARGETS_FILE": None,
}


@pytest.fixture(scope="session")
def publish_env(redis_url, database_url, tmp_path_factory) -> Iterator[dict[str, Any]]:  # noqa: ANN001
    from newswire.embedded import override_environment
    from shared.store import upgrade_schema

    upgrade_schema(database_url)
    values = {"REDIS_URL": redis_url, "DATABASE_URL": database_url,
              "NEWSWIRE_DATA_DIR": str(tmp_path_factory.mktemp("publish")), **ENV}
    with override_environment(values):
        yield values


@pytest.fixture(scope="session")
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.close()


def make_article(*, version: int = 1, title: str = "焦作市文明创建工作推进会召开", language: str = "zh",
                 keywords: list[str] | None = None, topics: list[dict] | None = None, article_id: str | None = None,
                 url: str | None = None, text: str | None = None, quality: float | None = 0.9) -> tuple[str, int]:
    """Store an article version as the clean and enrich stages would have (status published);
    returns (article id, version row id)."""
    from shared.store import Article, ArticleVersion, session_scope

    article_id = article_id or str(uuid.uuid4())
    now = datetime.now(timezone.utc)
    body = text or f"第{version}版。焦作市召开文明城市创建工作推进会。\n会议要求各单位落实责任。"
    with session_scope() as session:
        article = session.get(Article, article_id)
        if article is None:
            article = Article(id=article_id, url=url or f"https://news.example.cn/{article_id}.html", title=title,
                              latest_version=0, created_at=now, updated_at=now)
            session.add(article)
        article.latest_version = version
        row = ArticleVersion(
            article_id=article_id, version=version, content_hash=uuid.uuid4().hex + uuid.uuid4().hex,
            fetch_id=uuid.uuid4().hex, status="published", published_at=now, created_at=now,
            clean={"title": title, "text": body, "html": "".join(f"<p>{p}</p>" for p in body.split("\n")),
                   "authors": ["李明"], "published": "2024-05-01T08:00:00+08:00", "site_name": "大河网",
                   "source_name": "大河网", "quality": {"score": quality} if quality is not None else None,
                   "lead_image": "https://news.example.cn/a.jpg"},
            enrich={"language": language, "keywords": keywords or ["文明城市", "焦作"],
                    "topics": topics or [{"code": "medtop:11000000", "label": "politics", "score": 0.8}],
                    "places": [{"name": "焦作市", "hierarchy": ["河南省", "焦作市"]}],
                    "entities": [{"name": "李明", "kind": "person"}, {"name": "焦作市委", "kind": "organisation"}],
                    "reading_time_minutes": 1, "summary": "焦作市召开推进会。"},
        )
        session.add(row)
        session.flush()
        return article_id, row.id


def webhook(name: str, url: str, **extra: Any):  # noqa: ANN201
    from services.publish.targets import WebhookTarget

    return WebhookTarget(name=name, url=url, secrets=extra.pop("secrets", [SECRET_A]), **extra)


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def deliveries_of(article_id: str) -> list[dict]:
    from services.api.app import article_detail

    detail = article_detail(article_id)
    return [dict(d, version=v["version"]) for v in detail["versions"] for d in v["deliveries"]]


def drain_until_settled(target, *, timeout: float = 45.0) -> list:  # noqa: ANN001
    """Drain like the tasks would, waiting for retries to fall due, until nothing is pending."""
    import time

    from services.publish import engine

    reports = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        report = engine.drain(target, budget=5)
        reports.append(report)
        if report.stopped in ("paused", "disabled"):
            return reports
        if report.next_due is None:
            return reports
        wait = (report.next_due - datetime.now(timezone.utc)).total_seconds()
        time.sleep(min(max(wait, 0.02), 1.0))
    raise AssertionError(f"deliveries to {target.name} not settled in {timeout}s: {reports[-3:]}")


os.environ.setdefault("NEWSWIRE_LOG_FORMAT", "text")
