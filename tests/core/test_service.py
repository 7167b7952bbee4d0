"""Health, readiness, the OpenAPI document and error rendering."""

from __future__ import annotations

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine


async def test_healthz_needs_no_key(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readyz_is_200_at_the_latest_migration(client: httpx.AsyncClient) -> None:
    response = await client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["status"] == "ready"


async def test_readyz_is_503_when_the_schema_is_behind(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    async with engine.begin() as conn:
        head = await conn.scalar(text("SELECT version_num FROM alembic_version"))
        await conn.execute(text("UPDATE alembic_version SET version_num = 'older'"))
    try:
        response = await client.get("/readyz")
        assert response.status_code == 503
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["state"] == "migrating"
        assert response.json()["status"] == 503
        assert "retry-after" in response.headers
    finally:
        async with engine.begin() as conn:
            await conn.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": head})


async def test_unknown_path_is_404_problem(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/nothing-here")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


async def test_wrong_method_is_405_problem(client: httpx.AsyncClient) -> None:
    response = await client.delete("/v1/events")
    assert response.status_code == 405
    assert response.headers["content-type"] == "application/problem+json"


async def test_openapi_documents_every_contract_endpoint(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    paths = spec["paths"]
    for path, method in [
        ("/v1/events", "post"),
        ("/v1/dossiers/{code}", "get"),
        ("/v1/stats/online-ratio", "get"),
        ("/v1/domains/{code}", "put"),
        ("/v1/domains", "get"),
        ("/v1/units/{code}", "put"),
        ("/v1/units", "get"),
        ("/healthz", "get"),
        ("/readyz", "get"),
    ]:
        operation = paths[path][method]
        assert operation["summary"] and operation["description"], path
    ingest = paths["/v1/events"]["post"]
    assert ingest["requestBody"]["content"]["application/json"]["example"]["events"]
    assert {"401", "403", "413", "422"} <= set(ingest["responses"])
    dossier = spec["components"]["schemas"]["DossierIn"]["properties"]
    assert "MaHoSo" in dossier["code"]["description"]
    assert "TrangThaiHoSo" in dossier["status"]["description"]
    assert spec["components"]["securitySchemes"]


async def test_docs_page_is_served(client: httpx.AsyncClient) -> None:
    response = await client.get("/docs")
    assert response.status_code == 200
    assert "swagger" in response.text.lower()
