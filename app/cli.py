"""The `dossier-stats` command: serve, migrate, seed, and manage API keys."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy.ext.asyncio import AsyncSession

from app import migrate
from app.catalog.seed import seed_catalog
from app.config import get_settings
from app.db import create_engine, create_sessionmaker, resolve_database_url
from app.keys import service as keys

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
) -> None:
    """Migrate, seed the catalog, and serve the API."""
    import uvicorn

    from app.main import create_app

    settings = get_settings()
    url = resolve_database_url(settings)  # starts the embedded PostgreSQL when needed
    migrate.upgrade(url)
    _in_transaction(seed_catalog)
    settings = settings.model_copy(update={"database_url": url})
    err.print(
        f"[green]dossier-stats[/] on http://{host or settings.host}:{port or settings.port}"
        " — docs at /docs"
    )
    uvicorn.run(
        create_app(settings),
        host=host or settings.host,
        port=port or settings.port,
        log_level=settings.log_level,
        timeout_graceful_shutdown=30,
        server_header=False,
    )


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
    table = Table("id", "name", "source", "prefix", "scopes", "unit", "created", "revoked")
    for r in rows:
        table.add_row(
            str(r.id),
            r.name,
            r.source,
            r.prefix + "…",
            ",".join(r.scopes),
            r.unit_code or "",
            f"{r.created_at:%Y-%m-%d %H:%M}",
            f"{r.revoked_at:%Y-%m-%d %H:%M}" if r.revoked_at else "",
        )
    Console().print(table)


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
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    app()
