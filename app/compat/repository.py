"""SQL the national sync needs: unit resolution, procedure levels, stored states, the clock."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.dossiers.repository import STATE_COLUMNS

_UNITS_NAMED = text(
    "SELECT code, agency_code FROM units"
    " WHERE code = ANY(CAST(:names AS varchar[])) OR agency_code = ANY(CAST(:names AS varchar[]))"
)

_PROCEDURE_LEVELS = text(
    "SELECT code, service_level FROM procedures WHERE code = ANY(CAST(:codes AS varchar[]))"
)

# Only the columns a snapshot sets; received_on, occurred_at and last_event_id are derived.
SNAPSHOT_COLUMNS = tuple(
    c for c in STATE_COLUMNS if c not in ("received_on", "occurred_at", "last_event_id")
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


async def resolve_units(session: AsyncSession, names: Sequence[str]) -> dict[str, str]:
    """Unit code for each DonViXuLy value that is a unit's agency code or a unit code.

    An agency code wins over a unit code of the same spelling: a unit auto-created from an
    unmapped agency id must not keep catching records once an administrator maps that id.
    """
    if not names:
        return {}
    rows = (await session.execute(_UNITS_NAMED, {"names": sorted(set(names))})).all()
    resolved = {row.code: row.code for row in rows}
    resolved.update({row.agency_code: row.code for row in rows if row.agency_code is not None})
    return resolved


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
