"""Newswire's own ledger of hand-offs between stages, and the sweep that sends again what no queue holds any more.

Why: Celery's Redis transport (kombu) takes a message with BRPOP and only afterwards records it in its
unacknowledged hash. A worker killed outright (SIGKILL, out of memory) between the two, with the reply read or still
waiting in its socket, loses the message: it is in no queue list and not unacknowledged, so the visibility timeout
never brings it back (kombu issues 305 and 1836). Late acks and ``reject_on_worker_lost`` cannot help there.

What is kept, in the broker's Redis (the same server as the queues, so one sweep sees both):

- every message of a :data:`COVERED` task (the ones that carry an accepted article or request from one stage to the
  next) is recorded *before* it is sent (Celery's ``before_task_publish`` signal, one pipelined round trip): task
  id, name, queue, args and kwargs, retries, ETA, Newswire's own headers, the time; a retry or a re-send (same task
  id) replaces the entry;
- the entry is cleared when the consuming task ended for good: succeeded, or failed for good (a dead letter was
  written; Celery's ``task_failure`` too, for a hard time limit handled in the worker's main process). A retry
  leaves the new message's entry; a message put back (``Reject(requeue=True)``, a worker lost) keeps its entry; so
  does a message whose worker died (it waits, unacknowledged, for the visibility timeout).

The sweep (:func:`sweep`, every ``NEWSWIRE_HANDOFF_SWEEP_INTERVAL`` seconds, in a thread of every worker with a Redis
lock so that one sweep runs per interval for the whole deployment) looks only at entries older than
``NEWSWIRE_HANDOFF_SWEEP_AGE`` and sends again those whose task id is in no queue list and not in the unacknowledged
hash, and only once it found them missing in two sweeps at least half an interval apart (a message between BRPOP
and the HSET that records it is briefly in neither). A backlog is in its queue list, a task running or waiting for
its ETA is unacknowledged: neither is sent again. The re-sent message keeps the task id and carries a
``newswire_handoff_resent`` header; each re-send is a warning in the log and counts in
``newswire_handoff_resent_total{stage}``. After ``NEWSWIRE_HANDOFF_MAX_RESENDS`` re-sends of the same message it is
a dead letter instead (something ends it without clearing its entry: never resend it for ever).

Every stage is idempotent for a message that turns up twice (clean carries on for the same fetch, deliveries are
unique per version and target), so a re-send whose original was only late does no harm.

Plain functions: what knows Celery is :func:`on_publish` (a signal receiver) and :func:`resend` (``send_task``).
"""

from __future__ import annotations

import json
import os
import random
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from shared.settings import STAGES, get_settings
from shared.telemetry import get_logger

log = get_logger(__name__)

# The tasks whose messages carry an article (or a request for one) between stages. Not in the ledger: beat's
# periodic tasks (the next tick does it again), publish.drain (publish.sweep kicks every target with due deliveries
# every minute; the deliveries themselves are rows in the store) and hooks.run_job (hooks.sweep_jobs queues the
# jobs not queued).
COVERED = frozenset({"ingest.fetch", "ingest.push", "clean.process", "enrich.process", "publish.process",
                     "publish.deliver"})

PREFIX = "newswire:handoff:"
ENTRIES_KEY = PREFIX + "entries"  # hash: task id -> JSON entry
SENT_KEY = PREFIX + "sent"  # sorted set: task id, score = the time it was (last) sent
MISSING_KEY = PREFIX + "missing"  # hash: task id -> when a sweep first found it in no queue and not unacknowledged
LOCK_KEY = PREFIX + "sweep-lock"
RESENT_HEADER = "newswire_handoff_resent"
SCAN_CHUNK = 1000  # list items or hash fields looked at per Redis call (each call is short; Redis stays responsive)

