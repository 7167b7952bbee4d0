"""Bodies of millions of tiny JSON values are refused as they arrive, before any parsing."""

from __future__ import annotations

import json
import random
import time

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.middleware.limits import JsonValueCounter
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


async def test_names_full_of_commas_do_not_count_as_values(api: httpx.AsyncClient) -> None:
    # 5,000 events whose procedure names are 480 commas: 2.4 million commas inside strings, more
    # than the value cap, in a body within the size and event limits. Only structure counts.
    name = "," * 480
    events = [event(f"c{i}", code=f"C{i}", procedure_name=name) for i in range(5000)]
    response = await api.post("/v1/events", json={"events": events})
    assert response.status_code == 200, response.text
    assert response.json()["applied"] == 5000


def _values_outside_strings(body: bytes) -> int:
    """The reference: `,` `[` `{` outside strings, one character at a time."""
    count, in_string, escaped = 0, False, False
    for char in body.decode():
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in ",[{":
            count += 1
    return count


def test_the_exact_count_is_the_same_however_the_body_is_split() -> None:
    rng = random.Random(13)
    alphabet = ["a", ",", "[", "{", '"', "\\", "é", "\n"]
    for _ in range(200):
        body = json.dumps(
            [
                {
                    f"k{i}": "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12))),
                    "n": [1],
                }
                for i in range(rng.randint(0, 4))
            ],
            ensure_ascii=rng.random() < 0.5,
        ).encode()
        expected = _values_outside_strings(body)
        points = range(len(body) + 1)
        splits = [sorted(rng.sample(points, min(len(points), rng.randint(0, 5)))) for _ in range(8)]
        splits.append(list(range(len(body) + 1)))  # one byte at a time
        for cuts in splits:
            counter = JsonValueCounter()
            previous = 0
            for cut in [*cuts, len(body)]:
                counter.feed(body[previous:cut])
                previous = cut
            assert counter.values == expected, (body, cuts)
