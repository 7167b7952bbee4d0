"""/dashboard: one self-contained page in Vietnamese that reads the online-ratio API."""

from __future__ import annotations

import re

import httpx


async def test_dashboard_is_self_contained_and_in_vietnamese(client: httpx.AsyncClient) -> None:
    response = await client.get("/dashboard")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    html = response.text
    assert '<html lang="vi">' in html and "Tỷ lệ hồ sơ nộp trực tuyến" in html
    # No script, style or image from elsewhere; the SVG namespace is an identifier, not a fetch.
    assert not re.search(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", html)
    assert "/v1/stats/online-ratio" in html and "sessionStorage" in html
