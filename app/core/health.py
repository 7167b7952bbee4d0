"""Liveness and readiness probes (no key needed)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text

from app.core.openapi import problem_response
from app.core.problems import service_unavailable

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="Liveness", description="200 while the process is up.")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/readyz",
    summary="Readiness",
    description="200 when the database answers and its schema is at the latest migration; "
    "503 (problem+json, with `state` `unavailable` or `migrating`) otherwise.",
    responses={503: problem_response("Not ready: the database is unreachable or not migrated.")},
)
async def readyz(request: Request) -> JSONResponse:
    head: str = request.app.state.migration_head
    try:
        async with request.app.state.engine.connect() as conn:
            current = await conn.scalar(text("SELECT version_num FROM alembic_version"))
    except Exception as exc:  # any failure here means "not ready", whatever its kind
        return service_unavailable(
            f"database: {type(exc).__name__}", extensions={"state": "unavailable"}
        )
    if current != head:
        return service_unavailable(
            f"the schema is at {current}, the service expects {head}",
            extensions={"state": "migrating", "schema": current, "expected": head},
        )
    return JSONResponse({"status": "ready", "schema": current})
