"""SQL the national sync needs: unit resolution, procedure levels, stored states, the clock."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.ingest.repository import STATE_COLUMNS

_UNITS_BY_CODE = text(
    "SELECT code, agency_code FROM units"
    " WHERE code = ANY(CAST(:names AS varchar[])) OR agency_code = ANY(CAST(:names AS varchar[]))"
)

_NAMED_UNITS = text(
    "SELECT code, name, aliases FROM units WHERE name IS NOT NULL OR cardinality(aliases) > 0"
)

_PROCEDURE_LEVELS = text(
    "SELECT code, service_level FROM procedures WHERE code = ANY(CAST(:codes AS varchar[]))"
)

# Only the columns a snapshot sets (received_on, occurred_at and last_event_id are derived), and
# whether its level follows the procedure's.
SNAPSHOT_COLUMNS = (
    *(c for c in STATE_COLUMNS if c not in ("received_on", "occurred_at", "last_event_id")),
    "follows_procedure_level",
)

_STORED_STATES = text(
    f"SELECT code, occurred_at, last_event_id, {', '.join(SNAPSHOT_COLUMNS)}"  # noqa: S608 - constant columns
    " FROM dossiers WHERE code = ANY(CAST(:codes AS varchar[]))"
)


@dataclass(frozen=True)
class StoredState:
    """A dossier's current snapshot, with what the national sync chains new records to."""

    occurred_at: dt.datetime
    last_event_id: int
    snapshot: dict[str, Any]


@dataclass(frozen=True)
class NamedUnit:
    """A unit's name and aliases, as DonViXuLy may spell them."""

    code: str
    name: str | None
    aliases: list[str]


async def units_by_code(
    session: AsyncSession, values: Sequence[str]
) -> tuple[set[str], dict[str, str]]:
    """Of these DonViXuLy values: the ones that are unit codes, and each agency code's unit."""
    if not values:
        return set(), {}
    rows = (await session.execute(_UNITS_BY_CODE, {"names": sorted(set(values))})).all()
    wanted = set(values)
    codes = {row.code for row in rows if row.code in wanted}
    agencies = {row.agency_code: row.code for row in rows if row.agency_code in wanted}
    return codes, agencies


async def named_units(session: AsyncSession) -> list[NamedUnit]:
    """Every unit that has a name or an alias."""
    rows = await session.execute(_NAMED_UNITS)
    return [NamedUnit(row.code, row.name, list(row.aliases)) for row in rows]


async def procedure_levels(session: AsyncSession, codes: Sequence[str]) -> dict[str, int]:
    """The catalog's service level of each known procedure."""
    if not codes:
        return {}
    rows = await session.execute(_PROCEDURE_LEVELS, {"codes": sorted(set(codes))})
    return {row.code: int(row.service_level) for row in rows}


async def stored_states(session: AsyncSession, codes: Sequence[str]) -> dict[str, StoredState]:
    """The current snapshot of each known dossier (call with the dossiers locked)."""
    if not codes:
        return {}
    rows = (await session.execute(_STORED_STATES, {"codes": sorted(set(codes))})).mappings()
    return {
        row["code"]: StoredState(
            occurred_at=row["occurred_at"],
            last_event_id=row["last_event_id"],
            snapshot={c: row[c] for c in SNAPSHOT_COLUMNS},
        )
        for row in rows
    }


async def clock(session: AsyncSession) -> dt.datetime:
    """The database's current time (not the transaction start), read after taking the locks."""
    moment: dt.datetime = await session.scalar(text("SELECT clock_timestamp()"))
    return moment
