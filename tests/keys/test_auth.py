"""Keys: 401 without a known key, 403 without the scope, revocation at once."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from app.keys.service import hash_key
from tests.conftest import MakeKey, bearer, event

ENDPOINTS = [
    ("POST", "/v1/events", "ingest"),
    ("GET", "/v1/dossiers/D1", "read"),
    ("GET", "/v1/stats/online-ratio?from=2017-01-01&to=2017-12-31", "read"),
    ("GET", "/v1/domains", "read"),
    ("GET", "/v1/units", "read"),
    ("PUT", "/v1/domains/TP", "admin"),
    ("PUT", "/v1/units/282", "admin"),
    ("PUT", "/v1/procedures/1.001193", "admin"),
    ("GET", "/v1/procedures", "read"),
    ("GET", "/v1/stats/report-06?from=2017-01-01&to=2017-12-31", "read"),
    ("GET", "/v1/stats/procedure-coverage", "read"),
    ("POST", "/v1/compat/dvcqg", "ingest"),
]


@pytest.mark.parametrize(("method", "path", "scope"), ENDPOINTS)
async def test_missing_key_is_401_problem(
    client: httpx.AsyncClient, method: str, path: str, scope: str
) -> None:
    response = await client.request(method, path)
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json()["status"] == 401


@pytest.mark.parametrize(("method", "path", "scope"), ENDPOINTS)
async def test_unknown_key_is_401(
    client: httpx.AsyncClient, method: str, path: str, scope: str
) -> None:
    response = await client.request(method, path, headers=bearer("dsk_not-a-real-key"))
    assert response.status_code == 401


@pytest.mark.parametrize(("method", "path", "scope"), ENDPOINTS)
async def test_key_without_the_scope_is_403(
    client: httpx.AsyncClient, make_key: MakeKey, method: str, path: str, scope: str
) -> None:
    others = [s for s in ("ingest", "read", "admin") if s != scope]
    key = await make_key(*others)
    response = await client.request(method, path, headers=bearer(key))
    assert response.status_code == 403
    assert response.headers["content-type"] == "application/problem+json"
    assert scope in response.json()["detail"]


async def test_basic_auth_is_not_a_key(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/domains", headers={"Authorization": "Basic dXNlcjpwdw=="})
    assert response.status_code == 401


async def test_revoked_key_stops_working_at_once(
    client: httpx.AsyncClient, make_key: MakeKey, session: AsyncSession
) -> None:
    from sqlalchemy import select

    from app.keys.service import revoke_key
    from app.models import ApiKey

    key = await make_key("read")
    assert (await client.get("/v1/domains", headers=bearer(key))).status_code == 200
    key_id = await session.scalar(select(ApiKey.id).where(ApiKey.key_hash == hash_key(key)))
    assert key_id is not None
    await revoke_key(session, key_id)
    await session.commit()
    assert (await client.get("/v1/domains", headers=bearer(key))).status_code == 401


async def test_only_a_hash_of_the_key_is_stored(make_key: MakeKey, session: AsyncSession) -> None:
    from sqlalchemy import text

    key = await make_key("read")
    row = (await session.execute(text("SELECT * FROM api_keys"))).mappings().one()
    assert key not in {str(v) for v in row.values()}
    assert bytes(row["key_hash"]) == hash_key(key)


async def test_ingest_key_cannot_read(client: httpx.AsyncClient, make_key: MakeKey) -> None:
    key = await make_key("ingest")
    ok = await client.post("/v1/events", json={"events": [event("e1")]}, headers=bearer(key))
    assert ok.status_code == 200
    assert (await client.get("/v1/dossiers/D1", headers=bearer(key))).status_code == 403


@pytest.mark.parametrize(("method", "path", "scope"), ENDPOINTS)
async def test_the_scope_alone_is_enough(
    client: httpx.AsyncClient, make_key: MakeKey, method: str, path: str, scope: str
) -> None:
    response = await client.request(method, path, headers=bearer(await make_key(scope)))
    assert response.status_code not in (401, 403), response.text


@pytest.mark.parametrize("scopes", [["reed"], ["read", "root"], []])
async def test_a_key_with_an_unknown_or_no_scope_is_not_made(
    session: AsyncSession, scopes: list[str]
) -> None:
    from sqlalchemy import func, select

    from app.core.problems import ValidationFailed
    from app.keys.service import create_key
    from app.models import ApiKey

    with pytest.raises(ValidationFailed, match="scopes must be among"):
        await create_key(session, name="x", scopes=scopes)
    await session.rollback()
    assert await session.scalar(select(func.count()).select_from(ApiKey)) == 0
