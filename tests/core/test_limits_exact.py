"""Exactly at a limit is allowed, one past it is refused: 10 MiB of body (declared or streamed),
5,000 events or national records, and the JSON value cap."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import orjson
import pytest
from starlette.types import Receive, Scope, Send

from app.core.middleware.limits import BodySizeLimitMiddleware
from tests.conftest import event
from tests.ingest.national.test_national import record

MIB = 1024 * 1024
LIMIT = 10 * MIB


def padded(body: dict[str, Any], size: int) -> bytes:
    """`body` as JSON followed by spaces, `size` bytes in all."""
    data = orjson.dumps(body)
    assert len(data) <= size
    return data + b" " * (size - len(data))


async def in_chunks(data: bytes, chunk: int = MIB) -> AsyncIterator[bytes]:
    for start in range(0, len(data), chunk):
        yield data[start : start + chunk]


@pytest.mark.parametrize("streamed", [False, True], ids=["content-length", "streamed"])
async def test_a_body_of_exactly_10_mib_is_accepted(api: httpx.AsyncClient, streamed: bool) -> None:
    data = padded({"events": [event("e1")]}, LIMIT)
    assert len(data) == LIMIT
    response = await api.post(
        "/v1/events",
        content=in_chunks(data) if streamed else data,
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 200, response.text[:300]
    assert response.json()["applied"] == 1


@pytest.mark.parametrize("streamed", [False, True], ids=["content-length", "streamed"])
async def test_a_body_one_byte_over_10_mib_is_413(api: httpx.AsyncClient, streamed: bool) -> None:
    data = padded({"events": [event("e1")]}, LIMIT + 1)
    response = await api.post(
        "/v1/events",
        content=in_chunks(data) if streamed else data,
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"
    assert (await api.get("/v1/dossiers/D1")).status_code == 404


async def test_exactly_5000_national_records_are_accepted_and_5001_refused(
    api: httpx.AsyncClient,
) -> None:
    records = [record(f"N{i}") for i in range(5001)]
    over = await api.post("/v1/compat/dvcqg", json={"data": records})
    assert over.status_code == 413
    response = await api.post("/v1/compat/dvcqg", json={"data": records[:5000]})
    assert response.status_code == 200, response.text[:300]
    assert response.json()["applied"] == 5000


# The middleware alone, with small limits, so that every edge is cheap to reach.


async def echo(scope: Scope, receive: Receive, send: Send) -> None:
    """Reads the whole body and answers its length."""
    size = 0
    while True:
        message = await receive()
        size += len(message.get("body", b""))
        if not message.get("more_body", False):
            break
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": str(size).encode()})


def limited(max_bytes: int, max_values: int = 0) -> httpx.AsyncClient:
    app = BodySizeLimitMiddleware(echo, max_bytes=max_bytes, max_values=max_values)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")


@pytest.mark.parametrize("streamed", [False, True], ids=["content-length", "streamed"])
@pytest.mark.parametrize(("size", "status"), [(99, 200), (100, 200), (101, 413)])
async def test_the_byte_limit_admits_exactly_its_size(
    streamed: bool, size: int, status: int
) -> None:
    data = b"x" * size
    async with limited(100) as client:
        response = await client.post("/", content=in_chunks(data, 7) if streamed else data)
    assert response.status_code == status
    if status == 200:
        assert response.text == str(size)


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b"[1,2,3]", 200),  # `[` and two `,`: 3 values, the cap
        (b"[1,2,3,4]", 413),
        (b'["a,b,c,d,e"]', 200),  # commas inside a string are not values
        (b'["[{,", {"k": [1,2]}]', 413),
        (b'[{"k": "v"},1]', 200),
        (b'["a,b,c",1,2]', 200),  # rough count 5 passes the cap; counted exactly: 3, the cap
        (b'["a,b,c",1,2,3]', 413),  # counted exactly: 4
    ],
)
async def test_the_value_cap_admits_exactly_its_count(body: bytes, status: int) -> None:
    async with limited(1000, max_values=3) as client:
        response = await client.post("/", content=body)
    assert response.status_code == status, body
