"""HTTP entry points of the statistics: `/v1/stats/...`. Every answer carries a strong ETag."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel

from app.db import SessionDep
from app.keys.dependencies import ReadKey
from app.responses import AUTH_ERRORS
from app.stats import service
from app.stats.caching import conditional_response
from app.stats.exports import CSV_MEDIA_TYPE, XLSX_MEDIA_TYPE
from app.stats.schemas import (
    Basis,
    CoverageReport,
    Format,
    GroupBy,
    OnlineRatioReport,
    Period,
    Report06,
    TableFormat,
)
from app.validation import DATE_RANGE_TEXT, Code, ReportDate

router = APIRouter(prefix="/v1/stats", tags=["statistics"], responses=AUTH_ERRORS)

_CACHING = """
**Caching:** every answer carries a strong `ETag` that changes exactly when its content does;
send it back in `If-None-Match` to get `304 Not Modified`. `Cache-Control: private, no-cache`:
a polling portal revalidates each time and downloads only what changed.
"""

_RATIO_DESCRIPTION = (
    """
The online-filing ratio per service domain (or unit) and period.

**Which dossiers count:** received in the period by local date (`received_at` in
Asia/Ho_Chi_Minh), status neither `submitted` nor `refused`. `from` and `to` are local dates,
both inclusive.

| basis | numerator | denominator |
|---|---|---|
| `online_capable` (default) | `channel = online` and `service_level` 3 or 4 | `service_level` 3 or 4 |
| `all` | `channel = online` | all counted dossiers |
| `full_online` | `channel = online` and `service_level = 4` | all counted dossiers |

Rows with `total` 0 are left out; rows are sorted by period, then code. `target` and
`meets_target` (`ratio >= target`, exact) are given when grouping by domain. `format=csv` returns
the same rows as CSV; `format=xlsx` a printable workbook headed in Vietnamese. Scope `read`.
"""
    + _CACHING
)

_REPORT06_DESCRIPTION = (
    """
The periodic report on handling administrative procedures (Biểu số 06, Circular
01/2020/TT-VPCP), one row per domain or unit. Only dossiers whose status is neither `submitted`
nor `refused` count; dates are local (Asia/Ho_Chi_Minh).

| column | dossiers |
|---|---|
| `received_online`, `received_offline` | received within the period, online; in person or by post |
| `carried_over` | received before `from`, `finished_at` empty or on/after `from`, not `withdrawn`/`stopped` |
| `received_total` | `carried_over + received_online + received_offline` |
| `finished_early`, `finished_on_time`, `finished_late` | `finished`/`returned` with `finished_at` in the period; its date before, equal to, after the date of `due_at` (no `due_at`: on time) |
| `pending_on_time`, `pending_overdue` | received on or before `to`, not `withdrawn`/`stopped`, `finished_at` empty or after `to`; overdue when the date of `due_at` is before `to` |

Rows whose counts are all zero are left out. `format=xlsx` gives a workbook headed like the
official form, ready to print. Scope `read`.
"""
    + _CACHING
)

_COVERAGE_DESCRIPTION = (
    """
