"""Worker heartbeats in Redis: who is alive, per stage.

Each worker writes ``newswire:worker:{stage}:{hostname}`` every few seconds
with a short expiry; /healthz and ``newswire status`` read them.
"""

from __future__ import annotations

import json
import threading
import time

from celery.signals import worker_ready, worker_shutdown

from shared.settings import STAGES
from shared.telemetry import get_logger

log = get_logger(__name__)
HEARTBEAT_PREFIX = "newswire:worker:"
HEARTBEAT_INTERVAL = 5
HEARTBEAT_TTL = 20

_stop = threading.Event()
_keys: list[str] = []


def _stages_of(consumer) -> list[str]:  # noqa: ANN001
    try:
        names = [queue.name for queue in consumer.task_consumer.queues]
    except Exception:  # noqa: BLE001
        names = []
    return [name for name in names if name in STAGES]


def _beat(keys: list[str], info: dict, consumer=None, stages: list[str] | None = None) -> None:  # noqa: ANN001
    from shared.redis_client import get_redis
    from shared import stage_control

    while not _stop.is_set():
        try:
            if consumer is not None and stages:
                stage_control.reconcile(consumer, stages)  # a paused stage stays paused, whatever was missed
                info["consuming"] = stage_control.consuming(consumer)
            value = json.dumps(info)
            client = get_redis()
            pipe = client.pipeline()
            for key in keys:
                pipe.set(key, value, ex=HEARTBEAT_TTL)
            pipe.execute()
        except Exception as exc:  # noqa: BLE001
            log.warning("heartbeat failed: %s", exc)
        _stop.wait(HEARTBEAT_INTERVAL)


@worker_ready.connect
def _start_heartbeat(sender=None, **_kwargs) -> None:  # noqa: ANN001
    from shared import stage_control

    stages = _stages_of(sender)
    hostname = getattr(sender, "hostname", "worker")
    _keys[:] = [f"{HEARTBEAT_PREFIX}{stage}:{hostname}" for stage in stages]
    if sender is not None and stages:
        stage_control.reconcile(sender, stages, now=True)  # started while its stage is paused: stays paused
    info = {"hostname": hostname, "stages": stages, "started": time.time(),
            "consuming": stage_control.consuming(sender) if sender is not None else stages}
    threading.Thread(target=_beat, args=(list(_keys), info, sender, stages), name="newswire-heartbeat",
                     daemon=True).start()
    log.info("worker %s ready for stages %s", hostname, ",".join(stages))


@worker_shutdown.connect
def _stop_heartbeat(**_kwargs) -> None:
    _stop.set()
    try:
        from shared.redis_client import get_redis

        if _keys:
            get_redis().delete(*_keys)
    except Exception:  # noqa: BLE001
        pass


def worker_states() -> dict[str, list[dict]]:
    """Stage -> the heartbeat of each live worker: hostname, stages, started, consuming (the queues it takes
    messages from right now: a worker of a paused stage is alive but not consuming)."""
    from shared.redis_client import get_redis

    client = get_redis()
    keys = list(client.scan_iter(match=f"{HEARTBEAT_PREFIX}*", count=200))
    states: dict[str, list[dict]] = {stage: [] for stage in STAGES}
    values = client.mget(keys) if keys else []
    for key, value in zip(keys, values):
        _, _, stage, hostname = key.decode().split(":", 3)
        try:
            info = json.loads(value) if value else {}
        except ValueError:
            info = {}
        info["hostname"] = hostname
        states.setdefault(stage, []).append(info)
    return states


def live_workers() -> dict[str, list[str]]:
    """Stage -> hostnames of workers whose heartbeat is fresh."""
    from shared.redis_client import get_redis

    alive: dict[str, list[str]] = {stage: [] for stage in STAGES}
    for key in get_redis().scan_iter(match=f"{HEARTBEAT_PREFIX}*", count=200):
        _, _, stage, hostname = key.decode().split(":", 3)
        if stage in alive:
            alive[stage].append(hostname)
    return alive
