"""SIGTERM to a live server: requests in flight finish, and their answers are true."""

from __future__ import annotations

import asyncio
import signal

import httpx
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.models import DossierEvent
from tests.conftest import MakeKey, bearer, event
from tests.support.live import free_port, start_server, stop_server


@pytest.mark.parametrize("workers", [1, 2])
async def test_sigterm_lets_in_flight_ingest_finish_with_a_true_answer(
    database_url: str, engine: AsyncEngine, session: AsyncSession, make_key: MakeKey, workers: int
) -> None:
    """With two workers the signal goes to their supervisor, which passes it on and waits."""
    key = bearer(await make_key("ingest", "read"))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = await asyncio.to_thread(start_server, database_url, port, workers)
    try:
        async with httpx.AsyncClient(base_url=base, headers=key, timeout=30) as c:
            first = await c.post("/v1/events", json={"events": [event("e1")]})
            assert first.status_code == 200
            assert "server" not in first.headers
            async with engine.connect() as blocker:
                # Hold the dossier so the next ingest is in flight when SIGTERM arrives.
                await blocker.execute(
                    text("SELECT 1 FROM dossiers WHERE code = 'D1' FOR NO KEY UPDATE")
                )
                in_flight = asyncio.create_task(
                    c.post(
                        "/v1/events",
                        json={"events": [event("e2", occurred_at="2017-03-01T00:00:00Z")]},
                    )
                )
                await asyncio.sleep(1.0)
                server.send_signal(signal.SIGTERM)
                await asyncio.sleep(0.5)
                assert server.poll() is None, "the server quit with a request in flight"
                await blocker.rollback()
            answer = await asyncio.wait_for(in_flight, timeout=30)
        assert answer.status_code == 200, answer.text
        assert answer.json()["applied"] == 1
        # uvicorn re-raises the signal once shutdown is complete.
        assert await asyncio.to_thread(server.wait, 30) in (0, -signal.SIGTERM)
    finally:
        await asyncio.to_thread(stop_server, server)
    # The answer was true: the event is committed.
    assert await session.scalar(select(func.count()).select_from(DossierEvent)) == 2
