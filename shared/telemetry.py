"""Logging and worker identity shared by every process.

Logs are structured: one JSON object per line (NEWSWIRE_LOG_FORMAT=json, the default) carrying, on every
line, the article id, source, stage and task id of the work in progress (null outside a task), so a line
can be joined with the article's trace and the console's story view. ``log_context`` sets them; StageTask
sets them around every task.
"""

from __future__ import annotations

import json
import logging
import os
import socket
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime, timezone
from typing import Any, Iterator

_configured = False
CONTEXT_FIELDS = ("article_id", "source", "stage", "task_id")
_context: ContextVar[dict[str, Any]] = ContextVar("newswire_log_context", default={})


@contextmanager
def log_context(**values: Any) -> Iterator[None]:
    """Attach ids (article_id, source, stage, task_id, ...) to every log line written inside the block."""
    token = _context.set({**_context.get(), **{k: v for k, v in values.items() if v is not None}})
    try:
        yield
    finally:
        _context.reset(token)


def current_context() -> dict[str, Any]:
    return dict(_context.get())


class ContextFilter(logging.Filter):
    """Copies the current ids onto each record; inside a Celery task without ids, the task's own."""

    def filter(self, record: logging.LogRecord) -> bool:
        context = _context.get()
        for key in CONTEXT_FIELDS:
            if not hasattr(record, key):
                setattr(record, key, context.get(key))
        if record.task_id is None:  # type: ignore[attr-defined]
            try:
                from celery._state import get_current_task

                task = get_current_task()
                if task is not None and task.request.id:
                    record.task_id = task.request.id  # type: ignore[attr-defined]
                    if record.stage is None:  # type: ignore[attr-defined]
                        record.stage = getattr(task, "stage", None) or task.name.split(".")[0]  # type: ignore[attr-defined]
                    args = task.request.args or ()
                    if record.article_id is None and args and isinstance(args[0], dict):  # type: ignore[attr-defined]
                        from shared.metrics import message_ids

                        for key, value in message_ids(args[0]).items():
                            if getattr(record, key, None) is None:
                                setattr(record, key, value)
            except Exception:  # noqa: BLE001
                pass
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "process": record.process,
        }
        for key in CONTEXT_FIELDS:
            entry[key] = getattr(record, key, None)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def configure_logging(level: str | None = None, fmt: str | None = None, force: bool = False) -> None:
    """Root logging for this process: JSON lines (default) or text, with the context ids on every line."""
    global _configured
    root = logging.getLogger()
    if not force and (_configured or root.handlers):
        return  # configured already (by us, or by whoever runs this process: pytest, an embedding program)
    fmt = (fmt or os.environ.get("NEWSWIRE_LOG_FORMAT", "json")).lower()
    handler = logging.StreamHandler()
    handler.addFilter(ContextFilter())
    from shared.redact import RedactingFilter

    handler.addFilter(RedactingFilter())  # configured secrets never reach a log line
    if fmt == "text":
        handler.setFormatter(logging.Formatter(
            "%(asctime)s %(levelname)s %(name)s [%(process)d] [%(stage)s %(task_id)s %(article_id)s] %(message)s"))
    else:
        handler.setFormatter(JsonFormatter())
    for existing in list(root.handlers):
        root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel((level or os.environ.get("NEWSWIRE_LOG_LEVEL", "INFO")).upper())
    # httpx logs every request at INFO ("HTTP Request: POST ..."): a line per delivery and per fetch, a real cost
    # at hundreds a second, and said better by our own records (delivery attempts, fetch states). DEBUG shows it.
    logging.getLogger("httpx").setLevel(logging.DEBUG if root.level <= logging.DEBUG else logging.WARNING)
    _configured = True


def _celery_setup_logging(loglevel: Any = None, **_kwargs: Any) -> None:
    """Celery's setup_logging signal: with a receiver connected, Celery leaves logging to us (workers, beat)."""
    level = logging.getLevelName(loglevel) if isinstance(loglevel, int) else loglevel
    configure_logging(level if isinstance(level, str) else None, force=True)


def connect_celery_logging() -> None:
    from celery.signals import setup_logging

    setup_logging.connect(_celery_setup_logging, weak=False)


def worker_name() -> str:
    """host:pid of this process, as written in traces and delivery attempts."""
    return f"{socket.gethostname()}:{os.getpid()}"


def get_logger(name: str) -> logging.Logger:
    return logging.getLogger(name)
