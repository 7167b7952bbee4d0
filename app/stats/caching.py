"""HTTP caching of statistics: a strong ETag over the exact bytes, and 304 on a match."""

from __future__ import annotations

import hashlib

from fastapi import Request, Response

# Figures depend on the key's scope and change with every ingest: caches must revalidate.
CACHE_CONTROL = "private, no-cache"


def etag_for(body: bytes) -> str:
    """A strong validator: changes exactly when the representation's bytes change."""
    return '"' + hashlib.sha256(body).hexdigest()[:40] + '"'


def _matches(if_none_match: str, etag: str) -> bool:
    candidates = [tag.strip() for tag in if_none_match.split(",")]
    # Weak comparison, as RFC 9110 prescribes for If-None-Match.
    return "*" in candidates or etag in [c.removeprefix("W/") for c in candidates]


def conditional_response(
    request: Request,
    body: bytes,
    media_type: str,
    filename: str | None = None,
) -> Response:
    """200 with the body and its ETag, or 304 when the client already holds these bytes."""
    etag = etag_for(body)
    headers = {"ETag": etag, "Cache-Control": CACHE_CONTROL, "Vary": "Authorization"}
    if_none_match = request.headers.get("if-none-match")
    if if_none_match and _matches(if_none_match, etag):
        return Response(status_code=304, headers=headers)
    if filename:
        headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return Response(body, media_type=media_type, headers=headers)
