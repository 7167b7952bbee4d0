"""Request limits: per-key rate limit, request timeout, JSON nesting, request targets."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.config import Settings
from app.core.middleware.ratelimit import RateLimitMiddleware
from app.main import create_app
from tests.conftest import MakeKey, bearer, event


@asynccontextmanager
async def client_for(settings: Settings, **overrides: Any) -> AsyncIterator[httpx.AsyncClient]:
    """A client of an app built with some settings changed."""
    application: FastAPI = create_app(settings.model_copy(update=overrides))
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            yield c


def assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    return body


async def test_rate_limit_answers_429_with_retry_after_per_key(
    settings: Settings, make_key: MakeKey
) -> None:
    first, second = await make_key("read"), await make_key("read", name="other")
    async with client_for(settings, rate_limit_per_minute=3) as c:
        for _ in range(3):
            assert (await c.get("/v1/domains", headers=bearer(first))).status_code == 200
        limited = await c.get("/v1/domains", headers=bearer(first))
        assert_problem(limited, 429)
        assert int(limited.headers["retry-after"]) >= 1
        assert (await c.get("/v1/domains", headers=bearer(second))).status_code == 200
        assert (await c.get("/healthz")).status_code == 200


async def test_rate_limit_counts_every_spelling_of_a_key_in_one_bucket(
    settings: Settings, make_key: MakeKey
) -> None:
    key = await make_key("read")
    spellings = [f"Bearer {key}", f"bearer {key}", f"BEARER  {key} "]
    async with client_for(settings, rate_limit_per_minute=3) as c:
        for spelling in spellings:
            response = await c.get("/v1/domains", headers={"Authorization": spelling})
            assert response.status_code == 200
        again = await c.get("/v1/domains", headers={"Authorization": f"bEaReR {key}"})
        assert_problem(again, 429)


async def test_rate_limit_forgets_only_buckets_that_have_refilled(
    settings: Settings, make_key: MakeKey, engine: AsyncEngine
) -> None:
    """A bucket untouched for a whole refill time (capacity / rate = one minute) is full again:
    the periodic prune deletes it; a bucket taken from within that time keeps its tokens."""
    key = await make_key("read")
    async with client_for(settings, rate_limit_per_minute=3) as c:
        for _ in range(3):
            assert (await c.get("/v1/domains", headers=bearer(key))).status_code == 200
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO rate_limit_buckets (bucket, tokens, updated_at, granted)"
                " VALUES ('address:203.0.113.9', 0, clock_timestamp() - interval '61 seconds',"
                " false)"
            )
        )
    await RateLimitMiddleware(app=None, per_minute=3)._prune(engine)  # type: ignore[arg-type]
    async with engine.connect() as conn:
        left = (await conn.execute(text("SELECT bucket, tokens FROM rate_limit_buckets"))).all()
    assert [(bucket.split(":")[0], tokens < 1) for bucket, tokens in left] == [("key", True)]
    async with client_for(settings, rate_limit_per_minute=3) as c:
        assert_problem(await c.get("/v1/domains", headers=bearer(key)), 429)


async def test_rate_limit_is_off_by_default(api: httpx.AsyncClient) -> None:
    for _ in range(30):
        assert (await api.get("/v1/domains")).status_code == 200


async def test_request_over_the_timeout_is_503_and_stores_nothing(
    settings: Settings, make_key: MakeKey, engine: AsyncEngine, api: httpx.AsyncClient
) -> None:
    assert (await api.post("/v1/events", json={"events": [event("e1")]})).status_code == 200
    key = bearer(await make_key("ingest", "read"))
    async with client_for(settings, request_timeout_seconds=0.5) as c:
        async with engine.connect() as blocker:
            # Holding the dossier's row keeps the ingest waiting past its deadline.
            await blocker.execute(
                text("SELECT 1 FROM dossiers WHERE code = 'D1' FOR NO KEY UPDATE")
            )
            slow = await c.post(
                "/v1/events",
                json={"events": [event("e2", occurred_at="2017-03-01T00:00:00Z")]},
                headers=key,
            )
            await blocker.rollback()
        assert_problem(slow, 503)
        assert "retry-after" in slow.headers
        assert (await c.get("/v1/dossiers/D1", headers=key)).json()["events"] == 1
        retried = await c.post(
            "/v1/events",
            json={"events": [event("e2", occurred_at="2017-03-01T00:00:00Z")]},
            headers=key,
        )
        assert retried.json()["applied"] == 1


async def test_deeply_nested_events_are_422_naming_the_depth(api: httpx.AsyncClient) -> None:
    nested = "[" * 100 + "]" * 100
    response = await api.post(
        "/v1/events",
        content=f'{{"events": [{{"event_id": "x", "dossier": {nested}}}]}}',
        headers={"content-type": "application/json"},
    )
    assert assert_problem(response, 422)["errors"][0]["code"] == "json_too_deep"


async def test_nesting_beyond_any_parser_is_4xx_everywhere(api: httpx.AsyncClient) -> None:
    deep = b"[" * 200_000 + b"]" * 200_000
    for method, path in [("POST", "/v1/events"), ("PUT", "/v1/domains/X")]:
        response = await api.request(
            method,
            path,
            content=b'{"events": ' + deep + b"}",
            headers={"content-type": "application/json"},
        )
        assert 400 <= response.status_code < 500, (path, response.text)
        assert response.headers["content-type"] == "application/problem+json"


async def test_nul_bytes_in_path_or_query_are_400(api: httpx.AsyncClient) -> None:
    assert_problem(await api.get("/v1/dossiers/a%00b"), 400)
    assert_problem(
        await api.get(
            "/v1/stats/online-ratio",
            params={"from": "2017-01-01", "to": "2017-01-02", "unit": "a\x00"},
        ),
        400,
    )


async def test_overlong_query_is_414_and_overlong_codes_are_422(api: httpx.AsyncClient) -> None:
    params = {"from": "2017-01-01", "to": "2017-01-02", "unit": "u" * 5000}
    assert_problem(await api.get("/v1/stats/online-ratio", params=params), 414)
    params["unit"] = "u" * 65
    assert_problem(await api.get("/v1/stats/online-ratio", params=params), 422)
    assert_problem(await api.get("/v1/dossiers/" + "c" * 65), 422)


async def test_nul_and_oversized_strings_in_bodies_are_refused(api: httpx.AsyncClient) -> None:
    assert_problem(
        await api.put("/v1/domains/X", json={"name": "a\x00b", "online_target": 0.5}), 422
    )
    assert_problem(
        await api.put("/v1/domains/X", json={"name": "n" * 501, "online_target": 0.5}), 422
    )
    response = await api.post(
        "/v1/events",
        json={
            "events": [event("a\x00"), event("b" * 129), event("ok", code="C\x00"), event("fine")]
        },
    )
    assert response.status_code == 200
    body = response.json()
    assert [r["index"] for r in body["rejected"]] == [0, 1, 2]
    assert body["applied"] == 1
