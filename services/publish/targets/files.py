"""A directory target: one file per article version and event, written atomically; for archives and tests.

Layout: ``<directory>/<article id>/v<version>.<event>.<json|xml>`` (a retraction writes its own file).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator

from services.publish.targets.base import Outgoing, SendError, Sent, TargetBase


class FilesTarget(TargetBase):
    kind: Literal["files"] = "files"
    directory: Path
    format: Literal["json", "ninjs", "newsml"] = "ninjs"

    @field_validator("directory")
    @classmethod
    def _absolute(cls, value: Path) -> Path:
        return value.expanduser().resolve()

    @property
    def url(self) -> str:
        return self.directory.as_uri()


def path_for(target: FilesTarget, outgoing: Outgoing) -> Path:
    document = outgoing.document
    suffix = "xml" if target.format == "newsml" else "json"
    return target.directory / document["id"] / f"v{document['version']}.{outgoing.event}.{suffix}"


def send(target: FilesTarget, outgoing: Outgoing) -> Sent:
    from services.publish.formats import render

    body, _content_type = render(target.format, outgoing)
    path = path_for(target, outgoing)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        with os.fdopen(handle, "wb") as out:
            out.write(body)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except OSError as exc:
        # A full or read-only disk may come back: retried on the schedule.
        raise SendError(f"cannot write {path}: {exc.strerror or exc}", transient=True) from exc
    return Sent(None, excerpt=str(path))
