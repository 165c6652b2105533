"""Health probes for containers: ``newswire probe worker STAGE`` and ``newswire probe migrations``.

Kubernetes (deploy/k8s) runs them as exec probes; they are cheap (one Redis SCAN, or one query of the
Alembic version table) and print one line saying why they passed or failed.

- A worker is *ready* when its own heartbeat (``newswire:worker:{stage}:{stage}@{host}.{pid}``, written
  every few seconds by shared/workers.py once Celery has started consuming) is in Redis. The heartbeat names
  the host, so a probe run inside the worker's pod finds that worker's key and no other's.
- *Liveness* is the same check, except that Redis being unreachable passes: a Redis outage is not the
  worker's fault, and restarting every worker of the deployment at once would not bring Redis back.
- The database is *current* when its Alembic revisions are the heads of the migrations shipped in this
  image: the stage workers wait for that (an init container) before they start, so a new image never runs
  against an old schema while the migration Job is still running.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass

from shared.settings import STAGES


@dataclass(frozen=True)
class ProbeResult:
    ok: bool
    message: str


def worker_heartbeat(stage: str | None, hostname: str | None = None, *, liveness: bool = False) -> ProbeResult:
    """Whether the worker for ``stage`` (None: any stage) on this host (or ``hostname``) has a fresh heartbeat."""
    if stage is not None and stage not in STAGES:
        return ProbeResult(False, f"unknown stage {stage!r}: one of {', '.join(STAGES)}")
    from redis.exceptions import RedisError

    from shared.redis_client import get_redis
    from shared.workers import HEARTBEAT_PREFIX

    host = hostname or socket.gethostname()
    pattern = f"{HEARTBEAT_PREFIX}{stage}:{stage}@{host}.*" if stage else f"{HEARTBEAT_PREFIX}*:*@{host}.*"
    try:
        client = get_redis()
        found = next(iter(client.scan_iter(match=pattern, count=500)), None)
    except (RedisError, OSError) as exc:
        if liveness:
            return ProbeResult(True, f"Redis unreachable ({exc}); not the worker's fault, so alive")
        return ProbeResult(False, f"Redis unreachable: {exc}")
    if found is None:
        which = f"the {stage} worker" if stage else "any worker"
        return ProbeResult(False, f"no heartbeat for {which} on {host} (not started, stuck or gone)")
    return ProbeResult(True, f"{found.decode()} is fresh")


def migrations_current(url: str | None = None) -> ProbeResult:
    """Whether the database's Alembic revisions are exactly the heads this code ships."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory
    from sqlalchemy.exc import SQLAlchemyError

    from shared.store.db import alembic_config, make_engine

    config = alembic_config(url)
    expected = set(ScriptDirectory.from_config(config).get_heads())
    engine = make_engine(config.get_main_option("sqlalchemy.url"))
    try:
        with engine.connect() as connection:
            current = set(MigrationContext.configure(connection).get_current_heads())
    except SQLAlchemyError as exc:
        return ProbeResult(False, f"database unreachable: {str(getattr(exc, 'orig', None) or exc).splitlines()[0]}")
    finally:
        engine.dispose()
    if current == expected:
        return ProbeResult(True, f"database at {', '.join(sorted(current))}")
    script = ScriptDirectory.from_config(config)
    unknown = sorted(revision for revision in current if not _known(script, revision))
    if unknown:
        # A newer image migrated already (a rollback, or old pods during a rollout): migrations are
        # additive (docs/operations.md, "Upgrading"), so older code keeps working on the newer schema.
        return ProbeResult(True, f"database at {', '.join(unknown)}, newer than this code "
                                 f"({', '.join(sorted(expected))}); going on")
    if not current:
        return ProbeResult(False, f"database has no schema yet; expected {', '.join(sorted(expected))} "
                                  "(run `newswire migrate`)")
    return ProbeResult(False, f"database at {', '.join(sorted(current))}, this code expects "
                              f"{', '.join(sorted(expected))} (run `newswire migrate`)")


def _known(script, revision: str) -> bool:  # noqa: ANN001
    from alembic.util import CommandError

    try:
        return script.get_revision(revision) is not None
    except CommandError:
        return False
