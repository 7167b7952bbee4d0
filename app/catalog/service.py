"""Catalog rules: domains with their targets, and a unit tree that stays a tree."""

from __future__ import annotations

import unicodedata

from sqlalchemy.ext.asyncio import AsyncSession

from app.catalog import repository
from app.catalog.schemas import (
    DomainIn,
    DomainOut,
    ProcedureIn,
    ProcedureOut,
    UnitIn,
    UnitOut,
)
from app.core.problems import Conflict, field_error, validation_failed
from app.ingest import repository as dossiers
from app.ingest import service as ingest
from app.models import Domain, Procedure, Unit


def domain_out(domain: Domain) -> DomainOut:
    """The API form of a domain."""
    return DomainOut(
        code=domain.code,
        name=domain.name,
        online_target=float(domain.online_target),
        coverage_target=float(domain.coverage_target),
    )


def unit_out(unit: Unit) -> UnitOut:
    """The API form of a unit."""
    return UnitOut(
        code=unit.code,
        name=unit.name,
        parent_code=unit.parent_code,
        level=unit.level,
        agency_code=unit.agency_code,
        aliases=list(unit.aliases),
    )


async def put_domain(session: AsyncSession, code: str, body: DomainIn) -> tuple[DomainOut, bool]:
    """Create or replace a domain."""
    domain, created = await repository.upsert_domain(
        session, code, body.name, body.online_target, body.coverage_target
    )
    return domain_out(domain), created


async def list_domains(session: AsyncSession) -> list[DomainOut]:
    """All domains."""
    return [domain_out(d) for d in await repository.list_domains(session)]


async def put_unit(session: AsyncSession, code: str, body: UnitIn) -> tuple[UnitOut, bool]:
    """Create or replace a unit; its parent must exist and must not lie below it, and its
    agency code (kept when omitted) must not belong to another unit."""
    await repository.lock_unit_tree(session)
    if body.parent_code is not None:
        if body.parent_code == code:
            raise validation_failed(
                ["body", "parent_code"], "a unit cannot be its own parent", "unit_cycle"
            )
        if await repository.get_unit(session, body.parent_code) is None:
            raise validation_failed(
                ["body", "parent_code"],
                f"parent unit {body.parent_code!r} is not in the catalog",
                "unknown_unit",
            )
        if body.parent_code in await repository.unit_subtree(session, code):
            raise validation_failed(
                ["body", "parent_code"],
                f"unit {body.parent_code!r} lies below {code!r}; the tree would loop",
                "unit_cycle",
            )
    agency_code = body.agency_code if "agency_code" in body.model_fields_set else repository.KEEP
    if body.agency_code is not None:
        holder = await repository.unit_by_agency_code(session, body.agency_code)
        if holder is not None and holder.code != code:
            raise Conflict(
                f"agency code {body.agency_code!r} already belongs to unit {holder.code!r}",
                errors=[
                    field_error(
                        ["body", "agency_code"],
                        f"already used by unit {holder.code}",
                        "agency_code_taken",
                    )
                ],
            )
    aliases = (
        _distinct_aliases(body.aliases or [])
        if "aliases" in body.model_fields_set
        else repository.KEEP
    )
    unit, created = await repository.upsert_unit(
        session, code, body.name, body.parent_code, body.level, agency_code, aliases
    )
    return unit_out(unit), created


def _distinct_aliases(aliases: list[str]) -> list[str]:
    """Aliases in the order given, without repeats (as matched: trimmed and casefolded)."""
    seen: set[str] = set()
    kept = []
    for alias in aliases:
        folded = fold_name(alias)
        if folded not in seen:
            seen.add(folded)
            kept.append(alias)
    return kept


def fold_name(name: str) -> str:
    """A unit name or alias as DonViXuLy matches it: trimmed, inner spaces collapsed,
    case-folded, in one Unicode normal form."""
    return " ".join(unicodedata.normalize("NFC", name).casefold().split())


async def list_units(session: AsyncSession) -> list[UnitOut]:
    """All units."""
    return [unit_out(u) for u in await repository.list_units(session)]


def procedure_out(procedure: Procedure) -> ProcedureOut:
    """The API form of a procedure."""
    return ProcedureOut(
        code=procedure.code,
        name=procedure.name,
        domain_code=procedure.domain_code,
        service_level=procedure.service_level,
        unit_levels=list(procedure.unit_levels),
        from_catalog=procedure.from_catalog,
        full_online_eligible=eligible(procedure),
        full_online_eligible_set=procedure.full_online_eligible is not None,
    )


def eligible(procedure: Procedure) -> bool:
    """Eligible for fully online service: the catalog's choice, else exactly at level 4."""
    if procedure.full_online_eligible is not None:
        return procedure.full_online_eligible
    return procedure.service_level == 4


async def put_procedure(
    session: AsyncSession, code: str, body: ProcedureIn
) -> tuple[ProcedureOut, bool]:
    """Create or replace a procedure; its domain must be in the catalog. Dossiers that follow
    the procedure's level (sent without one) move with it, every dossier of the procedure takes
    its eligibility for fully online service, and every figure follows."""
    if await repository.get_domain(session, body.domain_code) is None:
        raise validation_failed(
            ["body", "domain_code"],
            f"domain {body.domain_code!r} is not in the catalog",
            "unknown_domain",
        )
    # Exclusive: no ingest reads this procedure's level until the change commits.
    await dossiers.lock_procedures(session, [code], shared=False)
    values: dict[str, object] = {
        "name": body.name,
        "domain_code": body.domain_code,
        "service_level": body.service_level,
        "unit_levels": sorted(set(body.unit_levels)),
    }
    if "full_online_eligible" in body.model_fields_set:
        values["full_online_eligible"] = body.full_online_eligible
    before = await repository.get_procedure(session, code)
    was_eligible = eligible(before) if before is not None else None
    procedure, created = await repository.upsert_procedure(session, code, values)
    await ingest.follow_procedure_level(session, code, body.service_level)
    if was_eligible is not None and eligible(procedure) != was_eligible:
        # A procedure new to the catalog has no dossiers yet: events add theirs first.
        await ingest.follow_procedure_eligibility(session, code, eligible(procedure))
    return procedure_out(procedure), created


async def list_procedures(session: AsyncSession, domain: str | None) -> list[ProcedureOut]:
    """All procedures, optionally of one domain."""
    return [procedure_out(p) for p in await repository.list_procedures(session, domain)]
