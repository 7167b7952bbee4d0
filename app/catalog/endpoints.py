"""HTTP entry points of the catalog: `/v1/domains`, `/v1/units`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response

from app.catalog import service
from app.catalog.schemas import DomainIn, DomainOut, ProcedureIn, ProcedureOut, UnitIn, UnitOut
from app.core.openapi import AUTH_ERRORS, CONFLICT
from app.core.problems import validation_failed
from app.core.validation import Code
from app.db import SessionDep
from app.keys.dependencies import AdminKey, ReadKey


def _single_valued_query(request: Request) -> None:
    """A query parameter given twice is refused, not silently read as its last value."""
    names = [name for name, _ in request.query_params.multi_items()]
    for name in dict.fromkeys(names):
        if names.count(name) > 1:
            raise validation_failed(["query", name], "given more than once", "repeated_parameter")


router = APIRouter(
    prefix="/v1",
    tags=["catalog"],
    responses=AUTH_ERRORS,
    dependencies=[Depends(_single_valued_query)],
)

CodePath = Annotated[
    Code, Path(pattern=r"^[^/]+$", description="The code (no control characters).")
]


@router.put(
    "/domains/{code}",
    summary="Create or replace a domain",
    description="Sets a service domain's name and online-filing target (0–1, default 0.20). "
    "Answers 201 when created, 200 when replaced. Scope `admin`.",
    response_model=DomainOut,
    responses={201: {"description": "Created", "model": DomainOut}},
)
async def put_domain(
    code: CodePath, body: DomainIn, session: SessionDep, _: AdminKey, response: Response
) -> DomainOut:
    domain, created = await service.put_domain(session, code, body)
    response.status_code = 201 if created else 200
    return domain


@router.get(
    "/domains",
    summary="List domains",
    description="Every domain with its online-filing target. Scope `read`.",
)
async def list_domains(session: SessionDep, _: ReadKey) -> list[DomainOut]:
    return await service.list_domains(session)


@router.put(
    "/units/{code}",
    summary="Create or replace a unit",
    description="Places a unit in the unit tree. `parent_code` must be a known unit that does "
    "not lie below this one. `agency_code` and `aliases` name the unit for the national sync "
    "body's `DonViXuLy`; a PUT that omits them keeps the stored values. Answers 201 when "
    "created, 200 when replaced. Scope `admin`.",
    response_model=UnitOut,
    responses={201: {"description": "Created", "model": UnitOut}, **CONFLICT},
)
async def put_unit(
    code: CodePath, body: UnitIn, session: SessionDep, _: AdminKey, response: Response
) -> UnitOut:
    unit, created = await service.put_unit(session, code, body)
    response.status_code = 201 if created else 200
    return unit


@router.get(
    "/units",
    summary="List units",
    description="The unit tree as a flat list (`parent_code` links each unit to the one above). "
    "Scope `read`.",
)
async def list_units(session: SessionDep, _: ReadKey) -> list[UnitOut]:
    return await service.list_units(session)


@router.put(
    "/procedures/{code}",
    summary="Create or replace a procedure",
    description="Sets a procedure's name, domain, online service level (2, 3, 4) and the "
    "administrative levels that handle it. Once PUT, the catalog's values win over those that "
    "events carry. Dossiers sent in the national format without `MucDo` follow the procedure's "
    "level: a change of `service_level` moves each of them, and every figure, at once. "
    "`full_online_eligible` says whether the procedure is eligible for fully online service "
    "(the `full_online` indicator counts its dossiers): omitted, the stored choice stays; null "
    "or never given, true exactly at level 4; a change moves every figure at once. "
    "`service_level` also takes the Decree 42/2022 names offline (2), partial (3), full (4). "
    "Answers 201 when created, 200 when replaced. Scope `admin`.",
    response_model=ProcedureOut,
    responses={201: {"description": "Created", "model": ProcedureOut}},
)
async def put_procedure(
    code: CodePath, body: ProcedureIn, session: SessionDep, _: AdminKey, response: Response
) -> ProcedureOut:
    procedure, created = await service.put_procedure(session, code, body)
    response.status_code = 201 if created else 200
    return procedure


@router.get(
    "/procedures",
    summary="List procedures",
    description="Every procedure, from the catalog or first seen in events (`from_catalog`). "
    "Scope `read`.",
)
async def list_procedures(
    session: SessionDep,
    _: ReadKey,
    domain: Annotated[Code | None, Query(description="Only this domain.")] = None,
) -> list[ProcedureOut]:
    return await service.list_procedures(session, domain)
