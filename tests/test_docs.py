"""/docs and /redoc work without internet access: every asset is served by the service."""

from __future__ import annotations

import re

import httpx
import pytest

ASSET = re.compile(r"""(?:src|href)=["']([^"']+)["']|url:\s*["']([^"']+)["']""")


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
async def test_docs_page_names_no_external_url_and_its_assets_load(
    client: httpx.AsyncClient, page: str
) -> None:
    response = await client.get(page)
    assert response.status_code == 200
    html = response.text
    assert not re.search(r"(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}", html, re.IGNORECASE), html
    assets = [a or b for a, b in ASSET.findall(html)]
    assert any(a.endswith(".js") for a in assets)
    if page == "/docs":
        assert '"validatorUrl": null' in html
    for asset in assets:
        if asset.startswith("/"):
            loaded = await client.get(asset)
            assert loaded.status_code == 200, asset
            assert loaded.content


async def test_openapi_document_describes_the_national_sync(client: httpx.AsyncClient) -> None:
    document = (await client.get("/openapi.json")).json()
    assert "/v1/compat/dvcqg" in document["paths"]
    assert "SyncBody" in document["components"]["schemas"]


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
async def test_docs_page_names_no_host_but_the_service_and_its_favicon_is_local(
    client: httpx.AsyncClient, page: str
) -> None:
    html = (await client.get(page)).text
    assert set(re.findall(r"https?://([^/\"'\s<>]+)", html)) <= {"testserver"}, html
    icon = re.search(r"""rel=["']shortcut icon["']\s+href=["']([^"']+)["']""", html)
    assert icon is not None and icon.group(1).startswith("/"), html
    loaded = await client.get(icon.group(1))
    assert loaded.status_code == 200
    assert loaded.headers["content-type"].startswith("image/")
    # ReDoc shows info.x-logo when there is one: it must come from the service too.
    logo = (await client.get("/openapi.json")).json()["info"].get("x-logo")
    assert logo is None or str(logo.get("url", "")).startswith("/")
