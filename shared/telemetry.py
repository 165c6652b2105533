"""Logging and worker identity shared by every process."""

from __future__ import annotations

import logging
import os
import socket

_configured = False


def configure_logging(level: str | None = None) -> None:
    global _configured
    if _configured:
        return
    logging.basicConfig(
        level=(level or os.environ.get("NEWSWIRE_LOG_LEVEL", "INFO")).upper(),
        format="%(asctime)s %(levelname)s %(name)s [%(process)d] %(message)s",
    )
    _configured = True


def worker_name() -> str:
    """host:pid of this process, as written in traces and delivery attempts."""
    return f"{socket.gethostname()}:{os.getpid()}"


def get_logger(name: str) -> logging.Logger:
    return logging.getLogger(name)
