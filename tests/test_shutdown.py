"""SIGTERM to a live server: requests in flight finish, and their answers are true."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys

import httpx
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.models import DossierEvent
from tests.conftest import MakeKey, bearer, event


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _wait_until_up(base: str, server: subprocess.Popen[bytes]) -> None:
    async with httpx.AsyncClient(base_url=base) as c:
        for _ in range(300):
            assert server.poll() is None, "the server exited on start"
            try:
                if (await c.get("/healthz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    raise AssertionError("the server did not start")


async def test_sigterm_lets_in_flight_ingest_finish_with_a_true_answer(
    database_url: str, engine: AsyncEngine, session: AsyncSession, make_key: MakeKey
) -> None:
    key = bearer(await make_key("ingest", "read"))
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "DATABASE_URL": database_url, "PORT": str(port), "LOG_LEVEL": "warning"}
    server = subprocess.Popen(  # noqa: ASYNC220 - started once, waited for below
        [sys.executable, "-m", "app", "serve"], env=env, stdout=subprocess.DEVNULL
    )
    try:
        await _wait_until_up(base, server)
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
        if server.poll() is None:
            server.kill()
            server.wait()
    # The answer was true: the event is committed.
    assert await session.scalar(select(func.count()).select_from(DossierEvent)) == 2
