"""Raw bytes by reference (claim check): stored once under their SHA-256, fetched by key."""

from __future__ import annotations

import hashlib

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from shared.errors import PermanentError
from shared.store.models import Blob


def blob_key(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def put_blob(session: Session, data: bytes, content_type: str | None = None) -> str:
    """Store ``data`` once; storing the same bytes again is a no-op. Returns the key."""
    key = blob_key(data)
    values = {"key": key, "size": len(data), "content_type": content_type, "data": data}
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        statement = pg_insert(Blob).values(**values).on_conflict_do_nothing(index_elements=["key"])
    elif dialect == "sqlite":
        statement = sqlite_insert(Blob).values(**values).on_conflict_do_nothing(index_elements=["key"])
    else:  # pragma: no cover - other backends
        if session.get(Blob, key) is None:
            session.add(Blob(**values))
        return key
    session.execute(statement)
    return key


def get_blob(session: Session, key: str) -> bytes:
    data = session.execute(select(Blob.data).where(Blob.key == key)).scalar_one_or_none()
    if data is None:
        raise PermanentError(f"raw bytes {key} are missing from the blob store")
    return data
