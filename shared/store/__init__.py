"""The store: SQLAlchemy 2 models, sessions, migrations and the raw-bytes blob store."""

from shared.store.db import get_engine, session_scope, upgrade_schema
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
    "get_engine",
    "session_scope",
    "upgrade_schema",
]