# kombu's Redis transport: queue lists named by the queue (and queue + "\x06\x16" + priority for priorities 3, 6, 9),
# the unacknowledged messages in a hash. The message is JSON whose body is base64 (no quote in it), so the first
# '"id":' after '"headers":' is the task id (Celery's message protocol 2). Items are read inside Redis and only the
# ids come back: a backlog of large payloads is not copied to the sweeping process.
_ID_OF = """
local function id_of(item)
  local h = string.find(item, '"headers":', 1, true)
  if not h then return false end
  local s = string.find(item, '"id":', h, true)
  if not s then return false end
  return string.match(item, '^%s*"([^"]*)"', s + 5) or false
end
"""
_SCAN_LIST = _ID_OF + """
local items = redis.call('LRANGE', KEYS[1], ARGV[1], ARGV[2])
local ids = {}
for i, item in ipairs(items) do
  local found = id_of(item)
  if found then ids[#ids + 1] = found end
end
return {#items, ids}
"""
_SCAN_HASH = _ID_OF + """
local reply = redis.call('HSCAN', KEYS[1], ARGV[1], 'COUNT', ARGV[2])
local ids = {}
local pairs_ = reply[2]
for i = 2, #pairs_, 2 do
  local found = id_of(pairs_[i])
  if found then ids[#ids + 1] = found end
end
return {reply[1], ids}
"""
# Mark missing only what is still in the ledger, unchanged since the sweep read it (it may have been cleared or
# sent again meanwhile).
_MARK_MISSING = """
local now = ARGV[1]
local marked = 0
for i = 2, #ARGV, 2 do
  local score = redis.call('ZSCORE', KEYS[1], ARGV[i])
  if score and tonumber(score) == tonumber(ARGV[i + 1]) then
    marked = marked + redis.call('HSETNX', KEYS[2], ARGV[i], now)
  end
end
return marked
"""


def _redis():  # noqa: ANN202
    from shared.redis_client import get_redis

    return get_redis()


def _transport_option(name: str, default: str) -> str:
    from shared.celery_app import app

    return str((app.conf.broker_transport_options or {}).get(name, default))


def queue_keys(queues: Iterable[str] = STAGES) -> list[str]:
    """The Redis lists of kombu's Redis transport that hold the queues' waiting messages (every priority)."""
    prefix = _transport_option("global_keyprefix", "")
    keys = []
    for queue in queues:
        keys.append(prefix + queue)
        keys.extend(f"{prefix}{queue}\x06\x16{priority}" for priority in (3, 6, 9))
    return keys


def unacked_key() -> str:
    return _transport_option("global_keyprefix", "") + _transport_option("unacked_key", "unacked")


# -- the ledger ----------------------------------------------------------------------------------------------------
def record(task_id: str, task: str, queue: str, args: Any, kwargs: Any, *, retries: int = 0, eta: str | None = None,
           headers: dict[str, Any] | None = None, client: Any = None, now: float | None = None) -> None:
    """Record one hand-off about to be sent (replacing what was recorded under the same task id)."""
    now = time.time() if now is None else now
    entry = {"task": task, "queue": queue, "args": args, "kwargs": kwargs or {}, "retries": int(retries or 0),
             "eta": eta, "headers": headers or {}, "sent": now}
    pipe = (client or _redis()).pipeline(transaction=False)
    pipe.hset(ENTRIES_KEY, task_id, json.dumps(entry, separators=(",", ":"), ensure_ascii=False, default=str))
    pipe.zadd(SENT_KEY, {task_id: now})
    pipe.hdel(MISSING_KEY, task_id)
    pipe.execute()


def done(task_id: str | None, client: Any = None) -> None:
    """The message of ``task_id`` ended for good (succeeded, or dead-lettered): forget it. Never raises (an entry
    left behind is sent again once, harmlessly, and cleared by that run)."""
    if not task_id:
        return
    try:
        pipe = (client or _redis()).pipeline(transaction=False)
        pipe.hdel(ENTRIES_KEY, task_id)
        pipe.zrem(SENT_KEY, task_id)
        pipe.hdel(MISSING_KEY, task_id)
        pipe.execute()
    except Exception as exc:  # noqa: BLE001
        log.warning("hand-off %s not cleared from the ledger (%s); it may be sent again once", task_id, exc)


def entry(task_id: str, client: Any = None) -> dict[str, Any] | None:
    raw = (client or _redis()).hget(ENTRIES_KEY, task_id)
    return json.loads(raw) if raw else None


def pending(client: Any = None) -> int:
    """How many hand-offs are recorded and not yet ended (waiting, running, retrying or lost)."""
    return int((client or _redis()).zcard(SENT_KEY))


def on_publish(body: Any = None, routing_key: str | None = None, headers: dict[str, Any] | None = None,
               **_kwargs: Any) -> None:
    """Celery's ``before_task_publish``: record a covered task's message before it goes to its queue.

    Celery logs, and does not raise, what a signal receiver raises: when Redis cannot be reached the send fails
    too, and what is sent anyway is still kept by kombu as before."""
    headers = headers if isinstance(headers, dict) else {}
    task, task_id = headers.get("task"), headers.get("id")
    if task not in COVERED or not task_id:
        return
    args, kwargs = ((body[0], body[1]) if isinstance(body, (list, tuple)) and len(body) >= 2 else (body, {}))
    own = {k: v for k, v in headers.items() if k.startswith("newswire_") and k != "newswire_enqueued_at"}
    try:
        record(task_id, task, routing_key or task.split(".")[0], args, kwargs, retries=headers.get("retries") or 0,
               eta=headers.get("eta"), headers=own)
    except Exception as exc:  # noqa: BLE001
        log.warning("hand-off %s[%s] not recorded in the ledger (%s); kombu alone keeps it", task, task_id, exc)


