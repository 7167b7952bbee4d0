"""What the shared rate limit costs a single-event ingest: a live server with WORKERS processes
on a fresh database, the same one-event POSTs with the rate limit off and on (a limit too high
to trip, so every request takes its token in PostgreSQL), and the take statement timed alone.

    .venv/bin/python -m bench.ratelimit_cost [--workers 2] [--seconds 20] [--clients 32]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import random
import time
from typing import Any

import asyncpg
import orjson
from sqlalchemy import make_url, text
from sqlalchemy.ext.asyncio import create_async_engine

from app import migrate
from app.catalog.seed import seed_catalog
from app.config import Settings
from app.core.middleware.ratelimit import _TAKE_TOKEN
from app.db import create_sessionmaker, resolve_database_url
from app.keys.service import create_key
from bench import data
from bench.loadgen import percentile, post_singles, raw_post
from tests.support.live import free_port, start_server, stop_server

DATABASE = "dossier_stats_bench_ratelimit"


def _events(run: str, count: int) -> list[dict[str, Any]]:
    """The benchmark's own spread of events (units, domains, months), as `make bench` sends."""
    rng = random.Random(2)
    return [data.make_event(rng, run, n) for n in range(count)]


async def _prepare() -> tuple[str, str]:
    url = make_url(resolve_database_url(Settings(embedded_database="postgres")))
    admin = create_async_engine(url, isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(text(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)'))
        await conn.execute(text(f'CREATE DATABASE "{DATABASE}"'))
    await admin.dispose()
    target = url.set(database=DATABASE).render_as_string(hide_password=False)
    await asyncio.to_thread(migrate.upgrade, target)
    engine = create_async_engine(target)
    async with create_sessionmaker(engine)() as session, session.begin():
        await seed_catalog(session)
        _, key = await create_key(session, name="bench", scopes=["ingest"])
    await engine.dispose()
    return target, key


async def _statement_alone(url: str, key: str, repeat: int = 5000) -> float:
    """Microseconds per take, one connection, one after another (the round trip included)."""
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    conn = await asyncpg.connect(dsn)
    sql = str(_TAKE_TOKEN).replace(":key_hash", "$1").replace(":address", "$2")
    sql = sql.replace(":capacity", "$3").replace(":rate", "$4")
    digest = hashlib.sha256(key.encode()).digest()
    statement = await conn.prepare(sql)
    for _ in range(200):
        await statement.fetchrow(digest, "127.0.0.1", 1e9, 1e9 / 60)
    started = time.perf_counter()
    for _ in range(repeat):
        await statement.fetchrow(digest, "127.0.0.1", 1e9, 1e9 / 60)
    elapsed = time.perf_counter() - started
    await conn.close()
    return elapsed / repeat * 1e6


async def _load(url: str, key: str, workers: int, per_minute: int, args: argparse.Namespace) -> str:
    port = free_port()
    server = await asyncio.to_thread(
        start_server, url, port, workers, RATE_LIMIT_PER_MINUTE=str(per_minute)
    )
    try:
        run = f"w{workers}-rl{per_minute}-{time.time_ns()}"
        requests = [
            raw_post("127.0.0.1", port, "/v1/events", key, orjson.dumps({"events": [e]}))
            for e in _events(run, 40_000)
        ]
        await post_singles("127.0.0.1", port, requests[:500], args.clients, 30)  # warm up
        result = await post_singles("127.0.0.1", port, requests[500:], args.clients, args.seconds)
    finally:
        await asyncio.to_thread(stop_server, server)
    if result.errors:
        raise RuntimeError(result.errors[:3])
    rate = result.requests / result.wall_s
    p50 = percentile(result.latencies_s, 50) * 1000
    p95 = percentile(result.latencies_s, 95) * 1000
    limit = "on" if per_minute else "off"
    return (
        f"workers={workers} rate limit {limit}: {result.requests} requests in "
        f"{result.wall_s:.1f} s = {rate:.0f} req/s, p50 {p50:.1f} ms, p95 {p95:.1f} ms"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--clients", type=int, default=32)
    args = parser.parse_args()
    url, key = await _prepare()
    print(f"take statement alone: {await _statement_alone(url, key):.0f} µs per request")
    for per_minute in (0, 1_000_000_000, 0, 1_000_000_000):
        print(await _load(url, key, args.workers, per_minute, args))


if __name__ == "__main__":
    asyncio.run(main())
