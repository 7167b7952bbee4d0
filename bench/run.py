"""`make bench`: ingest, single-event and statistics measurements on one PostgreSQL, in one run.

    python -m bench.run --dossiers 1000000 [--ingest-events N] [--drop]

Prints a table and writes bench-results/bench-<DOSSIERS>.json. See README, "Benchmark".
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import platform
import random
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import orjson
import psutil
from rich.console import Console
from rich.table import Table
from sqlalchemy import URL, make_url

from app import migrate
from app.catalog.seed import seed_catalog
from app.config import Settings
from app.db import create_engine, create_sessionmaker, resolve_database_url
from app.keys.service import create_key
from bench import data, queries
from bench.loadgen import percentile, post_batches, post_singles, raw_post
from bench.procmon import Monitor, postmaster_pid

BENCH_DATABASE = "dossier_stats_bench"
ROOT = Path(__file__).resolve().parent.parent
console = Console(width=None if sys.stdout.isatty() else 150)


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    env = os.environ.get
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument(
        "--dossiers",
        type=int,
        default=int(env("DOSSIERS", "1000000")),
        help="dossier rows in the table when the statistics are measured",
    )
    p.add_argument(
        "--ingest-events",
        type=int,
        default=int(env("INGEST_EVENTS", "0")) or None,
        help="events sent in batches through the API (default min(DOSSIERS, 200000))",
    )
    p.add_argument(
        "--workers",
        type=int,
        default=os.cpu_count() or 1,
        help="server processes, as `serve` starts them (default: the number of cores)",
    )
    p.add_argument("--batch-size", type=int, default=1000)
    p.add_argument("--batch-clients", type=int, default=4)
    p.add_argument("--single-requests", type=int, default=10_000)
    p.add_argument("--single-seconds", type=float, default=20.0)
    p.add_argument("--single-clients", type=int, default=32)
    p.add_argument("--chunk", type=int, default=500_000, help="rows per history INSERT … SELECT")
    p.add_argument("--reps", type=int, default=30, help="measured repetitions per statistic")
    p.add_argument("--warmups", type=int, default=3)
    p.add_argument(
        "--only",
        action="append",
        default=None,
        help="only the statistics questions whose key contains this (repeatable)",
    )
    p.add_argument(
        "--plain-reps",
        type=int,
        default=None,
        help="measured repetitions of each plain SQL baseline (default: --reps)",
    )
    p.add_argument("--out", type=Path, default=ROOT / "bench-results")
    p.add_argument("--drop", action="store_true", help="drop the bench database at the end")
    p.add_argument("--drop-only", action="store_true", help="only drop the bench database")
    p.add_argument(
        "--stats-only",
        action="store_true",
        help="only the statistics questions, on the database a previous run kept",
    )
    return p.parse_args(argv)


# ---------------------------------------------------------------- database and server


def _urls() -> tuple[str, str, str]:
    """(SQLAlchemy URL of the bench database, asyncpg DSN of it, asyncpg DSN of `postgres`)."""
    base = make_url(resolve_database_url(Settings(embedded_database="postgres")))
    bench = base.set(database=BENCH_DATABASE)
    dsn = bench.set(drivername="postgresql")
    admin = dsn.set(database="postgres")

    def render(u: URL) -> str:
        return u.render_as_string(hide_password=False)

    return render(bench), render(dsn), render(admin)


async def _drop(admin_dsn: str) -> None:
    conn = await asyncpg.connect(admin_dsn)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{BENCH_DATABASE}" WITH (FORCE)')
    finally:
        await conn.close()


async def _fresh_database(url: str, admin_dsn: str) -> tuple[str, str]:
    """Drop and create the bench database, migrate it, seed the catalog; return (ingest, read) keys."""
    await _drop(admin_dsn)
    conn = await asyncpg.connect(admin_dsn)
    try:
        await conn.execute(f'CREATE DATABASE "{BENCH_DATABASE}"')
    finally:
        await conn.close()
    await asyncio.to_thread(migrate.upgrade, url)
    engine = create_engine(url, Settings(database_url=url))
    try:
        async with create_sessionmaker(engine)() as session, session.begin():
            await seed_catalog(session)
            _, ingest = await create_key(session, name="bench-ingest", scopes=["ingest"])
            _, read = await create_key(session, name="bench-read", scopes=["read"])
    finally:
        await engine.dispose()
    return ingest, read


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _start_server(url: str, port: int, log: Path, workers: int) -> subprocess.Popen[bytes]:
    """The real app as `dossier-stats serve` runs it (app.tools.server: h11 with bounded request
    heads, uvloop, access log off): one process, or a supervisor of `workers` processes."""
    env = {**os.environ, "DATABASE_URL": url, "LOG_LEVEL": "warning", "WORKERS": str(workers)}
    program = (
        "from app.config import Settings\n"
        "from app.main import create_app\n"
        "from app.tools.server import run_server, run_workers\n"
        "settings = Settings()\n"
        f"if {workers} > 1:\n"
        f"    run_workers(host='127.0.0.1', port={port}, settings=settings, workers={workers})\n"
        "else:\n"
        f"    run_server(create_app(settings), host='127.0.0.1', port={port}, settings=settings)\n"
    )
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-c", program], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
        )


async def _wait_ready(base_url: str, server: subprocess.Popen[bytes], log: Path) -> None:
    async with httpx.AsyncClient(base_url=base_url, timeout=5) as http:
        for _ in range(600):
            if server.poll() is not None:
                raise RuntimeError(f"server exited ({server.returncode}); see {log}")
            try:
                if (await http.get("/readyz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError(f"server not ready after 60 s; see {log}")


def _stop_server(server: subprocess.Popen[bytes]) -> None:
    if server.poll() is None:
        server.terminate()
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


# ---------------------------------------------------------------- measurements


def _events(prefix: str, count: int, seed: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    return [data.make_event(rng, prefix, n) for n in range(count)]


def _copy_record(n: int, event: dict[str, Any]) -> tuple[Any, ...]:
    """The dossier row an event becomes, with the local dates computed here."""
    d = event["dossier"]
    ts = {
        k: dt.datetime.fromisoformat(d[k]) if d[k] else None
        for k in ("submitted_at", "received_at", "due_at", "finished_at", "returned_at")
    }

    def local(t: dt.datetime | None) -> dt.date | None:
        return t.astimezone(data.VN).date() if t else None

    now = dt.datetime.now(dt.UTC)
    return (
        d["code"],
        d["procedure_code"],
        d["procedure_name"],
        d["domain_code"],
        d["domain_name"],
        d["unit_code"],
        d["channel"],
        d["service_level"],
        d["status"],
        ts["submitted_at"],
        ts["received_at"],
        ts["due_at"],
        ts["finished_at"],
        ts["returned_at"],
        dt.datetime.fromisoformat(event["occurred_at"]),
        n,
        1,
        local(ts["received_at"]),
        local(ts["finished_at"]),
        local(ts["due_at"]),
        now,
        now,
    )


COPY_COLUMNS = [
    *data.BASE_COLUMNS,
    "received_on",
    "finished_on",
    "due_on",
    "created_at",
    "updated_at",
]


async def _copy(dsn: str, records: list[tuple[Any, ...]]) -> float:
    """Seconds to COPY the rows into a bare table shaped like `dossiers` (no index, no constraint)."""
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("DROP TABLE IF EXISTS bench_copy_dossiers")
        await conn.execute(
            "CREATE TABLE bench_copy_dossiers AS SELECT * FROM dossiers WITH NO DATA"
        )
        start = time.perf_counter()
        await conn.copy_records_to_table(
            "bench_copy_dossiers", records=records, columns=COPY_COLUMNS
        )
        elapsed = time.perf_counter() - start
        await conn.execute("DROP TABLE bench_copy_dossiers")
        return elapsed
    finally:
        await conn.close()


async def _seed_history(dsn: str, target: int, chunk: int) -> dict[str, Any]:
    """INSERT … SELECT generated rows until `dossiers` holds `target` rows; then VACUUM ANALYZE."""
    conn = await asyncpg.connect(dsn)
    try:
        existing = await conn.fetchval("SELECT count(*) FROM dossiers")
        need = max(0, target - existing)
        args = data.history_args()
        start = time.perf_counter()
        done = 0
        while done < need:
            n = min(chunk, need - done)
            t0 = time.perf_counter()
            await conn.execute(data.HISTORY_INSERT, done + 1, done + n, *args)
            done += n
            console.print(
                f"  history: {done:,}/{need:,} rows "
                f"({n / (time.perf_counter() - t0):,.0f} rows/s this chunk)"
            )
        insert_s = time.perf_counter() - start
        t0 = time.perf_counter()
        await conn.execute("VACUUM (ANALYZE)")
        vacuum_s = time.perf_counter() - t0
        total = await conn.fetchval("SELECT count(*) FROM dossiers")
        size = await conn.fetchval("SELECT pg_total_relation_size('dossiers')")
    finally:
        await conn.close()
    return {
        "existing_rows": existing,
        "inserted_rows": need,
        "insert_s": round(insert_s, 3),
        "rows_per_s": round(need / insert_s) if need else None,
        "vacuum_analyze_s": round(vacuum_s, 3),
        "dossier_rows": total,
        "dossiers_total_bytes": size,
    }


def _ms(values: list[float]) -> dict[str, float]:
    return {
        "p50_ms": round(percentile(values, 50) * 1000, 3),
        "p95_ms": round(percentile(values, 95) * 1000, 3),
        "p99_ms": round(percentile(values, 99) * 1000, 3),
        "min_ms": round(min(values) * 1000, 3),
        "max_ms": round(max(values) * 1000, 3),
    }


async def _stats(
    base_url: str,
    key: str,
    dsn: str,
    reps: int,
    warmups: int,
    plain_reps: int | None = None,
    only: list[str] | None = None,
) -> dict[str, Any]:
    """Each question through HTTP (no If-None-Match: no 304) and as plain SQL, same repetitions."""
    out: dict[str, Any] = {}
    conn = await asyncpg.connect(dsn)
    headers = {"authorization": f"Bearer {key}"}
    try:
        async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=300) as http:
            for q in queries.QUESTIONS:
                if only and not any(word in q.key for word in only):
                    continue
                api: list[float] = []
                body: dict[str, Any] = {}
                for i in range(warmups + reps):
                    t0 = time.perf_counter()
                    r = await http.get(q.path)
                    elapsed = time.perf_counter() - t0
                    if r.status_code != 200:
                        raise RuntimeError(f"{q.path}: HTTP {r.status_code} {r.text[:300]}")
                    if i >= warmups:
                        api.append(elapsed)
                    body = r.json()
                plain: list[float] = []
                rows: list[Any] = []
                # A slow baseline may be measured fewer times, after one warm-up.
                plain_warmups = warmups if plain_reps is None else min(warmups, 1)
                for i in range(plain_warmups + (plain_reps or reps)):
                    t0 = time.perf_counter()
                    rows = await conn.fetch(q.sql, *q.args)
                    if i >= plain_warmups:
                        plain.append(time.perf_counter() - t0)
                api_counts = queries.api_overall(q.kind, body)
                sql_counts = queries.sql_overall(q.kind, rows)
                out[q.key] = {
                    "label": q.label,
                    "path": q.path,
                    "api": _ms(api),
                    "plain_sql": {**_ms(plain), "reps": len(plain)},
                    "speedup_p50": round(percentile(plain, 50) / percentile(api, 50), 2),
                    "speedup_p95": round(percentile(plain, 95) / percentile(api, 95), 2),
                    "api_overall": api_counts,
                    "sql_overall": sql_counts,
                    "same_counts": api_counts == sql_counts,
                    "target_p95_ms": q.target_p95_ms,
                    "target_speedup": q.target_speedup,
                }
                console.print(
                    f"  {q.label}: API p95 {out[q.key]['api']['p95_ms']} ms, "
                    f"plain p95 {out[q.key]['plain_sql']['p95_ms']} ms, "
                    f"same counts: {api_counts == sql_counts}"
                )
    finally:
        await conn.close()
    return out


async def _machine(dsn: str) -> dict[str, Any]:
    conn = await asyncpg.connect(dsn)
    try:
        pg = {
            name: await conn.fetchval(f"SHOW {name}")
            for name in (
                "server_version",
                "shared_buffers",
                "work_mem",
                "max_parallel_workers_per_gather",
                "synchronous_commit",
                "max_connections",
                "data_directory",
            )
        }
    finally:
        await conn.close()
    return {**await asyncio.to_thread(_host), "postgres": pg}


def _host() -> dict[str, Any]:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
    except OSError:
        commit = ""
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "memory_mb": psutil.virtual_memory().total // 2**20,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "git_commit": commit,
        "load_average_at_start": [round(x, 2) for x in psutil.getloadavg()],
    }


# ---------------------------------------------------------------- the run


async def run(args: argparse.Namespace) -> dict[str, Any]:
    url, dsn, admin_dsn = _urls()
    if args.drop_only:
        await _drop(admin_dsn)
        console.print(f"dropped {BENCH_DATABASE}")
        return {}
    if args.stats_only:
        return await _stats_only(args, url, dsn)
    ingest_events = args.ingest_events or min(args.dossiers, 200_000)
    args.out.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {
        "dossiers": args.dossiers,
        "ingest_events": ingest_events,
        "started_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "database": make_url(url).render_as_string(hide_password=True),
    }

    console.rule(f"dossier-stats bench: {args.dossiers:,} dossiers")
    t0 = time.perf_counter()
    ingest_key, read_key = await _fresh_database(url, admin_dsn)
    results["machine"] = await _machine(dsn)
    console.print(
        f"fresh database {BENCH_DATABASE} migrated and seeded in {time.perf_counter() - t0:.1f} s "
        f"(PostgreSQL {results['machine']['postgres']['server_version']}, "
        f"{results['machine']['nproc']} CPUs)"
    )

    console.print(
        f"generating {ingest_events:,} batch events and {args.single_requests:,} single events…"
    )
    batch_events = _events("B", ingest_events, seed=1)
    bodies = [
        (len(chunk), orjson.dumps({"events": chunk}))
        for chunk in (
            batch_events[i : i + args.batch_size]
            for i in range(0, len(batch_events), args.batch_size)
        )
    ]
    warm_bodies = [(len(c), orjson.dumps({"events": c})) for c in [_events("W", 200, seed=3)]]
    single_events = _events("S", args.single_requests + 64, seed=2)
    copy_records = [_copy_record(n, e) for n, e in enumerate(batch_events, start=1)]

    port = _free_port()
    base_url = f"http://127.0.0.1:{port}"
    log = args.out / f"server-{args.dossiers}.log"
    server = _start_server(url, port, log, args.workers)
    monitor: Monitor | None = None
    try:
        await _wait_ready(base_url, server, log)
        monitor = Monitor(
            server.pid, postmaster_pid(results["machine"]["postgres"]["data_directory"])
        )
        monitor.start()
        console.print(
            f"server pid {server.pid} on {base_url}, RSS after start {monitor.peak / 2**20:.0f} MB"
        )

        # 1. batch ingest through the API, and COPY of the same rows.
        await post_batches(base_url, ingest_key, warm_bodies, 1)
        with monitor.measure("batch_ingest"):
            batch = await post_batches(base_url, ingest_key, bodies, args.batch_clients)
        if batch.errors:
            raise RuntimeError(f"batch ingest errors: {batch.errors[:3]}")
        with monitor.measure("copy"):
            copy_s = await _copy(dsn, copy_records)
        api_rate = batch.events / batch.wall_s
        copy_rate = len(copy_records) / copy_s
        results["batch_ingest"] = {
            "events": batch.events,
            "batch_size": args.batch_size,
            "clients": args.batch_clients,
            "seconds": round(batch.wall_s, 3),
            "events_per_s": round(api_rate),
            "request_latency": _ms(batch.latencies_s),
            "copy_rows": len(copy_records),
            "copy_seconds": round(copy_s, 3),
            "copy_rows_per_s": round(copy_rate),
            "api_over_copy": round(api_rate / copy_rate, 4),
        }
        console.print(
            f"batch ingest: {api_rate:,.0f} events/s; COPY {copy_rate:,.0f} rows/s "
            f"(API/COPY {api_rate / copy_rate:.1%})"
        )

        # 2. single-event POSTs at 32 concurrent clients.
        singles = [
            raw_post("127.0.0.1", port, "/v1/events", ingest_key, orjson.dumps({"events": [e]}))
            for e in single_events
        ]
        await post_singles("127.0.0.1", port, singles[:64], args.single_clients, 30)
        with monitor.measure("single_event"):
            single = await post_singles(
                "127.0.0.1", port, singles[64:], args.single_clients, args.single_seconds
            )
        if single.errors:
            raise RuntimeError(f"single-event errors: {single.errors[:3]}")
        results["single_event"] = {
            "requests": single.requests,
            "clients": args.single_clients,
            "seconds": round(single.wall_s, 3),
            "requests_per_s": round(single.requests / single.wall_s),
            **_ms(single.latencies_s),
        }
        console.print(
            f"single events: {single.requests / single.wall_s:,.0f} req/s, "
            f"p50 {results['single_event']['p50_ms']} ms, "
            f"p99 {results['single_event']['p99_ms']} ms"
        )

        # 3. history up to DOSSIERS rows, by INSERT … SELECT (through the table's own triggers).
        console.print(f"seeding history up to {args.dossiers:,} dossiers…")
        with monitor.measure("history_seed"):
            results["history_seed"] = await _seed_history(dsn, args.dossiers, args.chunk)
        h = results["history_seed"]
        console.print(
            f"history: {h['inserted_rows']:,} rows at {h['rows_per_s'] or 0:,} rows/s, "
            f"VACUUM ANALYZE {h['vacuum_analyze_s']} s; dossiers: {h['dossier_rows']:,}"
        )

        # 4. statistics latency, API against plain GROUP BY.
        with monitor.measure("statistics"):
            results["statistics"] = await _stats(
                base_url, read_key, dsn, args.reps, args.warmups, args.plain_reps, args.only
            )
    finally:
        _stop_server(server)
        if monitor is not None:
            monitor.stop()
    assert monitor is not None
    results["server_rss"] = {
        "workers": args.workers,
        "peak_mb": round(monitor.peak / 2**20, 1),
        "peak_process_mb": round(monitor.peak_process / 2**20, 1),
        "peak_mb_by_phase": {k: round(v / 2**20, 1) for k, v in monitor.phase_peak.items()},
    }
    results["cpu_by_phase"] = monitor.cpu
    results["finished_at"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    results["machine"]["load_average_at_end"] = [round(x, 2) for x in psutil.getloadavg()]
    if args.drop:
        await _drop(admin_dsn)
        results["database_dropped"] = True
    return results


async def _stats_only(args: argparse.Namespace, url: str, dsn: str) -> dict[str, Any]:
    """The statistics questions again, on the kept database (after a change to a query), with a
    server of the current code; the JSON says which database size it measured."""
    await asyncio.to_thread(migrate.upgrade, url)
    engine = create_engine(url, Settings(database_url=url))
    try:
        async with create_sessionmaker(engine)() as session, session.begin():
            _, read_key = await create_key(session, name="bench-read", scopes=["read"])
    finally:
        await engine.dispose()
    args.out.mkdir(parents=True, exist_ok=True)
    machine = await _machine(dsn)
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetchval("SELECT count(*) FROM dossiers")
    finally:
        await conn.close()
    console.rule(f"dossier-stats bench, statistics only: {rows:,} dossiers")
    port = _free_port()
    log = args.out / f"server-{args.dossiers}-stats.log"
    server = _start_server(url, port, log, args.workers)
    try:
        await _wait_ready(f"http://127.0.0.1:{port}", server, log)
        stats = await _stats(
            f"http://127.0.0.1:{port}",
            read_key,
            dsn,
            args.reps,
            args.warmups,
            args.plain_reps,
            args.only,
        )
    finally:
        _stop_server(server)
    machine["load_average_at_end"] = [round(x, 2) for x in psutil.getloadavg()]
    results = {"dossiers": rows, "stats_only": True, "machine": machine, "statistics": stats}
    suffix = "-".join(["stats", *(args.only or [])])
    path = args.out / f"bench-{args.dossiers}-{suffix}.json"
    path.write_bytes(orjson.dumps(results, option=orjson.OPT_INDENT_2))
    for st in stats.values():
        api, plain = st["api"], st["plain_sql"]
        mark = "ok" if _meets(st) else "MISSED"
        console.print(
            f"{st['label']}: API p50/p95 {api['p50_ms']:.1f}/{api['p95_ms']:.1f} ms, "
            f"plain {plain['p50_ms']:.1f}/{plain['p95_ms']:.1f} ms, "
            f"{_target(st)} {mark}; same counts {st['same_counts']}"
        )
    console.print(f"JSON: {path}")
    return {}


def _target(st: dict[str, Any]) -> str:
    """A statistics question's target, as the tables print it."""
    target = f"p95 ≤ {st['target_p95_ms']:g} ms"
    return target + (f", ≥ {st['target_speedup']:g}×" if st["target_speedup"] else "")


