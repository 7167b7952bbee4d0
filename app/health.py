"""Liveness and readiness probes (no key needed)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text

from app.errors import RETRY_AFTER_SECONDS

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="Liveness", description="200 while the process is up.")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/readyz",
    summary="Readiness",
    description="200 when the database answers and its schema is at the latest migration; "
    "503 otherwise.",
    responses={503: {"description": "Not ready"}},
)
async def readyz(request: Request) -> JSONResponse:
    head: str = request.app.state.migration_head
    try:
        async with request.app.state.engine.connect() as conn:
            current = await conn.scalar(text("SELECT version_num FROM alembic_version"))
    except Exception as exc:  # any failure here means "not ready", whatever its kind
        return JSONResponse(
            {"status": "unavailable", "detail": f"database: {type(exc).__name__}"},
            status_code=503,
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )
    if current != head:
        return JSONResponse(
            {"status": "migrating", "schema": current, "expected": head}, status_code=503
        )
    return JSONResponse({"status": "ready", "schema": current})
