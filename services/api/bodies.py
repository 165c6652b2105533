"""Request bodies read up to a limit: reading stops once the limit is passed, so a huge body is never held.

Starlette's ``request.body()`` reads everything first; uvicorn sets no limit of its own. Every endpoint that takes
a body of its own size limit reads it with :func:`read_capped` (a declared Content-Length past the limit is refused
before a byte is read).
"""

from __future__ import annotations

from fastapi import HTTPException, Request


async def read_capped(request: Request, limit: int) -> tuple[bytes | None, int]:
    """The body, or None once it passes ``limit`` (with the size seen so far, or the size declared)."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        return None, int(declared)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None, size
        chunks.append(chunk)
    return b"".join(chunks), size


async def body_within(request: Request, limit: int, detail: str) -> bytes:
    """The body, or a 413 with ``detail`` once it passes ``limit``."""
    body, _size = await read_capped(request, limit)
    if body is None:
        raise HTTPException(413, detail)
    return body
