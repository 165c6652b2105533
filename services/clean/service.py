"""The clean stage: raw bytes in, a cleaned (and versioned) article out."""

from __future__ import annotations

from shared.errors import PermanentError
from shared.payload import ArticlePayload, content_hash
from shared.store import session_scope
from shared.store.blobs import get_blob
from services.clean.extract import extract
from services.clean.versions import VersionOutcome, record_version


def clean(payload: ArticlePayload) -> VersionOutcome:
    """Extract, hash and record the version; fills ``payload.clean``, ``content_hash`` and ``version`` in place."""
    if not payload.raw_key:
        raise PermanentError("payload carries no raw bytes key")
    with session_scope() as session:
        raw = get_blob(session, payload.raw_key)
    part = extract(raw, payload.url, payload.http_charset)
    payload.clean = part
    payload.canonical_url = part.canonical_url or payload.url
    payload.content_hash = content_hash(part.title, part.text)
    outcome = record_version(payload)
    payload.version = outcome.version
    return outcome
