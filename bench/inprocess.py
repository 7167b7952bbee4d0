"""Ingest in-process, without an HTTP server: where the client CPU of a batch goes, and an A/B of
two checkouts on a machine too noisy for single runs.

    python -m bench.inprocess [--events 15000] [--batch 1000] [--profile]
    python -m bench.inprocess --base 4cdaf28 [--rounds 3]   # interleaved: base, this, base, ...

Each run migrates a fresh database (`dossier_stats_inprocess`), then sends `--events` generated
new dossiers through `app.ingest.service.ingest_events` in batches of `--batch`, one transaction
each, and prints the wall time and this process's CPU per event (PostgreSQL's CPU is not in it).
`--base REV` runs the same loop from a git worktree of REV and from this checkout in turn.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import pstats
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import asyncpg
from sqlalchemy import make_url

from app import migrate
from app.catalog.seed import seed_catalog
from app.config import Settings
from app.db import create_engine, create_sessionmaker, resolve_database_url
from app.ingest.service import ingest_events
from app.keys.service import tool_principal
from bench import data

DATABASE = "dossier_stats_inprocess"
ROOT = Path(__file__).resolve().parent.parent


async def _run(events: int, batch: int, profile: bool) -> str:
    base = make_url(resolve_database_url(Settings(embedded_database="postgres")))
    url = base.set(database=DATABASE).render_as_string(hide_password=False)
    admin = base.set(drivername="postgresql", database="postgres")
    conn = await asyncpg.connect(admin.render_as_string(hide_password=False))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{DATABASE}"')
    finally:
        await conn.close()
    await asyncio.to_thread(migrate.upgrade, url)
    engine = create_engine(url, Settings(database_url=url))
    sessions = create_sessionmaker(engine)
    try:
        async with sessions() as session, session.begin():
            await seed_catalog(session)
            key = await tool_principal(session, "inprocess")
        rng = random.Random(1)
        batches = [
            [data.make_event(rng, f"P{b}-", n) for n in range(batch)]
            for b in range(max(1, events // batch))
        ]
        async with sessions() as session, session.begin():  # warm-up: plans, caches
            await ingest_events(session, key, [data.make_event(rng, "W-", n) for n in range(100)])
        profiler = cProfile.Profile() if profile else None
        start, cpu = time.perf_counter(), time.process_time()
        if profiler is not None:
            profiler.enable()
        for events_of_batch in batches:
            async with sessions() as session, session.begin():
                result = await ingest_events(session, key, events_of_batch)
            if result.applied != len(events_of_batch):
                raise RuntimeError(f"a batch was not applied whole: {result}")
        if profiler is not None:
            profiler.disable()
        wall, cpu = time.perf_counter() - start, time.process_time() - cpu
        sent = sum(len(b) for b in batches)
        if profiler is not None:
            pstats.Stats(profiler).sort_stats("tottime").print_stats(30)
        return (
            f"{sent} events: {wall:.2f} s, {sent / wall:,.0f} events/s,"
            f" client CPU {cpu / sent * 1e6:.0f} us/event"
        )
    finally:
        await engine.dispose()


def _ab(base: str, rounds: int, args: list[str]) -> None:
    """Run this script against the `app` of a worktree of `base` and of this checkout, in turn."""
    with tempfile.TemporaryDirectory() as tmp:
        tree = Path(tmp) / "base"
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "add", "--detach", str(tree), base],
            check=True,
            capture_output=True,
        )
        try:
            for _ in range(rounds):
                for label, path in ((base, tree), ("this", ROOT)):
                    env = {**os.environ, "PYTHONPATH": f"{path}{os.pathsep}{ROOT}"}
                    out = subprocess.run(
                        [sys.executable, str(ROOT / "bench" / "inprocess.py"), *args],
                        env=env,
                        check=True,
                        capture_output=True,
                        text=True,
                    ).stdout
                    print(f"{label:>10}: {out.strip().splitlines()[-1]}", flush=True)
        finally:
            subprocess.run(
                ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)], check=True
            )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=15000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--profile", action="store_true", help="cProfile, by own time")
    parser.add_argument("--base", help="a git revision to A/B against, interleaved")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    if args.base:
        _ab(args.base, args.rounds, ["--events", str(args.events), "--batch", str(args.batch)])
    else:
        print(asyncio.run(_run(args.events, args.batch, args.profile)))


if __name__ == "__main__":
    main()
