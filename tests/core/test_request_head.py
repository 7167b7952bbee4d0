"""Issue 13 items 4 and 5 (application side): one Authorization header, limits per client address
for unknown keys, and bounded header count and size before any handler runs."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator

import httpx

from app.config import Settings
from tests.conftest import MakeKey, bearer
from tests.core.test_limits import assert_problem, client_for


async def test_a_second_authorization_header_is_400_before_authentication(
    client: httpx.AsyncClient, make_key: MakeKey
) -> None:
    key = await make_key("read")
    headers = [("Authorization", f"Bearer {key}"), ("Authorization", "Bearer other")]
    response = await client.get("/v1/domains", headers=headers)
    body = assert_problem(response, 400)
    assert body["errors"] == [
        {
            "loc": ["header", "authorization"],
            "msg": "the authorization header may be sent only once",
            "code": "duplicate_header",
        }
    ]


async def test_a_second_authorization_header_cannot_dodge_the_rate_limit(
    settings: Settings, make_key: MakeKey
) -> None:
    key = await make_key("read")
    async with client_for(settings, rate_limit_per_minute=2) as c:
        for _ in range(2):
            assert (await c.get("/v1/domains", headers=bearer(key))).status_code == 200
        for n in range(3):
            dodge = [("Authorization", f"Bearer {key}"), ("Authorization", f"Bearer x{n}")]
            assert (await c.get("/v1/domains", headers=dodge)).status_code == 400
        assert_problem(await c.get("/v1/domains", headers=bearer(key)), 429)


async def test_unknown_keys_are_rate_limited_per_client_address(
    settings: Settings, make_key: MakeKey
) -> None:
    async with client_for(settings, rate_limit_per_minute=3) as c:
        for _ in range(3):
            unknown = bearer("dsk_" + secrets.token_urlsafe(16))
            assert (await c.get("/v1/domains", headers=unknown)).status_code == 401
        limited = await c.get("/v1/domains", headers=bearer("dsk_" + secrets.token_urlsafe(16)))
        assert_problem(limited, 429)
        assert int(limited.headers["retry-after"]) >= 1


async def test_a_key_known_before_is_not_held_back_by_its_address(
    settings: Settings, make_key: MakeKey
) -> None:
    key = await make_key("read")
    async with client_for(settings, rate_limit_per_minute=3) as c:
        assert (await c.get("/v1/domains", headers=bearer(key))).status_code == 200
        for n in range(3):
            assert (await c.get("/v1/domains", headers=bearer(f"bad{n}"))).status_code == 401
        assert (await c.get("/v1/domains", headers=bearer("bad"))).status_code == 429
        assert (await c.get("/v1/domains", headers=bearer(key))).status_code == 200


async def test_more_than_100_headers_is_431(client: httpx.AsyncClient) -> None:
    headers = [(f"x-h{n}", "v") for n in range(101)]
    body = assert_problem(await client.get("/healthz", headers=headers), 431)
    assert "100 headers" in body["detail"]
    assert (await client.get("/healthz", headers=headers[:90])).status_code == 200


async def test_exactly_100_headers_are_served_and_101_are_not(client: httpx.AsyncClient) -> None:
    # httpx adds its own (host, accept, user-agent, ...): pad to exactly 100 in all.
    own = len(client.build_request("GET", "/healthz").headers)
    headers = [(f"x-h{n}", "v") for n in range(100 - own)]
    request = client.build_request("GET", "/healthz", headers=headers)
    assert len(request.headers.raw) == 100
    assert (await client.send(request)).status_code == 200
    over = client.build_request("GET", "/healthz", headers=[*headers, ("x-one-more", "v")])
    assert_problem(await client.send(over), 431)


async def test_a_head_over_16_kib_is_431(client: httpx.AsyncClient) -> None:
    assert_problem(await client.get("/healthz", headers={"x-big": "a" * 17_000}), 431)
    assert (await client.get("/healthz", headers={"x-big": "a" * 15_000})).status_code == 200


async def test_a_chunked_catalog_body_over_10_mib_is_413(api: httpx.AsyncClient) -> None:
    # No Content-Length: the limit must hold while the body streams.
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"name": "'
        for _ in range(11):
            yield b"a" * (1 << 20)
        yield b'"}'

    response = await api.put(
        "/v1/domains/BIG", content=chunks(), headers={"Content-Type": "application/json"}
    )
    body = assert_problem(response, 413)
    assert "10485760" in body["detail"]
    assert (await api.get("/v1/domains")).json()[-1]["code"] != "BIG"
