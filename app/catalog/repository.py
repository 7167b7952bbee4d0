"""SQL for the catalog: domains, the unit tree, procedures."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from sqlalchemy import select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Domain, Unit

_SUBTREE = text(
    """
    WITH RECURSIVE subtree(code) AS (
        SELECT code FROM units WHERE code = :root
        UNION
        SELECT u.code FROM units u JOIN subtree s ON u.parent_code = s.code
    )
    SELECT code FROM subtree
    """
)

# DO NOTHING, then an UPDATE of only the rows lacking a name: `ON CONFLICT DO UPDATE ... WHERE`
# would lock every existing domain row named by the batch until commit, and so serialise all
# concurrent ingests of the same domain.
_ENSURE_DOMAINS = text(
    """
    WITH sent AS (
        SELECT code, name FROM unnest(CAST(:codes AS varchar[]), CAST(:names AS text[]))
            AS d(code, name)
    ), added AS (
        INSERT INTO domains (code, name) SELECT code, name FROM sent ORDER BY code
        ON CONFLICT (code) DO NOTHING
    ), unnamed AS (  -- locked in code order, so two batches cannot deadlock here
        SELECT d.code FROM domains d JOIN sent ON sent.code = d.code
        WHERE d.name IS NULL AND sent.name IS NOT NULL
        ORDER BY d.code FOR UPDATE OF d
    )
    UPDATE domains SET name = sent.name, updated_at = now()
    FROM sent JOIN unnamed ON unnamed.code = sent.code
    WHERE domains.code = sent.code AND domains.name IS NULL
    """
)

_ENSURE_UNITS = text(
    """
    INSERT INTO units (code)
    SELECT code FROM unnest(CAST(:codes AS varchar[])) AS u(code) ORDER BY code
    ON CONFLICT (code) DO NOTHING
    """
)

_ENSURE_PROCEDURES = text(
    """
    INSERT INTO procedures (code, name, domain_code, service_level, unit_levels)
    SELECT p.code, p.name, p.domain_code, p.service_level,
           CASE WHEN u.level IS NULL THEN '{}' ELSE ARRAY[u.level] END
    FROM unnest(CAST(:codes AS varchar[]), CAST(:names AS text[]), CAST(:domains AS varchar[]),
                CAST(:levels AS smallint[]), CAST(:units AS varchar[]))
         AS p(code, name, domain_code, service_level, unit_code)
    LEFT JOIN units u ON u.code = p.unit_code
    ORDER BY p.code
    ON CONFLICT (code) DO NOTHING
    """
)


async def unit_subtree(session: AsyncSession, root: str) -> set[str]:
    """The codes of `root` and every unit below it (empty when `root` is unknown)."""
    return set((await session.scalars(_SUBTREE, {"root": root})).all())


async def ensure_domains(session: AsyncSession, names: dict[str, str | None]) -> None:
    """Add unknown domains (default target); fill in a missing name."""
    if names:
        codes = sorted(names)
        await session.execute(_ENSURE_DOMAINS, {"codes": codes, "names": [names[c] for c in codes]})


async def ensure_units(session: AsyncSession, codes: Iterable[str]) -> None:
    """Add unknown units, without parent or level, until an administrator places them."""
    ordered = sorted(set(codes))
    if ordered:
        await session.execute(_ENSURE_UNITS, {"codes": ordered})


async def ensure_procedures(
    session: AsyncSession, procedures: dict[str, tuple[str | None, str, int, str]]
) -> None:
    """Add procedures first seen in events: code -> (name, domain, service level, unit)."""
    if procedures:
        codes = sorted(procedures)
        rows = [procedures[c] for c in codes]
        await session.execute(
            _ENSURE_PROCEDURES,
            {
                "codes": codes,
                "names": [r[0] for r in rows],
                "domains": [r[1] for r in rows],
                "levels": [r[2] for r in rows],
                "units": [r[3] for r in rows],
            },
        )


async def list_domains(session: AsyncSession) -> list[Domain]:
    """All domains by code."""
    return list((await session.scalars(select(Domain).order_by(Domain.code))).all())


async def upsert_domain(
    session: AsyncSession, code: str, name: str, online_target: Decimal
) -> tuple[Domain, bool]:
    """Create or replace a domain; returns it and whether it was created."""
    stmt = (
        insert(Domain)
        .values(code=code, name=name, online_target=online_target)
        .on_conflict_do_update(
            index_elements=[Domain.code],
            set_={"name": name, "online_target": online_target, "updated_at": text("now()")},
        )
        .returning(Domain, text("xmax = 0"))
        .execution_options(populate_existing=True)
    )
    row = (await session.execute(stmt)).one()
    return row[0], bool(row[1])


async def list_units(session: AsyncSession) -> list[Unit]:
    """All units by code."""
    return list((await session.scalars(select(Unit).order_by(Unit.code))).all())


async def get_unit(session: AsyncSession, code: str) -> Unit | None:
    """One unit."""
    return await session.get(Unit, code)


async def get_domain(session: AsyncSession, code: str) -> Domain | None:
    """One domain."""
    return await session.get(Domain, code)


async def upsert_unit(
    session: AsyncSession, code: str, name: str, parent_code: str | None, level: str
) -> tuple[Unit, bool]:
    """Create or replace a unit; returns it and whether it was created."""
    values = {"name": name, "parent_code": parent_code, "level": level}
    stmt = (
        insert(Unit)
        .values(code=code, **values)
        .on_conflict_do_update(
            index_elements=[Unit.code], set_={**values, "updated_at": text("now()")}
        )
        .returning(Unit, text("xmax = 0"))
        .execution_options(populate_existing=True)
    )
    row = (await session.execute(stmt)).one()
    return row[0], bool(row[1])
