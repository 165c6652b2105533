"""The Celery app: four queues, routing by task name, JSON only, late acks.

Delivery guarantees between stages are at-least-once:
- ``task_acks_late`` + ``task_reject_on_worker_lost``: a message is acked only
  after its task finished; a worker killed mid-task leaves it to be redelivered;
- the Redis visibility timeout (NEWSWIRE_VISIBILITY_TIMEOUT, 30 min) is longer
  than any task's hard time limit and any retry countdown (checked when the
  settings load), so a slow task is never handed out twice, and the messages of
  a worker killed outright come back within it;
- every effect downstream is idempotent (article versions by content hash,
  deliveries by (version, target)).
"""

from __future__ import annotations

from celery import Celery
from kombu import Queue

from shared.settings import STAGES, get_settings

def make_app() -> Celery:
    settings = get_settings()
    app = Celery("newswire", broker=settings.broker_url)
    app.conf.update(
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        event_serializer="json",
        task_ignore_result=True,
        result_backend=None,
        task_queues=[Queue(stage, routing_key=stage) for stage in STAGES],
        task_default_queue="ingest",
        task_routes={**{f"{stage}.*": {"queue": stage, "routing_key": stage} for stage in STAGES},
                     "hooks.*": {"queue": "publish", "routing_key": "publish"}},  # hook jobs (issue 6)
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        task_acks_on_failure_or_timeout=True,
        worker_prefetch_multiplier=1,
        task_soft_time_limit=settings.task_soft_time_limit,
        task_time_limit=settings.task_time_limit,
        broker_transport_options={
            "visibility_timeout": settings.visibility_timeout,
            # Sweep for messages whose worker died every interval (kombu's default: every 100 s).
            "unacked_restore_interval": max(1, min(30, settings.visibility_timeout // 3)),
            "unacked_restore_throttle": 1,
            "socket_timeout": 10,
            "socket_connect_timeout": 10,
            "retry_on_timeout": True,
        },
        broker_connection_retry_on_startup=True,
        broker_connection_max_retries=None,
        worker_cancel_long_running_tasks_on_connection_loss=True,
        worker_send_task_events=True,
        task_send_sent_event=True,
        worker_hijack_root_logger=False,
        timezone="UTC",
        enable_utc=True,
        beat_schedule={
            "poll-due-sources": {"task": "ingest.poll_sources", "schedule": float(settings.poll_interval)},
            "sweep-stuck-deliveries": {"task": "publish.sweep", "schedule": 60.0},
            "sweep-hook-jobs": {"task": "hooks.sweep_jobs", "schedule": 60.0},  # issue 6: jobs not queued
        },
        include=[f"services.{stage}.tasks" for stage in STAGES] + ["services.hooks.tasks"],
    )
    return app


app = make_app()

from shared import workers as _workers  # noqa: E402,F401  (signal handlers: heartbeats)
from shared import metrics as _metrics, telemetry as _telemetry  # noqa: E402  (issue 7: metrics, JSON logs)
from shared import handoff as _handoff  # noqa: E402  (the ledger of hand-offs between stages, and its sweep)

_metrics.connect_celery_signals()
_metrics.install_store_hooks()
_telemetry.connect_celery_logging()
_handoff.connect_celery_signals()