def _meets(st: dict[str, Any]) -> bool:
    """Whether a statistics question met its target (p95, and the speed-up where it has one)."""
    ok = bool(st["api"]["p95_ms"] <= st["target_p95_ms"])
    return ok and (not st["target_speedup"] or st["speedup_p95"] >= st["target_speedup"])


def _mark(ok: bool | None) -> str:
    return "" if ok is None else ("[green]✓[/]" if ok else "[red]✗[/]")


def render(results: dict[str, Any]) -> Table:
    """The table: each measure, its value, the baseline beside it, the ratio and the target."""
    t = Table(
        title=f"dossier-stats bench — {results['dossiers']:,} dossiers, "
        f"{results['machine']['nproc']} CPUs, PostgreSQL "
        f"{results['machine']['postgres']['server_version']}, load average "
        f"{results['machine']['load_average_at_start'][0]} → "
        f"{results['machine']['load_average_at_end'][0]}"
    )
    for col in ("measure", "value", "baseline", "ratio", "target", ""):
        t.add_column(col, justify="left" if col in ("measure", "target") else "right")
    b = results["batch_ingest"]
    t.add_row(
        f"batch ingest, {b['batch_size']:,}/request × {b['clients']} clients",
        f"{b['events_per_s']:,} ev/s",
        f"COPY {b['copy_rows_per_s']:,} rows/s",
        f"{b['api_over_copy']:.1%}",
        "≥ 50,000 ev/s, ≥ 25% of COPY",
        _mark(b["events_per_s"] >= 50_000 and b["api_over_copy"] >= 0.25),
    )
    s = results["single_event"]
    t.add_row(
        f"single-event POST, {s['clients']} clients",
        f"{s['requests_per_s']:,} req/s",
        "",
        "",
        "≥ 1,500 req/s",
        _mark(s["requests_per_s"] >= 1500),
    )
    t.add_row("  latency p50 / p99", f"{s['p50_ms']:.1f} / {s['p99_ms']:.1f} ms", "", "", "", "")
    h = results["history_seed"]
    t.add_row(
        f"history seeding, {h['inserted_rows']:,} rows by INSERT … SELECT",
        f"{h['rows_per_s']:,} rows/s" if h["rows_per_s"] else "—",
        "",
        "",
        f"then VACUUM ANALYZE {h['vacuum_analyze_s']:.1f} s",
        "",
    )
    for st in results["statistics"].values():
        api, plain = st["api"], st["plain_sql"]
        t.add_row(
            f"{st['label']} (p50 / p95)",
            f"{api['p50_ms']:.1f} / {api['p95_ms']:.1f} ms",
            f"GROUP BY {plain['p50_ms']:.1f} / {plain['p95_ms']:.1f} ms",
            f"{st['speedup_p95']:g}×",
            _target(st),
            _mark(_meets(st)),
        )
        if not st["same_counts"]:
            t.add_row("  [red]API and GROUP BY disagree[/]", "", "", "", "", _mark(False))
    server = results["server_rss"]
    rss = server.get("peak_process_mb", server["peak_mb"])
    t.add_row(
        f"server peak RSS per process ({server.get('workers', 1)} workers)",
        f"{rss:,.0f} MB (all: {server['peak_mb']:,.0f} MB)",
        "",
        "",
        "≤ 300 MB",
        _mark(rss <= 300),
    )
    return t


def main(argv: list[str] | None = None) -> None:
    args = _parse_args(argv)
    results = asyncio.run(run(args))
    if not results:
        return
    path = args.out / f"bench-{args.dossiers}.json"
    path.write_bytes(orjson.dumps(results, option=orjson.OPT_INDENT_2))
    console.print(render(results))
    cpu = Table(
        title="CPU seconds by phase (server = uvicorn worker; postgres = postmaster and backends)"
    )
    for col in ("phase", "wall s", "server", "postgres", "bench client"):
        cpu.add_column(col, justify="right")
    for phase, c in results["cpu_by_phase"].items():
        cpu.add_row(
            phase,
            f"{c['wall_s']:.1f}",
            f"{c['server_cpu_s']:.1f}",
            f"{c['postgres_cpu_s']:.1f}",
            f"{c['client_cpu_s']:.1f}",
        )
    console.print(cpu)
    console.print(f"JSON: {path}")
    if not results.get("database_dropped"):
        console.print(
            f"kept database {BENCH_DATABASE}; drop it with `make bench-drop` "
            f"(or DROP DATABASE {BENCH_DATABASE})"
        )


if __name__ == "__main__":
    main()
