"""SQL for the catalog: domains, the unit tree, procedures."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from sqlalchemy import select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Domain, Procedure, Unit


class _Keep:
    """Marker: leave the stored value alone."""


KEEP = _Keep()

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

# The procedures a batch sights: a new one takes its first sighting's name, domain and level; a
# known one learns the levels of the units seen handling it (unless the catalog owns it).
_PROCEDURE_SIGHTINGS = """
    INSERT INTO procedures (code, name, domain_code, service_level, unit_levels)
    SELECT p.code,
           (array_agg(p.name ORDER BY p.n))[1],
           (array_agg(p.domain_code ORDER BY p.n))[1],
           (array_agg(p.service_level ORDER BY p.n))[1],
           COALESCE(array_agg(DISTINCT u.level ORDER BY u.level)
                    FILTER (WHERE u.level IS NOT NULL), '{}')
    FROM unnest(CAST(:p_codes AS varchar[]), CAST(:p_names AS text[]),
                CAST(:p_domains AS varchar[]), CAST(:p_levels AS smallint[]),
                CAST(:p_units AS varchar[])) WITH ORDINALITY
         AS p(code, name, domain_code, service_level, unit_code, n)
    LEFT JOIN units u ON u.code = p.unit_code
    GROUP BY p.code
    ORDER BY p.code
    ON CONFLICT (code) DO UPDATE
        SET unit_levels = ARRAY(
                SELECT DISTINCT l FROM unnest(procedures.unit_levels || excluded.unit_levels) AS l
                ORDER BY l),
            updated_at = now()
        WHERE NOT procedures.from_catalog
          AND NOT excluded.unit_levels <@ procedures.unit_levels
"""

# Domains, units and procedures of one batch in one round trip. Domains: DO NOTHING, then an
# UPDATE of only the rows lacking a name (`ON CONFLICT DO UPDATE ... WHERE` would lock every
# existing domain row named by the batch until commit, and so serialise all concurrent ingests of
# the same domain). The parts see one snapshot: a unit added here has no level yet (none is read
# for it), and the procedures' foreign key to a domain added here is checked at the statement's
# end.
_ENSURE_CATALOG = text(
    f"""
    WITH sent AS (
        SELECT code, name FROM unnest(CAST(:d_codes AS varchar[]), CAST(:d_names AS text[]))
            AS d(code, name)
    ), added AS (
        INSERT INTO domains (code, name) SELECT code, name FROM sent ORDER BY code
        ON CONFLICT (code) DO NOTHING
    ), unnamed AS (  -- locked in code order, so two batches cannot deadlock here
        SELECT d.code FROM domains d JOIN sent ON sent.code = d.code
        WHERE d.name IS NULL AND sent.name IS NOT NULL
        ORDER BY d.code FOR UPDATE OF d
    ), named AS (
        UPDATE domains SET name = sent.name, updated_at = now()
        FROM sent JOIN unnamed ON unnamed.code = sent.code
        WHERE domains.code = sent.code AND domains.name IS NULL
    ), units_added AS (
        INSERT INTO units (code)
        SELECT code FROM unnest(CAST(:u_codes AS varchar[])) AS u(code) ORDER BY code
        ON CONFLICT (code) DO NOTHING
    ), procedures_seen AS ({_PROCEDURE_SIGHTINGS})
    SELECT 1
    """  # noqa: S608 - built from the constant statement above, not from input
)


# Advisory lock space 3 (spaces 1 and 2 are the dossier and summary locks of ingest), key 0:
# the unit tree as a whole.
_LOCK_UNIT_TREE = text("SELECT pg_advisory_xact_lock(3, 0)")


async def lock_unit_tree(session: AsyncSession) -> None:
    """Serialize changes of the unit tree until this transaction ends: a check that the tree
    stays a tree then sees every change committed before it (two concurrent re-parentings
    could otherwise each pass the check and together make a loop)."""
    await session.execute(_LOCK_UNIT_TREE)


async def unit_subtree(session: AsyncSession, root: str) -> set[str]:
    """The codes of `root` and every unit below it (empty when `root` is unknown)."""
    return set((await session.scalars(_SUBTREE, {"root": root})).all())


async def list_procedures(session: AsyncSession, domain: str | None = None) -> list[Procedure]:
    """All procedures by code (of one domain when given)."""
    stmt = select(Procedure).order_by(Procedure.code)
    if domain is not None:
        stmt = stmt.where(Procedure.domain_code == domain)
    return list((await session.scalars(stmt)).all())


async def upsert_procedure(
    session: AsyncSession, code: str, values: dict[str, object]
) -> tuple[Procedure, bool]:
    """Create or replace a procedure as the catalog's own; returns it and whether it was new."""
    values = {**values, "from_catalog": True}
    stmt = (
        insert(Procedure)
        .values(code=code, **values)
        .on_conflict_do_update(
            index_elements=[Procedure.code], set_={**values, "updated_at": text("now()")}
        )
        .returning(Procedure, text("xmax = 0"))
        .execution_options(populate_existing=True)
    )
    row = (await session.execute(stmt)).one()
    return row[0], bool(row[1])


