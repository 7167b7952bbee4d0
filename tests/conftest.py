"""Test fixtures: a real PostgreSQL (embedded unless DATABASE_URL is set), real migrations,
the real app over httpx's ASGI transport, and a clean database for every test."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import make_url, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, create_async_engine

from app import migrate
from app.catalog.seed import seed_catalog
from app.config import Settings
from app.db import create_sessionmaker, resolve_database_url
from app.keys.service import create_key
from app.main import create_app
from tests.support import reference

TEST_DATABASE = "dossier_stats_test"
DATA_TABLES = [
    "dossier_events",
    "dossiers",
    "procedures",
    "api_keys",
    "units",
    "domains",
    "rate_limit_buckets",
]
# TRUNCATE dossiers also empties the summary tables (trigger dossiers_stats_truncate).


def _test_database_url() -> str:
    base = make_url(resolve_database_url(Settings(embedded_database="postgres")))
    return base.set(database=os.environ.get("TEST_DATABASE", TEST_DATABASE)).render_as_string(
        hide_password=False
    )


async def _recreate_database(url: str) -> None:
    target = make_url(url)
    admin = create_async_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(text(f'DROP DATABASE IF EXISTS "{target.database}" WITH (FORCE)'))
        await conn.execute(text(f'CREATE DATABASE "{target.database}"'))
    await admin.dispose()


@pytest.fixture(scope="session")
async def database_url() -> str:
    """A freshly created, fully migrated test database."""
    url = _test_database_url()
    await _recreate_database(url)
    await asyncio.to_thread(migrate.upgrade, url)
    return url


@pytest.fixture(scope="session")
def settings(database_url: str) -> Settings:
    return Settings(database_url=database_url, db_pool_size=5)


@pytest.fixture(scope="session")
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture(scope="session")
def engine(app: FastAPI) -> AsyncEngine:
    engine: AsyncEngine = app.state.engine
    return engine


@pytest.fixture(autouse=True)
async def clean_database(engine: AsyncEngine) -> AsyncIterator[None]:
    """Every test starts from the seeded catalog and nothing else."""
    async with create_sessionmaker(engine)() as session, session.begin():
        await session.execute(text(f"TRUNCATE {', '.join(DATA_TABLES)} RESTART IDENTITY CASCADE"))
        await seed_catalog(session)
        # The scoring table as migration 0009 seeds it (contract section 12): a PUT of one
        # test must not score the next.
        for indicator, max_points, full_marks_at in reference.SCORING:
            await session.execute(
                text(
                    "UPDATE indicators SET max_points = :p, full_marks_at = :f WHERE indicator = :i"
                ),
                {"p": max_points, "f": float(full_marks_at), "i": indicator},
            )
    yield


@pytest.fixture
async def session(engine: AsyncEngine) -> AsyncIterator[AsyncSession]:
    """A session for looking at stored rows directly."""
    async with create_sessionmaker(engine)() as s:
        yield s


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


MakeKey = Callable[..., Awaitable[str]]


@pytest.fixture
def make_key(engine: AsyncEngine) -> MakeKey:
    """Create an API key and return its secret."""

    async def make(
        *scopes: str, name: str = "test", unit: str | None = None, source: str | None = None
    ) -> str:
        async with create_sessionmaker(engine)() as s, s.begin():
            _, secret = await create_key(
                s,
                name=name,
                scopes=list(scopes or ("ingest", "read", "admin")),
                unit_code=unit,
                source=source,
            )
        return secret

    return make


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture
async def api(client: httpx.AsyncClient, make_key: MakeKey) -> httpx.AsyncClient:
    """A client that sends a key with every scope."""
    client.headers.update(bearer(await make_key("ingest", "read", "admin")))
    return client


def event(
    event_id: str,
    code: str = "D1",
    occurred_at: str = "2017-02-10T09:15:00+07:00",
    **dossier: Any,
) -> dict[str, Any]:
    """An event with sensible defaults; keyword arguments override dossier fields."""
    body: dict[str, Any] = {
        "code": code,
        "procedure_code": "1.001193",
        "procedure_name": "Đăng ký khai sinh",
        "domain_code": "TP",
        "domain_name": "Tư pháp",
        "unit_code": "10441",
        "channel": "online",
        "service_level": 3,
        "status": "processing",
        "submitted_at": "2017-02-09T12:02:00+07:00",
        "received_at": "2017-02-09T14:00:00+07:00",
        "due_at": "2017-02-14T17:00:00+07:00",
        "finished_at": None,
        "returned_at": None,
    }
    body.update(dossier)
    return {"event_id": event_id, "occurred_at": occurred_at, "dossier": body}


def csv_body(response: Any) -> str:
    """The text of a CSV answer, which starts with a UTF-8 byte-order mark (so Excel reads
    Vietnamese)."""
    content: bytes = response.content
    assert content.startswith(b"\xef\xbb\xbf"), content[:20]
    return content[3:].decode("utf-8")
