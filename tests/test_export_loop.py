"""A live server keeps answering while it builds a big XLSX (issue 13): the file is built in a
worker process, not on the event loop."""

from __future__ import annotations

import asyncio
import statistics
import time

import httpx
import psutil
from sqlalchemy.ext.asyncio import AsyncSession

from tests.conftest import MakeKey, bearer, event
from tests.support.live import free_port, start_server, stop_server

UNITS = 125
MONTHS = 160  # 2003-01 … 2016-04: 125 units × 160 months = 20,000 rows by unit and month


def one_dossier_per_unit_and_month() -> list[dict]:
    events = []
    for i in range(UNITS * MONTHS):
        month = i // UNITS
        received = f"{2003 + month // 12}-{month % 12 + 1:02d}-15T08:00:00+07:00"
        events.append(
            event(
                f"e{i}",
                code=f"L{i}",
                unit_code=f"T{i % UNITS:03d}",
                received_at=received,
                submitted_at=received,
                due_at=None,
                occurred_at=received,
            )
        )
    return events


async def probe(client: httpx.AsyncClient) -> float:
    started = time.perf_counter()
    response = await client.get("/healthz")
    assert response.status_code == 200
    return time.perf_counter() - started


async def test_healthz_answers_while_a_20000_row_xlsx_is_built(
    database_url: str, session: AsyncSession, make_key: MakeKey
) -> None:
    key = bearer(await make_key("ingest", "read", "admin"))
    port = free_port()
    # A loaded CI machine may take long over 20,000 rows: the point here is the loop, not speed.
    server = await asyncio.to_thread(
        start_server, database_url, port, REQUEST_TIMEOUT_SECONDS="600"
    )
    try:
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{port}", headers=key, timeout=600
        ) as client:
            events = one_dossier_per_unit_and_month()
            began = time.perf_counter()
            for start in range(0, len(events), 5000):
                sent = await client.post(
                    "/v1/events", json={"events": events[start : start + 5000]}
                )
                assert sent.status_code == 200 and sent.json()["applied"] == 5000, sent.text
            params = {
                "from": "2003-01-01",
                "to": "2016-12-31",
                "group_by": "unit",
                "period": "month",
                "format": "xlsx",
            }
            print(f"ingest {time.perf_counter() - began:.1f} s")
            began = time.perf_counter()
            export = asyncio.create_task(client.get("/v1/stats/online-ratio", params=params))
            # Probes on a fixed schedule, each on its own: while the loop is blocked they all
            # wait, so the share of slow probes is the share of time the server was frozen.
            probes: list[asyncio.Task[float]] = []
            while not export.done():
                probes.append(asyncio.create_task(probe(client)))
                await asyncio.sleep(0.1)
            response = await export
            latencies = sorted(await asyncio.gather(*probes))
            print(
                f"export {time.perf_counter() - began:.1f} s, {len(latencies)} probes, median "
                f"{statistics.median(latencies):.3f} max {latencies[-1]:.3f}"
            )
    finally:
        await asyncio.to_thread(stop_server, server)
    assert response.status_code == 200, response.text
    assert len(response.content) > 100_000  # the 20,000 rows are in it
    assert len(latencies) >= 10, f"the export took only {len(latencies) * 0.1:.1f} s"
    median = statistics.median(latencies)
    assert median < 0.1, f"median /healthz {median:.3f} s, max {latencies[-1]:.3f} s"


def descendants_cpu_seconds(pid: int) -> float:
    """CPU time used so far by every process below `pid` (the forkserver and the workers)."""
    total = 0.0
    for child in psutil.Process(pid).children(recursive=True):
        try:
            times = child.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total


async def test_an_export_abandoned_by_the_request_timeout_stops_using_cpu(
    database_url: str, session: AsyncSession, make_key: MakeKey
) -> None:
    key = bearer(await make_key("ingest", "read", "admin"))
    port = free_port()
    # 20,000 rows are 140,000 cells: seconds of XML on any machine, well past 3 s in all.
    server = await asyncio.to_thread(
        start_server, database_url, port, REQUEST_TIMEOUT_SECONDS="3", EXPORT_WORKERS="1"
    )
    try:
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{port}", headers=key, timeout=120
        ) as client:
            events = one_dossier_per_unit_and_month()
            # Batches small enough to store well inside the 3 s timeout on a loaded machine.
            for start in range(0, len(events), 1000):
                sent = await client.post(
                    "/v1/events", json={"events": events[start : start + 1000]}
                )
                assert sent.status_code == 200, sent.text
            params = {
                "from": "2003-01-01",
                "to": "2016-12-31",
                "group_by": "unit",
                "period": "month",
                "format": "xlsx",
            }
            response = await client.get("/v1/stats/online-ratio", params=params)
            assert response.status_code == 503, response.status_code
            assert response.headers["content-type"] == "application/problem+json"
            # Abandoned, the build stops at once: the workers use (next to) no CPU from now on.
            # (Had the time run out before the build began, nothing would run either.)
            await asyncio.sleep(1.0)
            before = descendants_cpu_seconds(server.pid)
            await asyncio.sleep(3.0)
            spent = descendants_cpu_seconds(server.pid) - before
            assert spent < 0.5, f"workers used {spent:.2f} s of CPU after the request was abandoned"
            assert (await client.get("/healthz")).status_code == 200
    finally:
        await asyncio.to_thread(stop_server, server)
