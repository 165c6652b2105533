"""Outbound webhooks signed per the Standard Webhooks spec (webhook-id, webhook-timestamp, webhook-signature)."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

from standardwebhooks.webhooks import Webhook

from shared import http
from shared.errors import DeliveryError, FetchError, HTTPStatusError
from services.publish.targets import WebhookTarget

NOT_RETRIED_4XX = {400, 401, 403, 404, 405, 406, 410, 411, 413, 414, 415, 422}


def article_body(article: dict[str, Any]) -> bytes:
    return json.dumps(article, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode("utf-8")


def sign_headers(target: WebhookTarget, message_id: str, body: bytes, when: datetime | None = None) -> dict[str, str]:
    when = when or datetime.now(timezone.utc)
    text = body.decode("utf-8")
    signatures = " ".join(Webhook(secret).sign(message_id, when, text) for secret in target.secrets)
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(when.timestamp())),
        "webhook-signature": signatures,
        "content-type": "application/json",
    }


def send(target: WebhookTarget, message_id: str, body: bytes) -> int:
    """POST once. Returns the status code; raises DeliveryError saying whether a retry may help."""
    headers = {**target.headers, **sign_headers(target, message_id, body)}
    try:
        response = http.request(
            "POST", target.url, content=body, headers=headers, max_bytes=64 * 1024,
            timeout=target.timeout, follow_redirects=False, raise_for_status=True,
        )
    except HTTPStatusError as exc:
        retry = exc.status_code not in NOT_RETRIED_4XX and (exc.status_code >= 500 or exc.status_code in (408, 409, 425, 429))
        raise DeliveryError(exc.reason, transient=retry, status_code=exc.status_code, retry_after=exc.retry_after) from exc
    except FetchError as exc:
        raise DeliveryError(exc.reason, transient=exc.transient) from exc
    if response.status_code >= 300:
        raise DeliveryError(f"{target.url} answered {response.status_code} (redirects are not followed)",
                            transient=False, status_code=response.status_code)
    return response.status_code
