"""The store: SQLAlchemy 2 models, sessions, migrations and the raw-bytes blob store."""

from shared.store.db import find_version, get_engine, session_scope, store_unavailable, upgrade_schema
from shared.store.models import (
    Article,
    ArticleVersion,
    Base,
    Blob,
    DeadLetter,
    Delivery,
    DeliveryAttempt,
    Source,
)

__all__ = [
    "Article",
    "ArticleVersion",
    "Base",
    "Blob",
    "DeadLetter",
    "Delivery",
    "DeliveryAttempt",
    "Source",
    "find_version",
    "get_engine",
    "session_scope",
    "store_unavailable",
    "upgrade_schema",
]
