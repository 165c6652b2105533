"""shared/metrics.py on the session's real Redis and database: quantiles, queue age from the stamped header,
one sample per interval, articles and deliveries counted at commit and not on rollback."""

from __future__ import annotations

import time
import uuid

import pytest

from shared import metrics


def test_quantile_interpolates_inside_buckets() -> None:
    buckets = [0] * len(metrics.DURATION_BUCKETS)
    assert metrics.quantile(buckets, 0.5) is None
    buckets[metrics.bucket_index(0.07)] = 10  # ten tasks in (0.05, 0.1]
    assert 0.05 < metrics.quantile(buckets, 0.5) <= 0.1
    buckets[metrics.bucket_index(4.0)] = 10  # ten in (2.5, 5]
    assert metrics.quantile(buckets, 0.95) > 2.5
    assert metrics.bucket_index(1000) == len(metrics.DURATION_BUCKETS) - 1


def test_oldest_age_read_from_the_stamp_of_a_real_message(console_env) -> None:  # noqa: ANN001
    from shared.celery_app import make_app
    from shared.redis_client import get_redis

    queue = f"console-test-{uuid.uuid4().hex[:8]}"
    celery = make_app()
    metrics.connect_celery_signals()
    celery.send_task("nothing.listens", args=[{"n": 1}], queue=queue, routing_key=queue)
    time.sleep(1.2)
    celery.send_task("nothing.listens", args=[{"n": 2}], queue=queue, routing_key=queue)
    try:
        snapshot = metrics.queue_snapshot([queue, "no-such-queue"])
        assert snapshot[queue]["depth"] == 2
        assert 1.0 <= snapshot[queue]["oldest_age"] < 30
        assert snapshot["no-such-queue"] == {"depth": 0, "oldest_age": 0.0}
    finally:
        get_redis().delete(queue)


def test_one_queue_sample_per_interval(console_env) -> None:  # noqa: ANN001
    from shared.redis_client import get_redis

    get_redis().delete(metrics.QUEUE_SAMPLE_LOCK)
    before = len(metrics.queue_history(60))
    assert metrics.maybe_sample_queues() is True
    assert metrics.maybe_sample_queues() is False  # another process (or this one) sampled this interval
    history = metrics.queue_history(60)
    assert len(history) == before + 1
    assert set(history[-1]["q"]) == {"ingest", "clean", "enrich", "publish"}


def test_articles_and_deliveries_counted_at_commit_not_on_rollback(console_env) -> None:  # noqa: ANN001
    from shared.payload import utcnow
    from shared.store import Article, ArticleVersion, Delivery, session_scope

    metrics.install_store_hooks()
    host = f"{uuid.uuid4().hex[:10]}.example"

    def count(metric: str, **labels: str) -> float:
        metrics.flush()
        return sum(v for got, v in metrics.read_counter(metric) if all(got.get(k) == w for k, w in labels.items()))

    article_id = str(uuid.uuid4())
    with session_scope() as session:
        session.add(Article(id=article_id, url=f"https://{host}/a", latest_version=1))
        session.flush()
        session.add(ArticleVersion(article_id=article_id, version=1, content_hash="h1", fetch_id="f1", clean={},
                                   trace=[], created_at=utcnow()))
    assert count("articles", source=host, kind="new") == 1
    with pytest.raises(RuntimeError):
        with session_scope() as session:
            session.add(ArticleVersion(article_id=article_id, version=2, content_hash="h2", fetch_id="f2", clean={},
                                       trace=[], created_at=utcnow()))
            session.flush()
            raise RuntimeError("rolled back")
    assert count("articles", source=host, kind="updated") == 0
    with session_scope() as session:
        session.get(Article, article_id).duplicates += 2
        version = session.add(ArticleVersion(article_id=article_id, version=2, content_hash="h2", fetch_id="f2",
                                             clean={}, trace=[], created_at=utcnow()))
    assert count("articles", source=host, kind="duplicate") == 2
    assert count("articles", source=host, kind="updated") == 1
    target = f"t-{uuid.uuid4().hex[:8]}"
    with session_scope() as session:
        version = session.query(ArticleVersion).filter_by(article_id=article_id, version=2).one()
        delivery = Delivery(version_id=version.id, target=target, idempotency_key=f"k-{target}", status="pending")
        session.add(delivery)
        session.flush()
        delivery_id = delivery.id
    for status in ("retrying", "retrying", "delivered"):
        with session_scope() as session:
            row = session.get(Delivery, delivery_id)
            if row.status == status:  # unchanged: not a new outcome
                row.status = "sending"
                session.flush()
            row.status = status
    assert count("deliveries", target=target, outcome="retry") == 2
    assert count("deliveries", target=target, outcome="delivered") == 1


