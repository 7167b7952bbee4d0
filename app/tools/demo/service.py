"""Load a demo year through the one ingest path, batch by batch, one transaction per batch."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from itertools import islice
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.problems import NotFound
from app.ingest import service as ingest
from app.ingest.schemas import IngestResult
from app.keys.service import tool_principal
from app.tools.demo import generator, repository

DEMO_SOURCE = "demo"
DISTRICT = "282"


def batched(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    """Lists of at most `size` items."""
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


async def load_demo(
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    year: int,
    dossiers: int,
    seed: int,
    batch_size: int = 5000,
    progress: Callable[[IngestResult, int], None] | None = None,
) -> IngestResult:
    """Generate and ingest the demo year; returns the summed counts."""
    async with sessionmaker() as session, session.begin():
        communes = await repository.child_units(session, DISTRICT)
        if not communes:
            raise NotFound(f"unit {DISTRICT} (Mỹ Đức) has no communes: run `dossier-stats seed`")
        key = await tool_principal(session, DEMO_SOURCE)
    total = IngestResult(applied=0, stale=0, duplicates=0, rejected=[])
    events = generator.generate(year, dossiers, communes, district=DISTRICT, seed=seed)
    for batch in batched(events, batch_size):
        async with sessionmaker() as session, session.begin():
            result = await ingest.ingest_events(session, key, batch)
        total.applied += result.applied
        total.stale += result.stale
        total.duplicates += result.duplicates
        total.rejected.extend(result.rejected)
        if progress is not None:
            progress(result, len(batch))
    return total


async def database_is_empty(sessionmaker: async_sessionmaker[AsyncSession]) -> bool:
    """True when no dossier is stored yet."""
    async with sessionmaker() as session:
        return not await repository.has_dossiers(session)
