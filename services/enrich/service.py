"""The enrich stage: add the enrich part and store it on the version."""

from __future__ import annotations

from shared.errors import PermanentError
from shared.payload import ArticlePayload
from shared.store import find_version, session_scope
from services.enrich.registry import run_enrichers


def enrich(payload: ArticlePayload) -> ArticlePayload:
    if payload.clean is None or payload.version is None:
        raise PermanentError("enrich needs a cleaned, versioned article")
    payload.enrich = run_enrichers(payload)
    with session_scope() as session:
        version = find_version(session, payload.id, payload.version)
        version.enrich = payload.enrich.model_dump(mode="json")
        if version.status == "cleaned":
            version.status = "enriched"
    return payload