def test_deliveries_pending_gauge_counts_the_waiting_rows(console_env) -> None:  # noqa: ANN001
    from prometheus_client.parser import text_string_to_metric_families

    from services.api import metrics as api_metrics
    from shared.payload import utcnow
    from shared.store import Article, ArticleVersion, Delivery, session_scope

    article_id, target = str(uuid.uuid4()), f"t-{uuid.uuid4().hex[:8]}"
    with session_scope() as session:
        session.add(Article(id=article_id, url=f"https://{target}.example/a", latest_version=1))
        session.flush()
        version = ArticleVersion(article_id=article_id, version=1, content_hash="h", fetch_id="f", clean={},
                                 trace=[], created_at=utcnow())
        session.add(version)
        session.flush()
        for n, status in enumerate(("pending", "retrying", "sending", "delivered", "failed", "superseded")):
            session.add(Delivery(version_id=version.id, target=target, idempotency_key=f"k-{target}-{n}",
                                 event=f"e{n}", status=status))
    text = api_metrics.render_metrics().decode()
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
               for family in text_string_to_metric_families(text) for s in family.samples}
    assert samples[("newswire_deliveries_pending", (("target", target),))] == 3.0


def test_stage_paused_gauge_follows_pause_and_resume(console_env) -> None:  # noqa: ANN001
    from prometheus_client.parser import text_string_to_metric_families

    from services.api import metrics as api_metrics
    from shared import stage_control

    def paused() -> dict[str, float]:
        text = api_metrics.render_metrics().decode()
        return {s.labels["stage"]: s.value for family in text_string_to_metric_families(text)
                for s in family.samples if s.name == "newswire_stage_paused"}

    assert paused() == {"ingest": 0.0, "clean": 0.0, "enrich": 0.0, "publish": 0.0}
    stage_control.pause("enrich", by="test", reason="gauge test")
    try:
        assert paused() == {"ingest": 0.0, "clean": 0.0, "enrich": 1.0, "publish": 0.0}
    finally:
        stage_control.resume("enrich", by="test")
    assert paused()["enrich"] == 0.0


def test_suspended_source_and_gauge_providers_show_in_metrics(console_env) -> None:  # noqa: ANN001
    from prometheus_client.parser import text_string_to_metric_families

    from services.api import metrics as api_metrics
    from shared.store import Source, session_scope

    host = f"{uuid.uuid4().hex[:10]}.example"
    with session_scope() as session:
        session.add(Source(kind="feed", url=f"https://{host}/feed.xml", status="suspended", interval_seconds=900,
                           error_streak=9))
    api_metrics.register_gauge("breaker_open", lambda: {"cms": 1})
    try:
        text = api_metrics.render_metrics().decode()
    finally:
        api_metrics.GAUGE_PROVIDERS.pop("breaker_open", None)
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
               for family in text_string_to_metric_families(text) for s in family.samples}
    assert samples[("newswire_source_suspended", (("source", host),))] == 1.0
    assert samples[("newswire_breaker_open", (("target", "cms"),))] == 1.0
