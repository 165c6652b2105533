"""WebSub subscriber: subscribe to a feed's hub, answer the hub's intent check, verify signed
notifications (X-Hub-Signature: sha1/sha256/sha384/sha512 HMAC of the body with our per-source
secret), refuse replays, renew the lease before it ends. Polling goes on beside it (less often is
the scheduler's business), so a hub that stops sending loses nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta, timezone
from urllib.parse import urlencode

from sqlalchemy import select

from shared import http
from shared.errors import PermanentError
from shared.settings import get_settings
from shared.store import session_scope
from shared.store.models import Source
from shared.telemetry import get_logger

log = get_logger(__name__)

SIGNATURE_ALGORITHMS = {"sha1": hashlib.sha1, "sha256": hashlib.sha256, "sha384": hashlib.sha384,
                        "sha512": hashlib.sha512}
REPLAY_KEY = "newswire:websub:seen:{}:{}"
REPLAY_TTL = 24 * 3600


class WebSubError(PermanentError):
    def __init__(self, reason: str, status: int = 400) -> None:
        super().__init__(reason)
        self.status = status


def callback_url(source_id: int) -> str:
    settings = get_settings()
    base = (settings.ingest_websub_callback or settings.public_url).rstrip("/")
    return f"{base}/websub/{source_id}"


def _renew_margin(lease_seconds: float) -> timedelta:
    return timedelta(seconds=min(24 * 3600, lease_seconds * 0.1))


def subscribe(source_id: int, hub: str, topic: str, mode: str = "subscribe") -> str:
    """Ask the hub for a subscription (or its end); the hub then checks our intent at the callback."""
    settings = get_settings()
    secret = secrets.token_hex(32)
    with session_scope() as session:
        row = session.get(Source, source_id)
        if row is None:
            raise WebSubError(f"no source {source_id}", 404)
        if mode == "subscribe":
            row.websub_secret = secret
        row.websub_hub, row.websub_topic = hub, topic
        row.websub_state = "requested" if mode == "subscribe" else "unsubscribing"
    form = {"hub.mode": mode, "hub.topic": topic, "hub.callback": callback_url(source_id)}
    if mode == "subscribe":
        form.update({"hub.secret": secret, "hub.lease_seconds": str(settings.ingest_websub_lease)})
    response = http.request("POST", hub, content=urlencode(form).encode(), raise_for_status=False,
                            headers={"Content-Type": "application/x-www-form-urlencoded"})
    if response.status_code not in (202, 204):
        reason = f"hub {hub} answered HTTP {response.status_code}: {response.content[:200]!r}"
        with session_scope() as session:
            row = session.get(Source, source_id)
            if row is not None:
                row.websub_state = "refused"
        raise WebSubError(reason, 502)
    return "requested"


def ensure_subscribed(source_id: int, hub: str, topic: str) -> str | None:
    """Subscribe when the feed names a hub we are not (or no longer) subscribed to; else nothing."""
    now = datetime.now(timezone.utc)
    with session_scope() as session:
        row = session.get(Source, source_id)
        if row is None:
            return None
        current = (row.websub_hub, row.websub_topic, row.websub_state, row.websub_lease_until)
    same = current[0] == hub and current[1] == topic
    if same and current[2] == "requested":
        return None
    if same and current[2] == "verified" and current[3] and current[3] - _renew_margin(
            get_settings().ingest_websub_lease) > now:
        return None
    if same and current[2] in ("refused", "denied"):
        return None  # the hub said no: polling carries the source; the state shows why
    return subscribe(source_id, hub, topic)


def verify_intent(source_id: int, params: dict[str, str]) -> str:
    """The hub's GET: answer the challenge when we did ask for this (un)subscription, else refuse (404)."""
    mode = params.get("hub.mode", "")
    topic = params.get("hub.topic", "")
    now = datetime.now(timezone.utc)
    with session_scope() as session:
        row = session.get(Source, source_id)
        if row is None:
            if mode == "unsubscribe":
                return params.get("hub.challenge", "")
            raise WebSubError("no such subscription", 404)
        if mode == "denied":
            row.websub_state = "denied"
            row.last_error = f"WebSub hub denied the subscription: {params.get('hub.reason', 'no reason given')}"
            return ""
        if topic != row.websub_topic:
            raise WebSubError("topic does not match our subscription", 404)
        challenge = params.get("hub.challenge")
        if not challenge:
            raise WebSubError("hub.challenge missing", 400)
        if mode == "subscribe":
            if row.websub_state not in ("requested", "verified") or row.status == "paused":
                raise WebSubError("we did not ask for this subscription", 404)
            try:
                lease = int(params.get("hub.lease_seconds") or get_settings().ingest_websub_lease)
            except ValueError:
                lease = get_settings().ingest_websub_lease
            row.websub_state = "verified"
            row.websub_lease_until = now + timedelta(seconds=lease)
            return challenge
        if mode == "unsubscribe":
            if row.websub_state != "unsubscribing":
                raise WebSubError("we did not ask to unsubscribe", 404)
            row.websub_state = "unsubscribed"
            return challenge
    raise WebSubError(f"unknown hub.mode {mode!r}", 400)