async def ensure_catalog(
    session: AsyncSession,
    domains: dict[str, str | None],
    units: Iterable[str],
    sightings: list[tuple[str, str | None, str, int, str]],
) -> None:
    """Add the domains (default targets), units (without parent or level, until an
    administrator places them) and procedures a batch names and the catalog lacks; fill in a
    domain's missing name; add the unit levels events show handling a procedure.

    `sightings` are (code, name, domain, service level, unit) in arrival order: the first
    sighting of a new procedure gives its name, domain and level."""
    codes = sorted(domains)
    await session.execute(
        _ENSURE_CATALOG,
        {
            "d_codes": codes,
            "d_names": [domains[c] for c in codes],
            "u_codes": sorted(set(units)),
            "p_codes": [s[0] for s in sightings],
            "p_names": [s[1] for s in sightings],
            "p_domains": [s[2] for s in sightings],
            "p_levels": [s[3] for s in sightings],
            "p_units": [s[4] for s in sightings],
        },
    )


async def list_domains(session: AsyncSession) -> list[Domain]:
    """All domains by code."""
    return list((await session.scalars(select(Domain).order_by(Domain.code))).all())


async def upsert_domain(
    session: AsyncSession, code: str, name: str, online_target: Decimal, coverage_target: Decimal
) -> tuple[Domain, bool]:
    """Create or replace a domain; returns it and whether it was created."""
    values = {"name": name, "online_target": online_target, "coverage_target": coverage_target}
    stmt = (
        insert(Domain)
        .values(code=code, **values)
        .on_conflict_do_update(
            index_elements=[Domain.code], set_={**values, "updated_at": text("now()")}
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


async def get_procedure(session: AsyncSession, code: str) -> Procedure | None:
    """One procedure of the catalog."""
    return await session.scalar(select(Procedure).where(Procedure.code == code))


async def get_domain(session: AsyncSession, code: str) -> Domain | None:
    """One domain."""
    return await session.get(Domain, code)


async def unit_by_agency_code(session: AsyncSession, agency_code: str) -> Unit | None:
    """The unit that carries this national agency id, if any."""
    return await session.scalar(select(Unit).where(Unit.agency_code == agency_code))


async def upsert_unit(
    session: AsyncSession,
    code: str,
    name: str,
    parent_code: str | None,
    level: str,
    agency_code: str | _Keep | None = KEEP,
    aliases: list[str] | _Keep = KEEP,
) -> tuple[Unit, bool]:
    """Create or replace a unit; returns it and whether it was created.

    `agency_code=KEEP` and `aliases=KEEP` leave the stored values as they are (and set none on
    a new unit).
    """
    values: dict[str, object] = {"name": name, "parent_code": parent_code, "level": level}
    if not isinstance(agency_code, _Keep):
        values["agency_code"] = agency_code
    if not isinstance(aliases, _Keep):
        values["aliases"] = aliases
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