The share of procedures offered online, per domain: `procedures` in the catalog (handled at
`unit_level` when given), of which `online_capable` (level 3 or 4) and `full_online` (level 4);
`ratio = online_capable / procedures` against the domain's `coverage_target` (0.40 unless set
with `PUT /v1/domains/{code}`). Scope `read`.
"""
    + _CACHING
)


def _file_responses(example_csv: str, xlsx: bool = True) -> dict[int | str, dict[str, Any]]:
    content: dict[str, Any] = {"text/csv": {"schema": {"type": "string"}, "example": example_csv}}
    if xlsx:
        content[XLSX_MEDIA_TYPE] = {"schema": {"type": "string", "format": "binary"}}
    return {
        200: {"content": content, "headers": {"ETag": {"schema": {"type": "string"}}}},
        304: {"description": "Not modified: the `If-None-Match` ETag is current."},
    }


DateFrom = Annotated[
    ReportDate,
    Query(alias="from", description=f"First local date, inclusive; {DATE_RANGE_TEXT}."),
]
DateTo = Annotated[
    ReportDate, Query(alias="to", description=f"Last local date, inclusive; {DATE_RANGE_TEXT}.")
]
UnitQuery = Annotated[Code | None, Query(description="A unit and all units below it.")]
DomainQuery = Annotated[Code | None, Query(description="One domain.")]


@router.get(
    "/online-ratio",
    summary="Online-filing ratio",
    description=_RATIO_DESCRIPTION,
    response_model=OnlineRatioReport,
    responses=_file_responses(
        "period,domain_code,domain_name,online,total,ratio,target,meets_target\r\n"
        "2017-03,TP,Tư pháp,612,1000,0.612,0.6,True\r\n"
    ),
)
async def online_ratio(
    request: Request,
    session: SessionDep,
    _: ReadKey,
    date_from: DateFrom,
    date_to: DateTo,
    unit: UnitQuery = None,
    domain: DomainQuery = None,
    basis: Basis = "online_capable",
    group_by: GroupBy = "domain",
    period: Period = "none",
    format: Format = "json",
) -> Response:
    report = await service.online_ratio(
        session,
        date_from=date_from,
        date_to=date_to,
        basis=basis,
        group_by=group_by,
        period=period,
        unit=unit,
        domain=domain,
    )
    return await _render(
        request,
        report,
        format,
        "online-ratio",
        csv=lambda: service.online_ratio_csv(report),
        xlsx=lambda: service.online_ratio_xlsx(session, report),
    )


@router.get(
    "/report-06",
    summary="Periodic report (Biểu số 06)",
    description=_REPORT06_DESCRIPTION,
    response_model=Report06,
    responses=_file_responses(
        "domain_code,domain_name,received_total,received_online,received_offline,carried_over,"
        "finished_total,finished_early,finished_on_time,finished_late,pending_total,"
        "pending_on_time,pending_overdue\r\nTP,Tư pháp,130,70,50,10,110,60,45,5,20,18,2\r\n"
    ),
)
async def report_06(
    request: Request,
    session: SessionDep,
    _: ReadKey,
    date_from: DateFrom,
    date_to: DateTo,
    unit: UnitQuery = None,
    domain: DomainQuery = None,
    group_by: Literal["domain", "unit"] = "domain",
    format: Format = "json",
) -> Response:
    report = await service.report06(
        session, date_from=date_from, date_to=date_to, group_by=group_by, unit=unit, domain=domain
    )
    return await _render(
        request,
        report,
        format,
        "bieu-so-06",
        csv=lambda: service.report06_csv(report),
        xlsx=lambda: service.report06_xlsx(session, report),
    )


@router.get(
    "/procedure-coverage",
    summary="Procedure coverage",
    description=_COVERAGE_DESCRIPTION,
    response_model=CoverageReport,
    responses=_file_responses(
        "domain_code,domain_name,procedures,online_capable,full_online,ratio,target,meets_target"
        "\r\nTP,Tư pháp,20,9,3,0.45,0.4,True\r\n",
        xlsx=False,
    ),
)
async def procedure_coverage(
    request: Request,
    session: SessionDep,
    _: ReadKey,
    unit_level: Literal["district", "commune"] | None = None,
    domain: DomainQuery = None,
    format: TableFormat = "json",
) -> Response:
    report = await service.procedure_coverage(session, unit_level=unit_level, domain=domain)
    return await _render(
        request, report, format, "procedure-coverage", csv=lambda: service.coverage_csv(report)
    )


async def _render(
    request: Request,
    report: BaseModel,
    format: str,
    stem: str,
    *,
    csv: Callable[[], bytes],
    xlsx: Callable[[], Awaitable[bytes]] | None = None,
) -> Response:
    """The report in the asked format, with its ETag (304 when the client has these bytes)."""
    if format == "csv":
        return conditional_response(request, csv(), CSV_MEDIA_TYPE, f"{stem}.csv")
    if format == "xlsx" and xlsx is not None:
        return conditional_response(request, await xlsx(), XLSX_MEDIA_TYPE, f"{stem}.xlsx")
    body = report.model_dump_json(by_alias=True).encode()
    return conditional_response(request, body, "application/json")
