"""HTTP entry points of the statistics: `/v1/stats/...`."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response

from app.db import SessionDep
from app.keys.dependencies import ReadKey
from app.responses import AUTH_ERRORS
from app.stats import service
from app.stats.schemas import Basis, Format, GroupBy, OnlineRatioReport, Period

router = APIRouter(prefix="/v1/stats", tags=["statistics"], responses=AUTH_ERRORS)

_RATIO_DESCRIPTION = """
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
`meets_target` (`ratio >= target`) are given when grouping by domain. `format=csv` returns the
same rows as CSV. Scope `read`.
"""

CodeQuery = Annotated[str | None, Query(min_length=1, max_length=64)]


@router.get(
    "/online-ratio",
    summary="Online-filing ratio",
    description=_RATIO_DESCRIPTION,
    response_model=OnlineRatioReport,
    response_model_by_alias=True,
    responses={
        200: {
            "content": {
                "text/csv": {
                    "schema": {"type": "string"},
                    "example": "period,domain_code,domain_name,online,total,ratio,target,meets_target\r\n"
                    "2017-03,TP,Tư pháp,612,1000,0.612,0.6,True\r\n",
                }
            }
        }
    },
)
async def online_ratio(
    session: SessionDep,
    _: ReadKey,
    date_from: Annotated[dt.date, Query(alias="from", description="First local date, inclusive.")],
    date_to: Annotated[dt.date, Query(alias="to", description="Last local date, inclusive.")],
    unit: Annotated[
        str | None, Query(min_length=1, max_length=64, description="A unit and all units below it.")
    ] = None,
    domain: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
    basis: Basis = "online_capable",
    group_by: GroupBy = "domain",
    period: Period = "none",
    format: Format = "json",
) -> OnlineRatioReport | Response:
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
    if format == "csv":
        return Response(
            service.online_ratio_csv(report),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="online-ratio.csv"'},
        )
    return report
