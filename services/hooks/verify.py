"""Signature verification of inbound calls.

Standard Webhooks (the default): ``webhook-id``, ``webhook-timestamp`` (integer seconds) and
``webhook-signature`` (space-separated ``v1,<base64 HMAC-SHA256 of id.timestamp.body>``), ``whsec_`` secrets.
The timestamp must be within +/- 5 minutes. Any signature may match any active secret of the hook (rotation:
the sender signs with old and new, or we accept either during the grace period).

The signature itself is checked by the ``standardwebhooks`` library (``Webhook.verify``: HMAC-SHA256 and
``hmac.compare_digest``). We parse the headers first, because the library raises ValueError / binascii.Error /
UnicodeDecodeError (not its WebhookVerificationError) on a malformed signature list or a non-UTF-8 body: a
hostile caller must get a 400, not a 500. The timestamp is checked here too, so stale and future calls get
their own reason.

GitHub style (per hook): ``X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the body>``, the id in
``X-GitHub-Delivery`` (or ``webhook-id``). GitHub signs no timestamp: a replay is stopped only because its id is
remembered (in the store, for good).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import time
from typing import Mapping

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

TOLERANCE = 300  # seconds either side of our clock
MAX_ID = 255
_ID = re.compile(r"^[\x21-\x7e]{1,255}$")  # visible ASCII, no spaces
_TIMESTAMP = re.compile(r"^[0-9]{1,12}$")
_SIGNATURE = re.compile(r"^(v[0-9]+[a-z]*),([A-Za-z0-9+/]+={0,2})$")
_GITHUB = re.compile(r"^sha256=([0-9a-fA-F]{64})$")


class Refused(Exception):
    """The call is refused: ``status`` and a ``reason`` the caller and the operator can read."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def message_id(headers: Mapping[str, str], scheme: str) -> str | None:
    """The caller's id of this message (for replay protection), if it gave one that is well formed."""
    value = headers.get("webhook-id") if scheme == "standard" else (
        headers.get("x-github-delivery") or headers.get("webhook-id"))
    return value if value and _ID.match(value) else None


def verify(scheme: str, secrets: tuple[tuple[str, str], ...], headers: Mapping[str, str], body: bytes,
           now: float | None = None) -> str:
    """Returns the fingerprint of the secret that verified the call; raises Refused. Headers in lower case."""
    if not secrets:
        raise Refused(401, "this hook has no active secret (rotate it to make one)")
    if scheme == "github":
        return _github(secrets, headers, body)
    return _standard(secrets, headers, body, time.time() if now is None else now)


def _standard(secrets: tuple[tuple[str, str], ...], headers: Mapping[str, str], body: bytes, now: float) -> str:
    missing = [h for h in ("webhook-id", "webhook-timestamp", "webhook-signature") if not headers.get(h)]
    if missing:
        raise Refused(400, f"missing header(s): {', '.join(missing)} (Standard Webhooks)")
    msg_id, stamp, signature = headers["webhook-id"], headers["webhook-timestamp"], headers["webhook-signature"]
    if not _ID.match(msg_id):
        raise Refused(400, f"webhook-id must be 1 to {MAX_ID} visible ASCII characters")
    if not _TIMESTAMP.match(stamp.strip()):
        raise Refused(400, "webhook-timestamp must be integer seconds since the epoch")
    skew = now - int(stamp)
    if skew > TOLERANCE:
        raise Refused(401, f"webhook-timestamp is {int(skew)} s old: more than {TOLERANCE} s (stale or replayed)")
    if skew < -TOLERANCE:
        raise Refused(401, f"webhook-timestamp is {int(-skew)} s in the future: more than {TOLERANCE} s")
    parts = signature.split()
    if len(parts) > 32:
        raise Refused(400, "webhook-signature has more than 32 signatures")
    v1 = []
    for part in parts:
        match = _SIGNATURE.match(part)
        if match is None:
            raise Refused(400, "webhook-signature must be space-separated 'v1,<base64>' signatures")
        try:
            base64.b64decode(match.group(2), validate=True)
        except (binascii.Error, ValueError):
            raise Refused(400, "webhook-signature has a signature that is not base64") from None
        if match.group(1) == "v1":
            v1.append(part)
    if not v1:
        raise Refused(401, "webhook-signature has no v1 (HMAC-SHA256) signature")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise Refused(400, "the body is not UTF-8 (hook bodies are JSON)") from None
    given = {"webhook-id": msg_id, "webhook-timestamp": stamp.strip(), "webhook-signature": " ".join(v1)}
    for print_, secret in secrets:
        try:
            Webhook(secret).verify(text, given, json_parse=False)
        except WebhookVerificationError as exc:
            if "too old" in str(exc) or "too new" in str(exc):  # our clock moved past the edge meanwhile
                raise Refused(401, f"webhook-timestamp outside +/- {TOLERANCE} s") from None
            continue
        except Exception:  # noqa: BLE001  (a secret the library cannot read: it verifies nothing)
            continue
        return print_
    raise Refused(401, "no signature matches a secret of this hook (wrong secret, or the body was altered)")


def github_signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def _github(secrets: tuple[tuple[str, str], ...], headers: Mapping[str, str], body: bytes) -> str:
    header = headers.get("x-hub-signature-256")
    if not header:
        raise Refused(400, "missing header: X-Hub-Signature-256 (this hook is GitHub style)")
    match = _GITHUB.match(header.strip())
    if match is None:
        raise Refused(400, "X-Hub-Signature-256 must be 'sha256=' and 64 hex digits")
    if message_id(headers, "github") is None:
        raise Refused(400, "missing header: X-GitHub-Delivery (or webhook-id): an id for replay protection")
    given = match.group(1).lower().encode()
    found = None
    for print_, secret in secrets:
        expected = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest().encode()
        if hmac.compare_digest(expected, given) and found is None:
            found = print_
    if found is None:
        raise Refused(401, "X-Hub-Signature-256 matches no secret of this hook (wrong secret, or the body was altered)")
    return found
