"""/dashboard: one self-contained page in Vietnamese that reads the statistics API."""

from __future__ import annotations

import re

import httpx

# The only URL the page may spell out: the SVG namespace, an identifier that is never fetched.
SVG_NAMESPACE = "www.w3.org/2000/svg"


async def test_dashboard_is_self_contained_and_in_vietnamese(client: httpx.AsyncClient) -> None:
    response = await client.get("/dashboard")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    html = response.text
    assert '<html lang="vi">' in html and "Tỷ lệ hồ sơ nộp trực tuyến" in html
    # No script, style or image from elsewhere.
    assert not re.search(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", html)
    assert not re.search(r"@import|url\(\s*[\"']?(?:https?:)?//", html)
    for path in ["/v1/stats/online-ratio", "/v1/stats/report-06", "/v1/stats/indicators"]:
        assert path in html
    assert "/v1/dossiers" in html and "sessionStorage" in html


async def test_dashboard_names_no_outside_host(client: httpx.AsyncClient) -> None:
    """Government networks have no internet: the page names no host at all (its requests go to
    the service that served it; tests/dashboard/test_dashboard_e2e.py watches them in a browser)."""
    html = (await client.get("/dashboard")).text
    hosts = set(re.findall(r"(?:https?:)?//([a-z0-9.-]+\.[a-z]{2,}[^\s\"'<>)]*)", html, re.I))
    assert hosts <= {SVG_NAMESPACE}, hosts
