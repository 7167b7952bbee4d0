"""HTTP entry points of the read side: `GET /v1/dossiers/{code}` (look-up) and `GET /v1/dossiers`
(the dossiers behind a figure)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.responses import StreamingResponse

from app.core.openapi import AUTH_ERRORS, NOT_FOUND, problem_response
from app.core.problems import field_error, problem_body
from app.core.validation import Code
from app.core.workers import Workers
from app.db import SessionDep
from app.dossiers import listing, service
from app.dossiers.figures import FIGURES
from app.dossiers.schemas import DossierList, DossierOut
from app.keys.dependencies import ReadKey
from app.stats.endpoints import DateFrom, DateTo, DomainQuery, UnitQuery
from app.stats.formats.exports import CSV_MEDIA_TYPE, XLSX_MEDIA_TYPE
from app.stats.schemas import Basis, Format
from app.stats.service import scope_line
from app.vocabulary import UnitLevel

router = APIRouter(prefix="/v1", responses=AUTH_ERRORS)


@router.get(
    "/dossiers/{code}",
    tags=["dossiers"],
    summary="Look up a dossier",
    description="The dossier's current state, when the service last changed it, and how many "
    "events its log holds. 404 if unknown. Scope `read`.",
    response_model=DossierOut,
    responses=NOT_FOUND,
)
async def get_dossier(
    code: Annotated[Code, Path(description="The dossier code.")], session: SessionDep, _: ReadKey
) -> DossierOut:
    return await service.get_dossier(session, code)


_FIGURE_ROWS = "\n".join(f"| `{f.name}` | {f.description} |" for f in FIGURES.values())
_LIST_DESCRIPTION = f"""
The dossiers behind any figure the statistics answer: the same filters give the same number,
and the pages together list exactly those dossiers.

| `figure` | dossiers |
|---|---|
{_FIGURE_ROWS}

* Filters as the figure's own report: `from`, `to` (local dates, inclusive, both required),
  `unit` (that unit and every unit below it), `domain`, `basis` (for `online` and `total`; other
  figures ignore it); and `unit_exact` (that unit alone, as a `group_by=unit` row counts it),
  `unit_level` (the level of the handling unit, as a report 06 section counts it).
* `count` always equals the figure's value for the same filters (report 06 `overall`, the
  online ratio's `overall.online` / `overall.total`, an indicator's `numerator` /
  `denominator` in `GET /v1/stats/indicators`).
* `items` are ordered by `code` in byte order, at most `limit` (1–1,000, default 100) per page;
  send `next_cursor` back as `cursor` for the next page (null on the last). Following it to the
  end yields exactly `count` distinct dossiers; a dossier whose state changes meanwhile may move
  in or out of the figure, as in any live list.
* `format=csv` streams every dossier of the figure in one file (`limit` and `cursor` do not
  apply; UTF-8 with a byte-order mark, so Excel reads Vietnamese); `format=xlsx` gives a printable
  workbook of up to 100,000 dossiers, beyond that 422 (`too_many_rows`) asking for CSV. Both name
  the file after what it holds, e.g. `ho-so_pending_overdue_10444_2024-Q1.csv`.
* 422 (problem+json naming the field) for an unknown `figure` (`unknown_figure`), a `cursor`
  this service did not give (`invalid_cursor`), `limit` out of range, a `unit`, `unit_exact` or
  `domain` not in the catalog (`unknown_unit`, `unknown_domain`), `from` after `to`
  (`date_range`).

Scope `read`.
"""

_LIST_ERRORS: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "JSON: one page and `count`; CSV: every dossier of the figure; XLSX: up"
        " to 100,000 dossiers.",
        "content": {
            "text/csv": {
                "schema": {"type": "string"},
                "example": "\ufeff" + ",".join(listing.CSV_COLUMNS) + "\r\n",
            },
            XLSX_MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}},
        },
        "headers": {
            "Content-Disposition": {
                "description": "CSV and XLSX: the file's name, e.g."
                ' `attachment; filename="ho-so_pending_overdue_10444_2024-Q1.csv"`.',
                "schema": {"type": "string"},
            }
        },
    },
    422: problem_response(
        "Invalid query; `errors` names the field: `figure`, `cursor`, `limit`, `unit`,"
        " `unit_exact`, `domain`, `from`, or `format` (`too_many_rows`: ask for CSV).",
        problem_body(
            422,
            "unknown figure 'overdue'",
            errors=[
                field_error(
                    ["query", "figure"], "must be one of: " + ", ".join(FIGURES), "unknown_figure"
                )
            ],
        ),
    ),
}


@router.get(
    "/dossiers",
    tags=["dossiers"],
    summary="The dossiers behind a figure",
    description=_LIST_DESCRIPTION,
    response_model=DossierList,
    responses=_LIST_ERRORS,
)
async def list_dossiers(
    request: Request,
    session: SessionDep,
    _: ReadKey,
    workers: Workers,
    figure: Annotated[
        str,
        Query(
            description="Which figure: " + ", ".join(f"`{name}`" for name in FIGURES) + ".",
            examples=["pending_overdue"],
            max_length=64,
        ),
    ],
    date_from: DateFrom,
    date_to: DateTo,
    unit: UnitQuery = None,
    domain: DomainQuery = None,
    basis: Basis = "online_capable",
    unit_exact: Annotated[
        Code | None, Query(description="One unit alone (not the units below it).")
    ] = None,
    unit_level: Annotated[
        UnitLevel | None, Query(description="Only dossiers of units at this level.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000, description="Dossiers per page (JSON).")] = 100,
    cursor: Annotated[
        str | None,
        Query(max_length=400, description="`next_cursor` of the previous page (JSON)."),
    ] = None,
    format: Format = "json",
) -> Response:
    query = await listing.figure_query(
        session,
        figure=figure,
        date_from=date_from,
        date_to=date_to,
        basis=basis,
        unit=unit,
        domain=domain,
        unit_exact=unit_exact,
        unit_level=unit_level,
    )
    if format == "csv":
        chunks = listing.csv_chunks(request.app.state.sessionmaker, query)
        return StreamingResponse(
            chunks, media_type=CSV_MEDIA_TYPE, headers=_download(listing.file_name(query, "csv"))
        )
    if format == "xlsx":
        scope = await scope_line(session, unit_exact or unit, domain)
        body = await listing.figure_xlsx(session, workers, query, scope)
        return Response(
            body, media_type=XLSX_MEDIA_TYPE, headers=_download(listing.file_name(query, "xlsx"))
        )
    page = await listing.figure_dossiers(session, query, cursor=cursor, limit=limit)
    return Response(page.model_dump_json().encode(), media_type="application/json")


def _download(filename: str) -> dict[str, str]:
    return {"Content-Disposition": f'attachment; filename="{filename}"'}
