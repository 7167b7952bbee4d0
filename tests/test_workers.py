"""A live server with two worker processes: requests land on both, /metrics counts every
request whichever worker answered it, and one key's rate limit trips at its capacity in total
(not once per worker)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import MakeKey, bearer
from tests.support.live import free_port, start_server, stop_server

CAPACITY = 30  # RATE_LIMIT_PER_MINUTE of the server


@pytest.fixture(scope="module")
def two_workers(database_url: str) -> Iterator[str]:
    """The base URL of a live server with WORKERS=2 on the test database."""
    port = free_port()
    server = start_server(database_url, port, 2, RATE_LIMIT_PER_MINUTE=str(CAPACITY))
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        stop_server(server)


def samples(exposition: str, name: str) -> list[tuple[dict[str, str], float]]:
    """The samples of metric `name` (its `_total` sample for a counter) as (labels, value)."""
    found = []
    for family in text_string_to_metric_families(exposition):
        for sample in family.samples:
            if sample.name in (name, f"{name}_total"):
                found.append((sample.labels, sample.value))
    return found


async def scrape(base: str) -> str:
    """GET /metrics, from whichever worker answers."""
    async with httpx.AsyncClient(base_url=base, timeout=30) as c:
        return (await c.get("/metrics")).text


async def fresh_connections(base: str, path: str, count: int, **headers: str) -> list[int]:
    """`count` requests sent at once, each on a connection of its own (the kernel hands each
    new connection to whichever worker accepts first); their statuses."""

    async def one() -> int:
        async with httpx.AsyncClient(base_url=base, headers=headers, timeout=30) as c:
            return (await c.get(path)).status_code

    return list(await asyncio.gather(*(one() for _ in range(count))))


async def test_requests_land_on_both_workers_and_metrics_count_them_all(
    two_workers: str,
) -> None:
    before = await scrape(two_workers)
    healthz_before = sum(
        value
        for labels, value in samples(before, "http_requests_total")
        if labels["route"] == "/healthz"
    )
    sent = 0
    answered: dict[str, float] = {}
    for _ in range(10):  # rounds of simultaneous connections, until both workers have answered
        statuses = await fresh_connections(two_workers, "/healthz", 16)
        assert statuses == [200] * 16
        sent += 16
        after = await scrape(two_workers)
        answered = {
            labels["pid"]: value for labels, value in samples(after, "worker_requests_answered")
        }
        if len(answered) == 2 and all(value > 2 for value in answered.values()):
            break
    assert len(answered) == 2, answered  # one series per live worker, by pid
    assert all(value > 2 for value in answered.values()), answered  # more than /metrics alone

    # The totals sum every worker's counts: each /healthz sent, whichever worker answered it.
    healthz_after = sum(
        value
        for labels, value in samples(after, "http_requests_total")
        if labels["route"] == "/healthz" and labels["status"] == "200"
    )
    assert healthz_after - healthz_before == sent
    pool = samples(after, "db_pool_size")
    assert {labels["pid"] for labels, _ in pool} == set(answered)


async def test_one_keys_rate_limit_trips_at_its_capacity_across_both_workers(
    two_workers: str, make_key: MakeKey
) -> None:
    key = await make_key("read")
    started = time.monotonic()
    statuses = await fresh_connections(two_workers, "/v1/domains", 2 * CAPACITY, **bearer(key))
    elapsed = time.monotonic() - started
    # The bucket refills at CAPACITY per minute while the requests are under way.
    refilled = int(elapsed * CAPACITY / 60)
    granted = statuses.count(200)
    assert CAPACITY <= granted <= CAPACITY + refilled, (granted, elapsed)
    assert statuses.count(429) == 2 * CAPACITY - granted
    after = await scrape(two_workers)
    answered = {
        labels["pid"]: value for labels, value in samples(after, "worker_requests_answered")
    }
    assert len(answered) == 2


async def test_unknown_keys_from_one_address_are_limited_in_total_across_both_workers(
    two_workers: str,
) -> None:
    started = time.monotonic()
    statuses = [
        status
        for n in range(2 * CAPACITY)
        for status in await fresh_connections(
            two_workers, "/v1/domains", 1, **bearer(f"dsk_0_unknown{n}")
        )
    ]
    refilled = int((time.monotonic() - started) * CAPACITY / 60)
    assert CAPACITY <= statuses.count(401) <= CAPACITY + refilled
    assert statuses.count(401) + statuses.count(429) == 2 * CAPACITY
