"""HTTP entry points of the statistics: `/v1/stats/...`. Every answer carries a strong ETag."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel

from app.core.openapi import AUTH_ERRORS, NOT_FOUND
from app.core.validation import DATE_RANGE_TEXT, Code, Name, ReportDate
from app.core.workers import Workers
from app.db import SessionDep
from app.keys.dependencies import AdminKey, ReadKey
from app.stats import service
from app.stats.caching import conditional_response
from app.stats.formats.exports import CSV_MEDIA_TYPE, XLSX_MEDIA_TYPE, download_name, period_label
from app.stats.schemas import (
    Basis,
    CoverageReport,
    Format,
    GroupBy,
    IndicatorCode,
    IndicatorGroupBy,
    IndicatorsReport,
    OnlineRatioReport,
    Period,
    Report06,
    ScoringIn,
    ScoringOut,
    TableFormat,
)

router = APIRouter(prefix="/v1/stats", tags=["statistics"], responses=AUTH_ERRORS)
scoring_router = APIRouter(prefix="/v1/indicators", tags=["statistics"], responses=AUTH_ERRORS)

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

Counts follow the handling clock (contract section 4) as the stored snapshots give it now:
`ended_on` (a dossier ends in `finished`, `returned`, `withdrawn` or `stopped`, with or without a
date) and `effective_due_on` (the date of `due_at` plus the days spent waiting for the applicant;
none while the dossier waits). `GET /v1/dossiers/{code}` shows both.

| column | dossiers |
|---|---|
| `received_online`, `received_offline` | received within the period, online; in person or by post |
| `carried_over` | received before `from`, not ended before it (not ended, or `ended_on` on/after `from`) |
| `received_total` | `carried_over + received_online + received_offline` |
| `finished_early`, `finished_on_time`, `finished_late` | `ended_on` in the period; `withdrawn`: on time; else `ended_on` before, equal to, after `effective_due_on` (none: on time) |
| `pending_on_time`, `pending_overdue` | received on or before `to`, not ended by the end of `to`; overdue when `effective_due_on` is before `to` (a waiting dossier never is) |

With `group_by=domain` a row is a (level of the handling unit, domain) pair and carries
`unit_level`; rows come in sections `province`, `district`, `commune` (units without a level
last), then by domain code.

Rows whose counts are all zero are left out. `format=xlsx` gives the official form
(Biểu số 06/VPCP/KSTT): form code, title, period line, "Đơn vị báo cáo", "Đơn vị nhận báo cáo"
(query `recipient`), the form's headings and column numbers (1)…(13), sections by level of the
handling unit when rows carry `unit_level`, a total row, A4 landscape print set-up. Scope `read`.
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


_INDICATORS_DESCRIPTION = (
    """
The national scorecard's indicators that dossier data decides (Quyết định 766/QĐ-TTg). Counted
dossiers are those of report 06 (status neither `submitted` nor `refused`); "received" = received
within the period (local dates, both inclusive); "ended" = ended (handling clock) with `ended_on`
within the period.

| `indicator` | numerator | denominator | `max_points` | `full_marks_at` |
|---|---|---|---|---|
| `on_time` (2.1) | of the denominator, report 06 `finished_early`, `finished_on_time`, `pending_on_time` | report 06 `received_total` | 20 | 1.0 |
| `online_filing` (3.3) | received online | received | – | 0.5 |
| `full_online` | received online at level 4, procedure eligible | received, procedure eligible | 12 | 1.0 |
| `online_payment` (3.6) | received, `fee_amount` > 0, `paid_online` national_portal or local_gateway | received, `fee_amount` > 0 | – | 1.0 |
| `e_result` (4.1) | ended as finished or returned, `e_result` | ended as finished or returned | 6 | 1.0 |
| `digitized` (4.2) | received, `digitized` | received | 4 | 0.8 |
| `reused_data` (4.4) | received, `reused_data` | received | 4 | 1.0 |
| `online_on_time` | ended, online, early or on time (as report 06) | ended, online | – | 1.0 |