def check_signature(secret: str | None, body: bytes, header: str | None) -> str | None:
    """None when the body is signed with our secret; else why not."""
    if not secret:
        return "no subscription secret for this source"
    if not header or "=" not in header:
        return "X-Hub-Signature missing"
    method, _, given = header.partition("=")
    algorithm = SIGNATURE_ALGORITHMS.get(method.strip().lower())
    if algorithm is None:
        return f"unsupported signature method {method!r}"
    expected = hmac.new(secret.encode("utf-8"), body, algorithm).hexdigest()
    if not hmac.compare_digest(expected, given.strip().lower()):
        return "X-Hub-Signature does not match"
    return None


def accept_notification(source_id: int, body: bytes, signature: str | None) -> tuple[bool, str]:
    """(accepted, why). A forged, unsigned or replayed body is refused (the hub still gets its 2xx, as the spec says)."""
    with session_scope() as session:
        row = session.get(Source, source_id)
        if row is None:
            return False, "no such source"
        secret, state, status = row.websub_secret, row.websub_state, row.status
    if state not in ("verified", "requested"):
        return False, f"no active subscription (state {state})"
    problem = check_signature(secret, body, signature)
    if problem:
        log.warning("WebSub notification for source %s refused: %s", source_id, problem)
        _count(source_id, "refused")
        return False, problem
    if status == "paused":
        return False, "source is paused"
    from shared.redis_client import get_redis

    digest = hashlib.sha256(body).hexdigest()
    if not get_redis().set(REPLAY_KEY.format(source_id, digest), "1", nx=True, ex=REPLAY_TTL):
        _count(source_id, "replayed")
        return False, "replayed notification (same body seen in the last 24 hours)"
    _count(source_id, "accepted")
    return True, "accepted"


def _count(source_id: int, outcome: str) -> None:
    try:
        from shared.redis_client import get_redis

        get_redis().hincrby(f"newswire:websub:counts:{source_id}", outcome, 1)
    except Exception:  # noqa: BLE001
        pass


def renew_due() -> int:
    """Re-subscribe every verified subscription whose lease ends within its margin."""
    settings = get_settings()
    now = datetime.now(timezone.utc)
    limit = now + _renew_margin(settings.ingest_websub_lease)
    with session_scope() as session:
        rows = session.execute(select(Source.id, Source.websub_hub, Source.websub_topic)
                               .where(Source.websub_state == "verified", Source.status != "paused",
                                      Source.websub_lease_until <= limit)).all()
    renewed = 0
    for source_id, hub, topic in rows:
        try:
            subscribe(source_id, hub, topic)
            renewed += 1
        except Exception as exc:  # noqa: BLE001
            log.warning("WebSub renewal of source %s failed: %s", source_id, exc)
    return renewed
