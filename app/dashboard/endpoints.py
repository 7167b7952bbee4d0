"""`GET /dashboard`: one self-contained page (no CDN) that draws the figures of the API."""

from __future__ import annotations

from functools import cache
from importlib.resources import files

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

router = APIRouter(tags=["dashboard"])


@router.get(
    "/dashboard",
    summary="Dashboard for city staff",
    description="An HTML page in Vietnamese: online-filing ratio per domain against its target "
    "for a chosen period and unit, the monthly trend, the ranking of units. It asks for a read "
    "key (kept in the tab's sessionStorage) and calls `/v1/stats/online-ratio`.",
    response_class=HTMLResponse,
)
async def dashboard() -> HTMLResponse:
    return HTMLResponse(_page(), headers={"Cache-Control": "no-cache"})


@cache
def _page() -> str:
    """The page, read from the package once per process."""
    return files("app.dashboard").joinpath("dashboard.html").read_text(encoding="utf-8")
