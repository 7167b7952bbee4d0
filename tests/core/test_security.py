"""Security headers, the CORS allow-list, and keys kept out of the logs."""

from __future__ import annotations

import logging

import httpx
import pytest

from app.config import Settings
from tests.conftest import MakeKey, bearer, event
from tests.core.test_limits import client_for

PORTAL = "https://portal.hanoi.example"


@pytest.mark.parametrize("path", ["/healthz", "/docs", "/openapi.json", "/v1/domains", "/nowhere"])
async def test_every_answer_carries_security_headers(client: httpx.AsyncClient, path: str) -> None:
    response = await client.get(path)
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert response.headers["referrer-policy"] == "no-referrer"
    assert "server" not in response.headers


async def test_docs_still_work(client: httpx.AsyncClient) -> None:
    response = await client.get("/docs")
    assert response.status_code == 200
    assert "swagger" in response.text.lower()


async def test_middleware_answers_carry_security_headers(api: httpx.AsyncClient) -> None:
    response = await api.get("/v1/dossiers/a%00b")
    assert response.status_code == 400
    assert response.headers["x-content-type-options"] == "nosniff"


async def test_cors_allows_only_the_configured_origin(
    settings: Settings, make_key: MakeKey
) -> None:
    key = bearer(await make_key("read"))
    async with client_for(settings, cors_origins=[PORTAL]) as c:
        preflight = await c.options(
            "/v1/domains",
            headers={
                "Origin": PORTAL,
                "Access-Control-Request-Method": "GET",
                "Access-Control-Request-Headers": "authorization",
            },
        )
        assert preflight.status_code == 200
        assert preflight.headers["access-control-allow-origin"] == PORTAL
        response = await c.get("/v1/domains", headers={"Origin": PORTAL, **key})
        assert response.headers["access-control-allow-origin"] == PORTAL
        other = await c.get("/v1/domains", headers={"Origin": "https://evil.example", **key})
        assert "access-control-allow-origin" not in other.headers


async def test_no_cross_origin_access_by_default(api: httpx.AsyncClient) -> None:
    response = await api.get("/v1/domains", headers={"Origin": PORTAL})
    assert "access-control-allow-origin" not in response.headers


def test_cors_origins_read_from_a_comma_separated_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CORS_ORIGINS", f"{PORTAL}, https://other.example")
    assert Settings().cors_origins == [PORTAL, "https://other.example"]


async def test_keys_never_reach_the_logs(
    client: httpx.AsyncClient, make_key: MakeKey, caplog: pytest.LogCaptureFixture
) -> None:
    key = await make_key("ingest", "read")
    caplog.set_level(logging.DEBUG)
    await client.post("/v1/events", json={"events": [event("e1")]}, headers=bearer(key))
    await client.get("/v1/dossiers/D1", headers=bearer(key))
    await client.get("/v1/domains", headers=bearer(key + "x"))
    await client.put("/v1/domains/X", json={"name": "x", "online_target": 0.5}, headers=bearer(key))
    assert key not in caplog.text
    assert key[4:] not in caplog.text
