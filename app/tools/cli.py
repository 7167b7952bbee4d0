"""The `dossier-stats` command: serve, migrate, seed, demo, import, and manage API keys."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import typer
from rich.console import Console
from rich.progress import MofNCompleteColumn, Progress
from rich.table import Table
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app import migrate
from app.catalog.seed import seed_catalog
from app.config import get_settings
from app.core.observability.logs import configure_logging
from app.core.problems import AppError
from app.db import create_engine, create_sessionmaker, resolve_database_url
from app.ingest.schemas import IngestResult
from app.keys import service as keys
from app.localtime import REPORT_TIMEZONE, REPORT_TIMEZONE_NAME
from app.tools import importer as importer
from app.tools import serving
from app.tools.demo import service as demo

app = typer.Typer(help="dossier-stats: online-filing statistics for one-stop-shop dossiers.")
keys_app = typer.Typer(help="Manage API keys.")
app.add_typer(keys_app, name="keys")
err = Console(stderr=True)

T = TypeVar("T")


def _in_transaction(work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run `work` in one committed transaction on the configured database."""
    settings = get_settings()
    url = resolve_database_url(settings)

    async def run() -> T:
        engine = create_engine(url, settings)
        try:
            async with create_sessionmaker(engine)() as session, session.begin():
                return await work(session)
        finally:
            await engine.dispose()

    return asyncio.run(run())


def _with_database(work: Callable[[async_sessionmaker[AsyncSession]], Awaitable[T]]) -> T:
    """Run `work` with sessions on the configured database (it manages its transactions)."""
    settings = get_settings()
    url = resolve_database_url(settings)

    async def run() -> T:
        engine = create_engine(url, settings)
        try:
            return await work(create_sessionmaker(engine))
        finally:
            await engine.dispose()

    return asyncio.run(run())


@app.command("migrate")
def migrate_command(revision: str = "head") -> None:
    """Migrate the database schema to REVISION (default: the newest)."""
    migrate.upgrade(resolve_database_url(get_settings()), revision)


@app.command("seed")
def seed_command() -> None:
    """Insert the reference catalog (rows that exist are left alone)."""
    _in_transaction(seed_catalog)


@app.command("serve")
def serve_command(
    host: Annotated[str | None, typer.Option(help="Default: HOST or 127.0.0.1")] = None,
    port: Annotated[int | None, typer.Option(help="Default: PORT or 8000")] = None,
    workers: Annotated[
        int | None, typer.Option(min=1, help="Server processes. Default: WORKERS or the cores")
    ] = None,
) -> None:
    """Migrate, seed the catalog, and serve the API; SIGTERM or SIGINT stops it and the embedded
    PostgreSQL it started (the process then ends by that signal: exit status 143 or 130).
    With more than one worker this process supervises them; a worker that dies is restarted,
    one that cannot start stops the service (exit status 3)."""
    with serving.lifecycle(get_settings()):
        _serve(host, port, workers)


@app.command("stop")
def stop_command() -> None:
    """Stop the service started from this checkout (DATA_DIR) and its embedded PostgreSQL."""
    done = serving.stop_service(get_settings())
    err.print("\n".join(done) if done else "nothing was running")


def _serve(host: str | None, port: int | None, workers: int | None) -> None:
    """Start the embedded PostgreSQL if needed, migrate, seed, and run uvicorn until stopped
    (with several workers: once here, in the supervisor, before any worker starts)."""
    from app.main import create_app
    from app.tools.server import run_server, run_workers

    settings = get_settings()
    configure_logging(settings.log_level, settings.log_format)
    url = resolve_database_url(settings)  # starts the embedded PostgreSQL when needed
    migrate.upgrade(url)
    _in_transaction(seed_catalog)
    settings = settings.model_copy(update={"database_url": url})
    if _with_database(demo.database_is_empty):
        err.print(
            "[yellow]The database holds no dossiers yet.[/] To see figures at once, load a demo "
            "year for Mỹ Đức:  [bold].venv/bin/dossier-stats demo[/]  "
            "(or import an export: [bold].venv/bin/dossier-stats import FILE[/])"
        )
    err.print(
        f"[green]dossier-stats[/] on http://{host or settings.host}:{port or settings.port}"
        " — docs at /docs, dashboard at /dashboard"
    )
    err.print(
        "Every /v1 request needs an API key. Make one with  [bold].venv/bin/dossier-stats keys "
        "create --name me --scope read --scope ingest --scope admin[/]  (the key is the last "
        "line it prints) and send it as  Authorization: Bearer KEY"
    )
    processes = workers or settings.workers
    if processes > 1:
        run_workers(
            host=host or settings.host,
            port=port or settings.port,
            settings=settings,
            workers=processes,
        )
        return
    run_server(
        create_app(settings),
        host=host or settings.host,
        port=port or settings.port,
        settings=settings,
    )


