"""FastAPI dependencies that authenticate the caller and check its scope."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from app.core.problems import Forbidden, NotAuthenticated
from app.db import SessionDep
from app.keys.service import LOOKED_UP_KEY, Principal, authenticate

bearer = HTTPBearer(auto_error=False, description="An API key: `Authorization: Bearer <key>`.")


async def current_principal(
    request: Request,
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Principal:
    """The caller; 401 without a known, unrevoked key."""
    if credentials is None or not credentials.credentials:
        raise NotAuthenticated("Missing API key: send 'Authorization: Bearer <key>'.")
    looked_up = getattr(request.state, LOOKED_UP_KEY, None)  # by the rate limit, if on
    principal = await authenticate(session, credentials.credentials, looked_up)
    if principal is None:
        raise NotAuthenticated("Unknown or revoked API key.")
    return principal


def require_scope(scope: str) -> Callable[[Principal], Awaitable[Principal]]:
    """A dependency that lets only keys holding `scope` through (403 otherwise)."""

    async def check(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
        if scope not in principal.scopes:
            raise Forbidden(f"This key lacks the '{scope}' scope.")
        return principal

    return check


IngestKey = Annotated[Principal, Depends(require_scope("ingest"))]
ReadKey = Annotated[Principal, Depends(require_scope("read"))]
AdminKey = Annotated[Principal, Depends(require_scope("admin"))]
