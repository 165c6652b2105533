"""Engine and sessions: SQLite (WAL) by default, PostgreSQL through DATABASE_URL.

Engines are per process: a worker forked by Celery's prefork pool builds its own.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from sqlalchemy import Engine, create_engine, event
from sqlalchemy import exc as sa_exc
from sqlalchemy.orm import Session, sessionmaker

from shared.settings import get_settings

_engine: Engine | None = None
_engine_pid: int | None = None
_sessionmaker: sessionmaker[Session] | None = None


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # noqa: ANN001
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30}, pool_pre_ping=True)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5)


def get_engine() -> Engine:
    global _engine, _engine_pid, _sessionmaker
    if _engine is None or _engine_pid != os.getpid():
        _engine = make_engine(get_settings().sqlalchemy_url)
        _engine_pid = os.getpid()
        _sessionmaker = sessionmaker(_engine, expire_on_commit=False)
    return _engine


def dispose_engine() -> None:
    global _engine, _sessionmaker
    if _engine is not None and _engine_pid == os.getpid():
        _engine.dispose()
    _engine = None
    _sessionmaker = None


@contextmanager
def session_scope() -> Iterator[Session]:
    """A transaction: committed on success, rolled back on error."""
    get_engine()
    assert _sessionmaker is not None
    session = _sessionmaker()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


_SQLITE_UNAVAILABLE = ("locked", "busy", "unable to open", "disk i/o")


def store_unavailable(exc: BaseException) -> bool:
    """The database could not be reached or answer (connection refused or lost, pool exhausted, SQLite locked,
    a deadlock or a cancelled statement): the message is not at fault, the store is. Explicit causes count too.
    SQLite reports a missing table as an OperationalError as well: that one is not waited for."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, sa_exc.OperationalError) and type(seen.orig).__module__.startswith("sqlite3"):
            if any(word in str(seen.orig).lower() for word in _SQLITE_UNAVAILABLE):
                return True
        elif isinstance(seen, (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.TimeoutError)):
            return True
        if isinstance(seen, sa_exc.DBAPIError) and seen.connection_invalidated:
            return True
        seen = seen.__cause__
    return False


def alembic_config(url: str | None = None):  # noqa: ANN201
    from alembic.config import Config

    here = Path(__file__).parent
    config = Config()
    config.set_main_option("script_location", str(here / "migrations"))
    config.set_main_option("sqlalchemy.url", url or get_settings().sqlalchemy_url)
    return config


def upgrade_schema(url: str | None = None) -> None:
    """Bring the database to the newest migration (safe to call at every start)."""
    from alembic import command

    url = url or get_settings().sqlalchemy_url
    if url.startswith("sqlite"):
        make_engine(url).dispose()  # creates the folder
    command.upgrade(alembic_config(url), "heads")


def find_version(session: Session, article_id: str, version: int | None):  # noqa: ANN201
    """The stored version of an article, or a PermanentError saying it is missing."""
    from sqlalchemy import select

    from shared.errors import PermanentError
    from shared.store.models import ArticleVersion

    row = None
    if version is not None:
        row = session.execute(
            select(ArticleVersion).where(ArticleVersion.article_id == article_id, ArticleVersion.version == version)
        ).scalar_one_or_none()
    if row is None:
        raise PermanentError(f"article {article_id} version {version} is not in the store")
    return row