# -- where the messages are ---------------------------------------------------------------------------------------
def present_ids(client: Any = None, queues: Iterable[str] = STAGES) -> set[str]:
    """Task ids of every message waiting in a queue list or unacknowledged (held by a worker: running, or waiting
    for its ETA). Lists first, then the hash: a message taken meanwhile is recorded in the hash before it is read."""
    client = client or _redis()
    scan_list = client.register_script(_SCAN_LIST)
    scan_hash = client.register_script(_SCAN_HASH)
    found: set[str] = set()
    for key in queue_keys(queues):
        start = 0
        while True:
            count, ids = scan_list(keys=[key], args=[start, start + SCAN_CHUNK - 1])
            found.update(i.decode() if isinstance(i, bytes) else i for i in ids)
            if int(count) < SCAN_CHUNK:
                break
            start += SCAN_CHUNK  # new messages go in on the left: what was read moves right, nothing is skipped
    cursor = 0
    while True:
        cursor, ids = scan_hash(keys=[unacked_key()], args=[cursor, SCAN_CHUNK])
        found.update(i.decode() if isinstance(i, bytes) else i for i in ids)
        if int(cursor) == 0:
            break
    return found


# -- the sweep ----------------------------------------------------------------------------------------------------
@dataclass
class SweepReport:
    candidates: int = 0  # entries older than the age looked at
    present: int = 0  # of those, found in a queue or unacknowledged
    suspected: int = 0  # missing for the first time
    resent: list[str] = field(default_factory=list)  # task ids sent again
    dead: list[str] = field(default_factory=list)  # task ids made dead letters (re-sent too often)

    def as_dict(self) -> dict[str, Any]:
        return {"candidates": self.candidates, "present": self.present, "suspected": self.suspected,
                "resent": len(self.resent), "dead": len(self.dead)}


def resend(task_id: str, item: dict[str, Any]) -> None:
    """Send a lost hand-off again: same task id, name, queue, arguments, retries and headers (and its ETA if it is
    still ahead), one more ``newswire_handoff_resent``."""
    from shared.celery_app import app

    headers = {**(item.get("headers") or {}), RESENT_HEADER: int((item.get("headers") or {}).get(RESENT_HEADER, 0)) + 1}
    options: dict[str, Any] = {}
    eta = item.get("eta")
    if eta:
        from datetime import datetime, timezone

        try:
            when = datetime.fromisoformat(eta)
            if when.tzinfo is None:
                when = when.replace(tzinfo=timezone.utc)
            if when > datetime.now(timezone.utc):
                options["eta"] = when
        except (TypeError, ValueError):
            pass
    # Through the broker the settings name now (this process's default connection may predate them); re-sends are rare.
    with app.connection_for_write(get_settings().broker_url) as connection:
        app.send_task(item["task"], args=item.get("args"), kwargs=item.get("kwargs") or {}, task_id=task_id,
                      queue=item.get("queue"), retries=int(item.get("retries") or 0), headers=headers,
                      connection=connection, **options)


def _dead_letter(task_id: str, item: dict[str, Any], times: int) -> None:
    from shared.store.dead_letters import record_dead_letter

    args = item.get("args") or []
    payload = args[0] if isinstance(args, list) and args and isinstance(args[0], dict) else {"args": args}
    record_dead_letter(stage=item.get("queue") or item["task"].split(".")[0], task=item["task"], payload=payload,
                       error=RuntimeError(f"message {task_id} lost between stages {times} times (in no queue and not "
                                          f"unacknowledged after each re-send); not sent again"),
                       attempts=int(item.get("retries") or 0) + 1)


