"""Bodies of millions of tiny JSON values are refused as they arrive, before any parsing."""

from __future__ import annotations

import time

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import DossierEvent
from tests.conftest import event

# Just under 10 MiB: the byte limit lets it through, the value count does not.
EMPTY_ARRAYS = b'{"events": [' + b"[]," * (3 * 1024 * 1024) + b"[]]}"


@pytest.mark.parametrize(
    ("method", "path"),
    [("POST", "/v1/events"), ("POST", "/v1/compat/dvcqg"), ("PUT", "/v1/domains/TP")],
)
async def test_millions_of_empty_arrays_are_413_before_parsing(
    api: httpx.AsyncClient, session: AsyncSession, method: str, path: str
) -> None:
    assert len(EMPTY_ARRAYS) < 10 * 1024 * 1024
    started = time.perf_counter()
    response = await api.request(
        method, path, content=EMPTY_ARRAYS, headers={"content-type": "application/json"}
    )
    elapsed = time.perf_counter() - started
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"
    assert "JSON values" in response.json()["detail"]
    assert await session.scalar(select(func.count()).select_from(DossierEvent)) == 0
    # Counting bytes is cheap; parsing 3 million arrays took seconds and hundreds of MB.
    assert elapsed < 5, elapsed


async def test_a_full_batch_of_real_events_is_far_below_the_value_limit(
    api: httpx.AsyncClient,
) -> None:
    events = [event(f"e{i}", code=f"D{i}", procedure_name="Cấp, đổi, cấp lại") for i in range(5000)]
    response = await api.post("/v1/events", json={"events": events})
    assert response.status_code == 200 and response.json()["applied"] == 5000