@app.command("demo")
def demo_command(
    year: Annotated[int, typer.Option(help="Calendar year to generate.")] = 2017,
    dossiers: Annotated[int, typer.Option(min=1, help="How many dossiers.")] = 6000,
    seed: Annotated[int, typer.Option(help="Same seed, same data (a rerun adds nothing).")] = 2017,
) -> None:
    """Load a realistic year of dossiers for Mỹ Đức through the ingest path."""
    with Progress(
        *Progress.get_default_columns(), MofNCompleteColumn(), console=err, transient=True
    ) as bar:
        task = bar.add_task("demo events", total=None)

        def advance(_: IngestResult, sent: int) -> None:
            bar.advance(task, sent)

        try:
            total = _with_database(
                lambda sessions: demo.load_demo(
                    sessions, year=year, dossiers=dossiers, seed=seed, progress=advance
                )
            )
        except AppError as exc:
            err.print(f"[red]error:[/] {exc.detail}")
            raise typer.Exit(2) from None
    err.print(
        f"demo {year}: {dossiers} dossiers; events applied {total.applied}, stale {total.stale}, "
        f"duplicates {total.duplicates}, rejected {len(total.rejected)}"
    )
    err.print(
        "try: /v1/stats/online-ratio?from="
        f"{year}-01-01&to={year}-12-31&unit=282&period=month (or /dashboard)"
    )


@app.command("import")
def import_command(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    source: Annotated[
        str, typer.Option(help="Source system the events are logged under (idempotency).")
    ] = "import",
    timezone: Annotated[
        str, typer.Option(help="Time zone of timestamps written without an offset.")
    ] = REPORT_TIMEZONE_NAME,
    allow_rejects: Annotated[
        bool, typer.Option(help="Exit 0 even when rows were rejected.")
    ] = False,
) -> None:
    """Import a CSV or JSON Lines export (native or national field names); safe to rerun.
    Exits 1 when rows were rejected (they are written to FILE.rejected.jsonl) unless
    --allow-rejects."""
    try:
        zone = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        err.print(f"[red]error:[/] unknown time zone {timezone!r} (e.g. Asia/Ho_Chi_Minh, UTC)")
        raise typer.Exit(2) from None
    total = importer.count_rows(file)
    with Progress(
        *Progress.get_default_columns(), MofNCompleteColumn(), console=err, transient=True
    ) as bar:
        task = bar.add_task(f"importing {file.name}", total=total)
        summary = _with_database(
            lambda sessions: importer.import_file(
                sessions, file, source=source, progress=lambda n: bar.advance(task, n), zone=zone
            )
        )
    table = Table("rows", "applied", "stale", "duplicates", "rejected", title=str(file))
    table.add_row(
        str(summary.rows),
        str(summary.applied),
        str(summary.stale),
        str(summary.duplicates),
        str(len(summary.rejected)),
    )
    err.print(table)
    for kind, codes in summary.added.items():
        if codes:
            # A typo in a code adds an entry silently; the operator sees it here.
            err.print(f"[yellow]added to the catalog, {kind} ({len(codes)}):[/] {', '.join(codes)}")
    if not any(summary.added.values()):
        err.print("added to the catalog: nothing")
    target = importer.rejected_path(file)
    if summary.rejected:
        importer.write_rejected(file, summary.rejected)
        err.print(f"[yellow]{len(summary.rejected)} rows rejected; rows and reasons:[/] {target}")
        if not allow_rejects:
            raise typer.Exit(1)
    elif target.exists():
        target.unlink()  # a rerun with nothing rejected leaves no stale report behind


@keys_app.command("create")
def keys_create(
    name: Annotated[str, typer.Option(help="Who the key is for.")],
    scope: Annotated[list[str], typer.Option(help="ingest, read or admin; repeat for more.")],
    unit: Annotated[str | None, typer.Option(help="Only this unit and units below it.")] = None,
    source: Annotated[str | None, typer.Option(help="Source system (default: NAME).")] = None,
) -> None:
    """Create a key and print it; the key is the last line and is shown only this once."""

    async def work(session: AsyncSession) -> str:
        row, secret = await keys.create_key(
            session, name=name, scopes=scope, unit_code=unit, source=source
        )
        err.print(
            f"key {row.id} for {row.name} (source {row.source}, scopes {', '.join(row.scopes)})"
        )
        return secret

    try:
        secret = _in_transaction(work)
    except Exception as exc:  # shown to the operator as a message, not a traceback
        detail = getattr(exc, "detail", str(exc))
        err.print(f"[red]error:[/] {detail}")
        raise typer.Exit(2) from None
    typer.echo(secret)


@keys_app.command("list")
def keys_list() -> None:
    """List keys (never their secrets)."""
    rows = _in_transaction(keys.list_keys)
    table = Table(
        "id",
        "name",
        "source",
        "prefix",
        "scopes",
        "unit",
        "created (Vietnam time)",
        "revoked (Vietnam time)",
    )
    for r in rows:
        table.add_row(
            str(r.id),
            r.name,
            r.source,
            r.prefix + "…",
            ",".join(r.scopes),
            r.unit_code or "",
            _vietnam_time(r.created_at),
            _vietnam_time(r.revoked_at),
        )
    Console().print(table)


def _vietnam_time(moment: dt.datetime | None) -> str:
    """A stored (UTC) time as the operator reads it: Vietnam wall-clock time."""
    return f"{moment.astimezone(REPORT_TIMEZONE):%Y-%m-%d %H:%M}" if moment else ""


@keys_app.command("revoke")
def keys_revoke(key_id: int) -> None:
    """Revoke key KEY_ID; it stops working at once."""

    async def work(session: AsyncSession) -> None:
        await keys.revoke_key(session, key_id)

    try:
        _in_transaction(work)
    except Exception as exc:
        err.print(f"[red]error:[/] {getattr(exc, 'detail', str(exc))}")
        raise typer.Exit(2) from None
    err.print(f"key {key_id} revoked")


def main() -> None:
    """Entry point of `dossier-stats` and `python -m app`."""
    configure_logging("info", "auto")
    app()
