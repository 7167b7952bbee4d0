"""SQL the national sync needs: unit resolution, procedure levels, the clock (the stored states
are the ingest path's, `app.ingest.repository.current_states`)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

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


async def clock(session: AsyncSession) -> dt.datetime:
    """The database's current time (not the transaction start), read after taking the locks."""
    moment: dt.datetime = await session.scalar(text("SELECT clock_timestamp()"))
    return moment
