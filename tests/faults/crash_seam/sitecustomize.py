"""Test-only: a payload that kills its worker, reached through real input. Never on a production path: Python
loads this file only when a rehearsal puts this folder on PYTHONPATH (tests/faults/test_worker_lost.py does, for
its own pipeline's processes).

With CRASH_SEAM_PORT set, a process that opens a TCP connection to 127.0.0.1 on that port (an ingest worker
fetching a page from the rehearsal's "deadly" site) dies at once by SIGKILL, as under the out-of-memory killer or
a crash in a C library: no exception, no cleanup. Each death is first appended to CRASH_SEAM_LOG (the process id),
so the rehearsal counts the deaths itself. While the file CRASH_SEAM_OFF exists, nothing is killed.
"""

import os
import signal
import sys

_PORT = os.environ.get("CRASH_SEAM_PORT")


def _deadly_connect(event, args):  # noqa: ANN001, ANN202
    if event != "socket.connect" or len(args) < 2:
        return
    address = args[1]
    if not (isinstance(address, tuple) and len(address) >= 2 and str(address[1]) == _PORT):
        return
    if os.path.exists(os.environ.get("CRASH_SEAM_OFF", "")):
        return
    with open(os.environ["CRASH_SEAM_LOG"], "a", encoding="utf-8") as log:
        log.write(f"{os.getpid()}\n")
    os.kill(os.getpid(), signal.SIGKILL)


if _PORT:
    sys.addaudithook(_deadly_connect)