def sweep(client: Any = None, *, now: float | None = None, age: float | None = None, gap: float | None = None,
          send: Callable[[str, dict[str, Any]], None] = resend) -> SweepReport:
    """One pass: send again the hand-offs older than ``age`` seconds that a previous pass, at least ``gap`` seconds
    ago, also found in no queue and not unacknowledged. Returns what it saw and did."""
    from shared import metrics

    settings = get_settings()
    client = client or _redis()
    now = time.time() if now is None else now
    age = settings.handoff_sweep_age if age is None else age
    gap = max(1.0, settings.handoff_sweep_interval / 2) if gap is None else gap
    report = SweepReport()
    old = client.zrangebyscore(SENT_KEY, "-inf", now - age, withscores=True)
    marks = {k.decode(): float(v) for k, v in client.hgetall(MISSING_KEY).items()}
    if not old:
        if marks:
            client.hdel(MISSING_KEY, *marks)
        return report
    sent_at = {(k.decode() if isinstance(k, bytes) else k): score for k, score in old}
    report.candidates = len(sent_at)
    present = present_ids(client)
    missing = [task_id for task_id in sent_at if task_id not in present]
    report.present = report.candidates - len(missing)
    missing_set = set(missing)
    stale = [task_id for task_id in marks if task_id not in missing_set]
    if stale:
        client.hdel(MISSING_KEY, *stale)  # found again, ended, or sent again since
    first = [task_id for task_id in missing if task_id not in marks]
    mark = client.register_script(_MARK_MISSING)
    for start in range(0, len(first), SCAN_CHUNK):
        args: list[Any] = [now]
        for task_id in first[start:start + SCAN_CHUNK]:
            args += [task_id, repr(sent_at[task_id])]
        report.suspected += int(mark(keys=[SENT_KEY, MISSING_KEY], args=args))
    confirmed = [task_id for task_id in missing if task_id in marks and now - marks[task_id] >= gap]
    for task_id in confirmed:
        raw = client.hget(ENTRIES_KEY, task_id)
        score = client.zscore(SENT_KEY, task_id)
        if raw is None or score is None or score != sent_at[task_id]:
            continue  # ended or sent again while we looked
        item = json.loads(raw)
        stage = item.get("queue") or item["task"].split(".")[0]
        times = int((item.get("headers") or {}).get(RESENT_HEADER, 0))
        if times >= settings.handoff_max_resends:
            log.error("hand-off %s[%s] lost again after %d re-sends: a dead letter, not sent again", item["task"],
                      task_id, times)
            _dead_letter(task_id, item, times + 1)
            done(task_id, client)
            report.dead.append(task_id)
            continue
        log.warning("hand-off %s[%s] to %s was in no queue and not unacknowledged (sent %.0fs ago, missing since "
                    "%.0fs ago): sent again (re-send %d)", item["task"], task_id, stage, now - sent_at[task_id],
                    now - marks[task_id], times + 1)
        send(task_id, item)
        metrics.inc("handoff_resent", stage=stage)
        report.resent.append(task_id)
    return report


def sweep_once(client: Any = None) -> SweepReport | None:
    """:func:`sweep` if no other process swept within the interval (a Redis lock for the whole deployment)."""
    settings = get_settings()
    client = client or _redis()
    token = uuid.uuid4().hex
    if not client.set(LOCK_KEY, token, nx=True, ex=max(1, settings.handoff_sweep_interval)):
        return None
    return sweep(client)


_sweeper_pid: int | None = None


def start_sweeper() -> None:
    """A daemon thread in this process sweeping every interval (started in every worker; the lock keeps one sweep
    per interval). ``NEWSWIRE_HANDOFF_SWEEP_INTERVAL=0`` starts none."""
    global _sweeper_pid
    interval = get_settings().handoff_sweep_interval
    if interval <= 0 or _sweeper_pid == os.getpid():
        return
    _sweeper_pid = os.getpid()

    def loop() -> None:
        time.sleep(random.uniform(0, interval))  # workers started together do not all try at once
        while True:
            try:
                report = sweep_once()
                if report is not None and (report.resent or report.dead or report.suspected):
                    log.info("hand-off sweep: %s", report.as_dict())
            except Exception as exc:  # noqa: BLE001
                log.warning("hand-off sweep failed: %s", exc)
            time.sleep(interval)

    threading.Thread(target=loop, name="newswire-handoff-sweep", daemon=True).start()


def on_task_failure(sender: Any = None, task_id: str | None = None, **_kwargs: Any) -> None:
    """Celery's ``task_failure``: the message ended for good (acked as failed) in a way StageTask.__call__ may not
    see: a hard time limit, or a worker lost and not requeued, both handled in the worker's main process."""
    if getattr(sender, "name", None) in COVERED:
        done(task_id)


def connect_celery_signals() -> None:
    from celery.signals import before_task_publish, task_failure, worker_ready

    before_task_publish.connect(on_publish, weak=False)
    task_failure.connect(on_task_failure, weak=False)
    worker_ready.connect(lambda **_kw: start_sweeper(), weak=False)
