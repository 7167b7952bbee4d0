"""Whole-request errors on POST /v1/events: clear 4xx problem+json, nothing stored."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Dossier, DossierEvent
from tests.conftest import event


async def assert_nothing_stored(session: AsyncSession) -> None:
    assert await session.scalar(select(func.count()).select_from(DossierEvent)) == 0
    assert await session.scalar(select(func.count()).select_from(Dossier)) == 0


@pytest.mark.parametrize(
    ("body", "loc", "code"),
    [
        (b"{not json", ["body"], "json_invalid"),
        (b"[]", ["body"], "object_type"),
        (b"{}", ["body", "events"], "missing"),
        (b'{"events": {}}', ["body", "events"], "list_type"),
        (b'{"events": []}', ["body", "events"], "too_short"),
        (b'{"events": [], "extra": 1}', ["body", "extra"], "extra_forbidden"),
    ],
)
async def test_unusable_body_is_422_naming_the_field(
    api: httpx.AsyncClient, session: AsyncSession, body: bytes, loc: list, code: str
) -> None:
    response = await api.post(
        "/v1/events", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert {"type", "title", "status", "detail", "errors"} <= problem.keys()
    assert problem["errors"][0]["loc"] == loc
    assert problem["errors"][0]["code"] == code
    await assert_nothing_stored(session)


async def test_more_than_5000_events_is_413(api: httpx.AsyncClient, session: AsyncSession) -> None:
    events = [event(f"e{i}", code=f"D{i}") for i in range(5001)]
    response = await api.post("/v1/events", json={"events": events})
    assert response.status_code == 413
    assert response.json()["errors"][0]["code"] == "too_long"
    await assert_nothing_stored(session)


async def test_exactly_5000_events_are_accepted(api: httpx.AsyncClient) -> None:
    events = [event(f"e{i}", code=f"D{i}") for i in range(5000)]
    response = await api.post("/v1/events", json={"events": events})
    assert response.status_code == 200
    assert response.json()["applied"] == 5000


async def test_body_over_10_mib_is_413(api: httpx.AsyncClient, session: AsyncSession) -> None:
    padding = "x" * (10 * 1024 * 1024)
    response = await api.post(
        "/v1/events",
        content=b'{"events": [{"event_id": "' + padding.encode() + b'"}]}',
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"
    await assert_nothing_stored(session)


async def test_streamed_body_over_limit_is_413_without_content_length(
    api: httpx.AsyncClient, session: AsyncSession
) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(11):
            yield b" " * (1024 * 1024)

    response = await api.post(
        "/v1/events", content=chunks(), headers={"content-type": "application/json"}
    )
    assert response.status_code == 413
    await assert_nothing_stored(session)
