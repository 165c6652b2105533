"""Probes for an orchestrator: ``GET /livez`` and ``GET /readyz`` (``GET /healthz`` is the whole system's).

- ``/livez``: the process answers (200). Kubernetes' liveness probe: restart only an API that hangs.
- ``/readyz``: this API can serve (Redis and the database answer): 200, else 503 with what is missing.
  Kubernetes' readiness probe: an API that cannot reach its stores leaves the Service's endpoints.
- ``/healthz`` (services/api/app.py) also needs a live worker for every stage; a stage without workers is an
  alert (deploy/prometheus/newswire-rules.yaml), not a reason to stop serving feeds and the console.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text

router = APIRouter()


@router.get("/livez", include_in_schema=True, tags=["health"], summary="The process answers (public)")
def livez() -> JSONResponse:
    """200 while the API process answers."""
    return JSONResponse({"status": "ok"})


def store_checks() -> tuple[dict[str, Any], list[str]]:
    """Whether Redis and the database answer: ({name: "ok" or why not}, [names that do not])."""
    from shared.redis_client import get_redis
    from shared.store import session_scope

    checks: dict[str, Any] = {}
    missing: list[str] = []
    try:
        get_redis().ping()
        checks["redis"] = "ok"
    except Exception as exc:  # noqa: BLE001
        checks["redis"] = f"unreachable: {exc}"
        missing.append("redis")
    try:
        with session_scope() as session:
            session.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:  # noqa: BLE001
        checks["database"] = f"unreachable: {str(getattr(exc, 'orig', None) or exc).splitlines()[0]}"
        missing.append("database")
    return checks, missing


@router.get("/readyz", include_in_schema=True, tags=["health"], summary="Redis and the database answer (public)")
def readyz() -> JSONResponse:
    """200 when Redis and the database answer (the API can serve); 503 with what is missing otherwise."""
    checks, missing = store_checks()
    body = {"status": "ok" if not missing else "unavailable", "missing": missing, "checks": checks}
    return JSONResponse(status_code=200 if not missing else 503, content=body)
