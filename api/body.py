"""Request bodies read by the route, capped as they arrive.

FastAPI reads a declared body whole before any check of ours runs, so a route that takes
something large (a photo, an import, the public report form) declares no body parameter
and reads it here instead: a declared Content-Length over the cap is refused before a
byte is read, and a body sent without one (chunked) is cut off once it passes the cap.
Both are a 413 naming the cap; nothing is held beyond it.
"""

from __future__ import annotations

from collections.abc import Mapping

from fastapi import HTTPException, Request

__all__ = ["read_capped"]


async def read_capped(
    request: Request, limit: int, too_large: str, headers: Mapping[str, str] | None = None
) -> bytes:
    """The whole body, at most ``limit`` bytes; past it a 413 whose detail is
    ``too_large`` (and a 400 for a Content-Length that is not a number). ``headers`` go
    on those answers too (a route's no-store, say)."""
    extra = dict(headers or {})
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise HTTPException(400, "Content-Length is not a number", headers=extra)
        if int(declared) > limit:
            raise HTTPException(413, too_large, headers=extra)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise HTTPException(413, too_large, headers=extra)
        chunks.append(chunk)
    return b"".join(chunks)