A procedure is eligible when its catalog entry says `full_online_eligible` (`PUT
/v1/procedures/{code}`), by default exactly when its level is 4.
`ratio = numerator / denominator` (null when 0); `points = max_points × min(1, ratio /
full_marks_at)` (null without `max_points` or ratio); `PUT /v1/indicators/{indicator}` changes the
scoring table. One row per group and indicator, by group code then in the table's order; groups
whose every denominator is 0 are left out. `groups` gives each group's total points (with
`group_by=unit`: the ranking of units); `overall` every indicator over all groups and its
`total_points`. `format=csv` one line per row; `format=xlsx` a printable sheet, one row per group
with each indicator's ratio and points and the total. Scope `read`.
"""
    + _CACHING
)


def _file_responses(example_csv: str, xlsx: bool = True) -> dict[int | str, dict[str, Any]]:
    content: dict[str, Any] = {"text/csv": {"schema": {"type": "string"}, "example": example_csv}}
    if xlsx:
        content[XLSX_MEDIA_TYPE] = {"schema": {"type": "string", "format": "binary"}}
    return {
        200: {
            "description": "JSON; or a file (CSV: UTF-8 with a byte-order mark, so Excel reads"
            " Vietnamese; XLSX), named after what it holds.",
            "content": content,
            "headers": {
                "ETag": {"schema": {"type": "string"}},
                "Content-Disposition": {
                    "description": "Files only: e.g. `attachment;"
                    ' filename="bieu-06_282_2024-Q2.xlsx"` (a whole month, quarter or year by its'
                    " label, else the two dates; `all` without a unit).",
                    "schema": {"type": "string"},
                },
            },
        },
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
RecipientQuery = Annotated[
    Name | None,
    Query(
        description='`format=xlsx`: the unit the form is sent to ("Đơn vị nhận báo cáo"); '
        "no control characters.",
        examples=["Văn phòng UBND thành phố Hà Nội"],
    ),
]


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
    workers: Workers,
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
        _name_parts("ty-le-truc-tuyen", unit, domain, date_from, date_to),
        csv=lambda: service.online_ratio_csv(report),
        xlsx=lambda: service.online_ratio_xlsx(session, workers, report),
    )


@router.get(
    "/report-06",
    summary="Periodic report (Biểu số 06)",
    description=_REPORT06_DESCRIPTION,
    response_model=Report06,
    responses=_file_responses(
        "unit_level,domain_code,domain_name,received_total,received_online,received_offline,"
        "carried_over,finished_total,finished_early,finished_on_time,finished_late,pending_total,"
        "pending_on_time,pending_overdue\r\n"
        "commune,TP,Tư pháp,130,70,50,10,110,60,45,5,20,18,2\r\n"
    ),
)
async def report_06(
    request: Request,
    session: SessionDep,
    _: ReadKey,
    workers: Workers,
    date_from: DateFrom,
    date_to: DateTo,
    unit: UnitQuery = None,
    domain: DomainQuery = None,
    group_by: Literal["domain", "unit"] = "domain",
    format: Format = "json",
    recipient: RecipientQuery = None,
) -> Response:
    report = await service.report06(
        session, date_from=date_from, date_to=date_to, group_by=group_by, unit=unit, domain=domain
    )
    return await _render(
        request,
        report,
        format,
        _name_parts("bieu-06", unit, domain, date_from, date_to),
        csv=lambda: service.report06_csv(report),
        xlsx=lambda: service.report06_xlsx(session, workers, report, recipient),
    )


@router.get(
    "/indicators",
    summary="Scorecard indicators",
    description=_INDICATORS_DESCRIPTION,
    response_model=IndicatorsReport,
    responses=_file_responses(
        "unit_code,unit_name,indicator,name,numerator,denominator,ratio,full_marks_at,max_points,"
        "points\r\n10441,Thị trấn Đại Nghĩa,on_time,"
        '"Tỷ lệ hồ sơ xử lý trước hạn, đúng hạn (2.1)",950,1000,0.95,1.0,20.0,19.0\r\n'
    ),
)
async def indicators(
    request: Request,
    session: SessionDep,
    _: ReadKey,
    workers: Workers,
    date_from: DateFrom,
    date_to: DateTo,
    unit: UnitQuery = None,
    domain: DomainQuery = None,
    group_by: IndicatorGroupBy = "none",
    format: Format = "json",
) -> Response:
    report = await service.indicators(
        session, date_from=date_from, date_to=date_to, group_by=group_by, unit=unit, domain=domain
    )
    return await _render(
        request,
        report,
        format,
        _name_parts("chi-so-766", unit, domain, date_from, date_to),
        csv=lambda: service.indicators_csv(report),
        xlsx=lambda: service.indicators_xlsx(session, workers, report),
    )


@scoring_router.get(
    "",
    summary="The scoring table",
    description="Each indicator's `max_points` and `full_marks_at`, in the table's order. "
    "Scope `read`.",
)
async def scoring_table(session: SessionDep, _: ReadKey) -> list[ScoringOut]:
    return await service.scoring_table(session)


@scoring_router.put(
    "/{indicator}",
    summary="Change a row of the scoring table",
    description="Sets an indicator's `max_points` (null: not scored) and `full_marks_at` (the "
    "ratio that earns every point, in (0, 1]); an omitted field keeps its value. Every "
    "indicator answer scores with the table as it stands. Scope `admin`.",
    responses=NOT_FOUND,
)
async def put_scoring(
    indicator: IndicatorCode, body: ScoringIn, session: SessionDep, _: AdminKey
) -> ScoringOut:
    return await service.put_scoring(session, indicator, body)


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
        request,
        report,
        format,
        ["ty-le-thu-tuc-truc-tuyen", unit_level, *([domain] if domain else [])],
        csv=lambda: service.coverage_csv(report),
    )


def _name_parts(
    stem: str, unit: str | None, domain: str | None, date_from: dt.date, date_to: dt.date
) -> list[str | None]:
    """`stem_<unit or all>[_<domain>]_<period>`: a whole month, quarter or year by its label."""
    return [stem, unit, *([domain] if domain else []), period_label(date_from, date_to)]


async def _render(
    request: Request,
    report: BaseModel,
    format: str,
    name_parts: list[str | None],
    *,
    csv: Callable[[], bytes],
    xlsx: Callable[[], Awaitable[bytes]] | None = None,
) -> Response:
    """The report in the asked format, with its ETag (304 when the client has these bytes); a
    file is named after what it holds (`name_parts`, see `download_name`)."""
    if format == "csv":
        name = download_name(*name_parts, extension="csv")
        return conditional_response(request, csv(), CSV_MEDIA_TYPE, name)
    if format == "xlsx" and xlsx is not None:
        name = download_name(*name_parts, extension="xlsx")
        return conditional_response(request, await xlsx(), XLSX_MEDIA_TYPE, name)
    body = report.model_dump_json(by_alias=True).encode()
    return conditional_response(request, body, "application/json")
