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
    description="An HTML page in Vietnamese with three tabs: the online-filing ratio (per domain "
    "against its target, the monthly trend, the ranking of units), report 06 as the form, and the "
    "scorecard with the units ranked by points. Any number opens the dossiers behind it "
    "(`/v1/dossiers`, with CSV and XLSX downloads); the view is kept in the URL. It asks for a "
    "read key (kept in the tab's sessionStorage) and calls `/v1/units`, `/v1/domains`, "
    "`/v1/stats/online-ratio`, `/v1/stats/report-06`, `/v1/stats/indicators` and `/v1/dossiers`.",
    response_class=HTMLResponse,
)
async def dashboard() -> HTMLResponse:
    return HTMLResponse(_page(), headers={"Cache-Control": "no-cache"})


@cache
def _page() -> str:
    """The page, read from the package once per process."""
    return files("app.dashboard").joinpath("dashboard.html").read_text(encoding="utf-8")
