"""Hook tests: signed calls to the real API of the ``pipeline`` fixture (real workers, real Redis, real
database), hooks created in the same store from this process."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx
import pytest
from standardwebhooks.webhooks import Webhook


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def signed(secrets: list[str], body: bytes, *, msg_id: str | None = None, when: datetime | None = None) -> dict:
    """Standard Webhooks headers, signed by the standardwebhooks library (one signature per secret)."""
    msg_id = msg_id or f"msg_{uuid.uuid4().hex}"
    when = when or datetime.now(timezone.utc)
    signatures = " ".join(Webhook(secret).sign(msg_id, when, body.decode()) for secret in secrets)
    return {"webhook-id": msg_id, "webhook-timestamp": str(int(when.timestamp())), "webhook-signature": signatures,
            "content-type": "application/json"}


def body_of(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, ensure_ascii=False).encode()


def post(api_url: str, hook: str, body: bytes, headers: dict) -> httpx.Response:
    return httpx.post(f"{api_url}/hooks/{hook}", content=body, headers=headers, timeout=30)


@pytest.fixture(scope="session")
def operator(pipeline) -> dict[str, str]:  # noqa: ANN001
    from services.api.console.access import create_token

    return {"Authorization": f"Bearer {create_token('operator', 'hooks tests')[0]}"}


@pytest.fixture(scope="session")
def viewer(pipeline) -> dict[str, str]:  # noqa: ANN001
    from services.api.console.access import create_token

    return {"Authorization": f"Bearer {create_token('read-only', 'hooks tests viewer')[0]}"}


def make_hook(actions: list[str], **options: Any) -> tuple[str, str]:
    """A new hook in the store; returns (name, secret)."""
    from services.hooks import config

    name = unique("hook")
    created = config.add_hook(name, actions, actor="tests", **options)
    return name, created.secret


def job_state(job_id: str) -> dict:
    from services.hooks import jobs

    return jobs.get(job_id) or {}


def stale(minutes: float) -> datetime:
    return datetime.now(timezone.utc) + timedelta(minutes=minutes)
