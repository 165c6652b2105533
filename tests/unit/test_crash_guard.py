"""shared/crash_guard.py at the level of one message, with a real Redis broker: what the worker's main process does
when a pool process died under a message, and when the broker connection the message came on was closed.

The requests here are Celery's own worker-side requests built from real messages taken from Redis; no worker runs
(tests/faults/test_worker_lost.py rehearses the whole thing with real workers).
"""

from __future__ import annotations

import uuid
from typing import Iterator

import pytest
from billiard.einfo import ExceptionInfo
from celery import Celery
from celery.exceptions import TimeLimitExceeded, WorkerLostError

from newswire.embedded import override_environment
from shared import crash_guard
from shared.stage_task import StageTask


def make_app(url: str) -> Celery:
    """A Celery app on ``url`` with one stage task and one task tracked in the store; a visibility timeout of 1 s,
    so a message left unacknowledged comes back at once when asked."""
    app = Celery(f"crashguard-{uuid.uuid4().hex[:6]}", broker=url, set_as_current=False)
    app.conf.update(task_acks_late=True, task_reject_on_worker_lost=True, task_serializer="json",
                    accept_content=["json"], broker_transport_options={"visibility_timeout": 1, "socket_timeout": 2,
                                                                       "socket_connect_timeout": 2})

    @app.task(bind=True, base=StageTask, name="crashguard.stage", stage="clean", shared=False)
    def stage(self, message: dict) -> dict:  # noqa: ANN001
        return message

    @app.task(bind=True, base=StageTask, name="crashguard.tracked", stage="publish", tracked_in_store=True,
              shared=False)
    def tracked(self, name: str) -> str:  # noqa: ANN001
        return name

    return app


@pytest.fixture()
def broker(redis_url) -> Iterator[Celery]:  # noqa: ANN001
    with override_environment({"REDIS_URL": redis_url, "NEWSWIRE_TASK_MAX_CRASHES": "2"}):
        app = make_app(redis_url)
        yield app
        app.close()


@pytest.fixture()
def restartable(tmp_path) -> Iterator[tuple[Celery, "RedisProcess"]]:  # noqa: ANN001
    """A Redis server of this test's own (it is stopped and started again), and an app on it."""
    redis = RedisProcess(tmp_path / "redis")
    with override_environment({"REDIS_URL": redis.url}):
        app = make_app(redis.url)
        yield app, redis
        app.close()
    redis.stop()


class RedisProcess:
    def __init__(self, folder) -> None:  # noqa: ANN001
        from shared.redis_server import start_redis

        self.folder = folder
        self.process, self.url = start_redis(folder)
        self.port = int(self.url.rsplit(":", 1)[1].split("/")[0])

    def stop(self) -> None:
        self.process.kill()
        self.process.wait(timeout=10)

    def start(self) -> None:
        from shared.redis_server import start_redis

        self.process, _ = start_redis(self.folder, port=self.port)


def taken(app: Celery, queue: str, connection=None):  # noqa: ANN001, ANN201
    """The next message of ``queue``, taken as a worker takes it (it is in the unacknowledged set until settled)."""
    connection = connection or app.connection_for_read()
    channel = connection.default_channel
    for _ in range(50):
        message = channel.basic_get(queue, no_ack=False)
        if message is not None:
            return connection, message
        import time

        time.sleep(0.05)
    raise AssertionError(f"nothing on {queue}")


def request_for(app: Celery, message, connection):  # noqa: ANN001, ANN201
    task = app.tasks[message.headers["task"]]
    return crash_guard.StageRequest(message, app=app, task=task, hostname="test@host",
                                    on_ack=message.ack_log_error, on_reject=message.reject_log_error,
                                    connection_errors=connection.connection_errors)


def lost(how: str = "Worker exited prematurely: signal 9 (SIGKILL) Job: 1.") -> ExceptionInfo:
    try:
        raise WorkerLostError(how)
    except WorkerLostError:
        return ExceptionInfo()


def queue_length(app: Celery, queue: str) -> int:
    from shared.redis_client import get_redis

    return int(get_redis().llen(queue))


def test_a_death_is_counted_and_the_message_handed_out_again(broker) -> None:  # noqa: ANN001
    queue = f"q-{uuid.uuid4().hex[:8]}"
    result = broker.send_task("crashguard.stage", args=[{"n": 1}], queue=queue)
    connection, message = taken(broker, queue)
    request = request_for(broker, message, connection)
    request.on_failure(lost())
    assert crash_guard.deaths_of(result.id) == (1, "Worker exited prematurely: signal 9 (SIGKILL) Job: 1.")
    assert queue_length(broker, queue) == 1  # requeued by Celery (task_reject_on_worker_lost)
    connection, again = taken(broker, queue, connection)
    assert again.delivery_info.get("redelivered")  # what makes the next start look its deaths up
    request_for(broker, again, connection).on_failure(lost("Worker exited prematurely: signal 11 (SIGSEGV)."))
    assert crash_guard.deaths_of(result.id)[0] == 2
    connection.close()


