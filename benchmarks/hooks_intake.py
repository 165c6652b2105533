"""Inbound hooks end to end: N signed republish calls, each sent twice (a caller's retry), through the real API and
workers to a local webhook receiver. Prints intake latency, calls/s, and what the receiver got (it must be exactly
N deliveries, no duplicate webhook-id).

    .venv/bin/python benchmarks/hooks_intake.py [--calls 200] [--json]

Needs nothing running: an embedded pipeline (bundled Redis, SQLite in a temporary folder,
its workers and API) and a receiver on 127.0.0.1. Articles are stored directly as published (no ingest, clean, enrich work).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SECRET = "whsec_" + "YmVuY2gtaG9va3MtcmVjZWl2ZXItc2VjcmV0LTAxMjM0NQ=="


def store_article() -> str:
    from shared.store import Article, ArticleVersion, session_scope

    article_id, now = str(uuid.uuid4()), datetime.now(timezone.utc)
    with session_scope() as session:
        session.add(Article(id=article_id, url=f"https://news.example.cn/{article_id}.html", title="焦作", latest_version=1,
                            created_at=now, updated_at=now))
        session.flush()
        session.add(ArticleVersion(article_id=article_id, version=1, content_hash=uuid.uuid4().hex * 2,
                                   fetch_id=uuid.uuid4().hex, status="published", published_at=now, created_at=now,
                                   clean={"title": "焦作市文明创建", "text": "焦作市召开推进会。"},
                                   enrich={"language": "zh", "keywords": ["焦作"]}))
    return article_id


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    import httpx
    from standardwebhooks.webhooks import Webhook

    from newswire.embedded import EmbeddedPipeline, override_environment

    from newswire.bench_publish import BenchReceiver

    receiver = BenchReceiver()  # answers 204, counts webhook-ids
    workdir = Path(tempfile.mkdtemp(prefix="newswire-hooks-bench-"))
    env = {"NEWSWIRE_ALLOW_PRIVATE_NETWORKS": "127.0.0.1/32", "NEWSWIRE_WEBHOOK_URL": receiver.url,
           "NEWSWIRE_WEBHOOK_SECRET": SECRET, "NEWSWIRE_LOG_FORMAT": "text", "NEWSWIRE_ENRICH_PRELOAD": "false"}
    pipeline = EmbeddedPipeline(env=env, workdir=workdir)  # /healthz (its readiness) wants every stage
    pipeline.start()
    try:
        with override_environment({"REDIS_URL": pipeline.redis_url, "DATABASE_URL": pipeline.database_url,
                                   "NEWSWIRE_DATA_DIR": str(workdir)}):
            from services.hooks import config, jobs

            secret = config.add_hook("bench", ["republish"], actor="bench").secret
            articles = [store_article() for _ in range(args.calls)]
            client = httpx.Client(base_url=pipeline.api_url, timeout=30)
            latencies, statuses = [], {}
            started = time.perf_counter()
            for article_id in articles:
                body = json.dumps({"article_id": article_id}).encode()
                msg_id, now = f"msg_{uuid.uuid4().hex}", datetime.now(timezone.utc)
                headers = {"webhook-id": msg_id, "webhook-timestamp": str(int(now.timestamp())),
                           "webhook-signature": Webhook(secret).sign(msg_id, now, body.decode()),
                           "content-type": "application/json"}
                for _ in range(2):  # the call and a retry of it
                    clock = time.perf_counter()
                    status = client.post("/hooks/bench", content=body, headers=headers).status_code
                    latencies.append((time.perf_counter() - clock) * 1000)
                    statuses[status] = statuses.get(status, 0) + 1
            intake_seconds = time.perf_counter() - started
            deadline = time.monotonic() + 300
            while time.monotonic() < deadline and sum(receiver.ids.values()) < args.calls:
                time.sleep(0.2)
            done_seconds = time.perf_counter() - started
            time.sleep(2)  # anything more arriving would be a duplicate
            waiting = jobs.listing(status="pending")["items"] + jobs.listing(status="queued")["items"]
    finally:
        pipeline.stop()
    latencies.sort()
    result = {
        "calls": args.calls * 2, "answers": {str(k): v for k, v in sorted(statuses.items())},
        "intake_calls_per_s": round(args.calls * 2 / intake_seconds, 1),
        "intake_p50_ms": round(statistics.median(latencies), 1),
        "intake_p95_ms": round(latencies[int(len(latencies) * 0.95) - 1], 1),
        "deliveries_received": sum(receiver.ids.values()), "distinct_webhook_ids": len(receiver.ids),
        "all_delivered_after_s": round(done_seconds, 1), "jobs_left_waiting": len(waiting),
    }
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key:24} {value}")


if __name__ == "__main__":
    main()