def test_a_time_limit_or_a_task_tracked_in_the_store_is_no_death(broker) -> None:  # noqa: ANN001
    queue = f"q-{uuid.uuid4().hex[:8]}"
    timed = broker.send_task("crashguard.stage", args=[{"n": 2}], queue=queue)
    connection, message = taken(broker, queue)
    try:
        raise TimeLimitExceeded(15)
    except TimeLimitExceeded:
        info = ExceptionInfo()
    request_for(broker, message, connection).on_failure(info)  # as the pool reports a hard time limit
    assert crash_guard.deaths_of(timed.id) == (0, "")
    drain = broker.send_task("crashguard.tracked", args=["slow-target"], queue=queue)
    connection, message = taken(broker, queue, connection)
    request_for(broker, message, connection).on_failure(lost())
    assert crash_guard.deaths_of(drain.id) == (0, "")
    connection.close()


def half_closed(app: Celery, redis: RedisProcess, queue: str):  # noqa: ANN201
    """A message taken, then its connection closed for reconnection while Redis was away, as Celery's consumer
    does on a connection loss (``collect()``, then ``close()``: kombu sets the transport's client to None; the
    channel's close could not put the message back); Redis back; and the channel's connection pools reset, as
    kombu's ``Channel.close`` does (``_disconnect_pools``, a private call: which interleaving of a Redis restart
    leaves this state on its own could not be made to happen on demand; CI's traceback shows it)."""
    connection, message = taken(app, queue)
    request = request_for(app, message, connection)
    redis.stop()
    connection.collect(socket_timeout=2)
    connection.close()
    redis.start()
    assert message.channel.connection is not None and message.channel.connection.client is None
    message.channel._disconnect_pools()
    return message, request


def test_kombu_cannot_requeue_through_a_connection_closed_for_reconnection(restartable) -> None:  # noqa: ANN001
    """What stopped a publish worker in CI ("Unrecoverable error: AttributeError('NoneType' object has no attribute
    'hostname')", from QoS.restore_by_tag). If this starts to fail, kombu fixed it (see shared/crash_guard.py)."""
    app, redis = restartable
    queue = f"q-{uuid.uuid4().hex[:8]}"
    app.send_task("crashguard.stage", args=[{"n": 3}], queue=queue)
    message, _ = half_closed(app, redis, queue)
    with pytest.raises(AttributeError, match="hostname"):
        message.reject(requeue=True)


def test_the_stage_request_leaves_the_message_to_the_broker_instead(restartable) -> None:  # noqa: ANN001
    app, redis = restartable
    queue = f"q-{uuid.uuid4().hex[:8]}"
    sent = app.send_task("crashguard.stage", args=[{"n": 4}], queue=queue)
    _, request = half_closed(app, redis, queue)
    request.reject(requeue=True)  # StageTask's Reject(requeue=True) when Redis was unreachable: no exception
    assert request.acknowledged
    request.acknowledge()  # settled once: nothing more
    assert_handed_out_again_once(app, queue, sent.id)


def test_an_ack_through_such_a_channel_does_not_stop_the_worker_either(restartable) -> None:  # noqa: ANN001
    app, redis = restartable
    queue = f"q-{uuid.uuid4().hex[:8]}"
    sent = app.send_task("crashguard.stage", args=[{"n": 7}], queue=queue)
    _, request = half_closed(app, redis, queue)
    request.acknowledge()  # a task that succeeded meanwhile: handed out again (at least once), not a crash
    assert request.acknowledged
    assert_handed_out_again_once(app, queue, sent.id)


def test_a_requeue_after_a_real_close_loses_nothing_and_doubles_nothing(broker) -> None:  # noqa: ANN001
    """The sequence Celery runs on a connection loss, Redis up: the channel's close puts the message back; the
    requeue that follows finds it gone from the unacknowledged set and does nothing."""
    queue = f"q-{uuid.uuid4().hex[:8]}"
    sent = broker.send_task("crashguard.stage", args=[{"n": 5}], queue=queue)
    connection, message = taken(broker, queue)
    request = request_for(broker, message, connection)
    connection.collect()
    connection.close()
    request.reject(requeue=True)
    assert request.acknowledged
    assert_handed_out_again_once(broker, queue, sent.id)


def assert_handed_out_again_once(app: Celery, queue: str, task_id: str) -> None:
    """The message is back on its queue (at once, or from the unacknowledged set once its visibility timeout,
    here 1 s, ran out), once."""
    import time

    time.sleep(1.2)
    fresh = app.connection_for_read()
    fresh.default_channel.qos.restore_visible()
    assert queue_length(app, queue) == 1
    fresh, again = taken(app, queue, fresh)
    assert again.headers["id"] == task_id
    assert queue_length(app, queue) == 0
    again.ack()
    fresh.close()


def test_an_open_connection_is_used_as_usual(broker) -> None:  # noqa: ANN001
    queue = f"q-{uuid.uuid4().hex[:8]}"
    broker.send_task("crashguard.stage", args=[{"n": 6}], queue=queue)
    connection, message = taken(broker, queue)
    request_for(broker, message, connection).reject(requeue=True)
    assert queue_length(broker, queue) == 1  # requeued at once, through the channel
    connection.close()
