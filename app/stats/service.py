"""The rules of the statistics: what counts, ratios, targets, row order."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from app.catalog import repository as catalog
from app.errors import ValidationFailed, field_error, validation_failed
from app.localtime import REPORT_TIMEZONE_NAME
from app.stats import repository
from app.stats.schemas import (
    DomainRatioRow,
    OnlineRatioReport,
    RatioOverall,
    RatioRow,
    UnitRatioRow,
)


async def check_filters(
    session: AsyncSession,
    date_from: dt.date,
    date_to: dt.date,
    unit: str | None,
    domain: str | None,
) -> None:
    """422 for a reversed range or a unit / domain the catalog does not know."""
    if date_from > date_to:
        raise ValidationFailed(
            "'from' is after 'to'",
            errors=[field_error(["query", "from"], "must be on or before 'to'", "date_range")],
        )
    if unit is not None and await catalog.get_unit(session, unit) is None:
        raise validation_failed(
            ["query", "unit"], f"unit {unit!r} is not in the catalog", "unknown_unit"
        )
    if domain is not None and await catalog.get_domain(session, domain) is None:
        raise validation_failed(
            ["query", "domain"], f"domain {domain!r} is not in the catalog", "unknown_domain"
        )


async def online_ratio(
    session: AsyncSession,
    *,
    date_from: dt.date,
    date_to: dt.date,
    basis: str,
    group_by: str,
    period: str,
    unit: str | None,
    domain: str | None,
) -> OnlineRatioReport:
    """The online-filing ratio per group and period, with targets where the group is a domain."""
    await check_filters(session, date_from, date_to, unit, domain)
    counts = await repository.online_ratio_counts(
        session,
        date_from=date_from,
        date_to=date_to,
        basis=basis,
        group_by=group_by,
        period=period,
        unit=unit,
        domain=domain,
    )
    domains = (
        {d.code: d for d in await catalog.list_domains(session)} if group_by == "domain" else {}
    )
    units = {u.code: u for u in await catalog.list_units(session)} if group_by == "unit" else {}
    rows: list[RatioRow] = []
    for c in sorted(counts, key=lambda c: (c.period or "", c.group_code or "")):
        if c.total == 0:
            continue
        numbers = {
            "period": c.period,
            "online": c.online,
            "total": c.total,
            "ratio": c.online / c.total,
        }
        if group_by == "domain" and c.group_code is not None:
            d = domains.get(c.group_code)
            target = d.online_target if d is not None else Decimal("0.20")
            rows.append(
                DomainRatioRow(
                    **numbers,
                    domain_code=c.group_code,
                    domain_name=d.name if d is not None else None,
                    target=float(target),
                    # Exact: online / total >= target  <=>  online >= target * total.
                    meets_target=Decimal(c.online) >= target * c.total,
                )
            )
        elif group_by == "unit" and c.group_code is not None:
            u = units.get(c.group_code)
            rows.append(
                UnitRatioRow(**numbers, unit_code=c.group_code, unit_name=u.name if u else None)
            )
        else:
            rows.append(RatioRow(**numbers))
    online = sum(r.online for r in rows)
    total = sum(r.total for r in rows)
    return OnlineRatioReport(
        from_=date_from,
        to=date_to,
        timezone=REPORT_TIMEZONE_NAME,
        basis=basis,
        unit=unit,
        domain=domain,
        group_by=group_by,
        period=period,
        rows=rows,
        overall=RatioOverall(online=online, total=total, ratio=online / total if total else None),
    )


def online_ratio_csv(report: OnlineRatioReport) -> str:
    """The rows of the report as CSV with a header line."""
    group_columns = {
        "domain": ["domain_code", "domain_name"],
        "unit": ["unit_code", "unit_name"],
        "none": [],
    }[report.group_by]
    extra = ["target", "meets_target"] if report.group_by == "domain" else []
    columns = ["period", *group_columns, "online", "total", "ratio", *extra]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    for row in report.rows:
        values = row.model_dump()
        writer.writerow(["" if values[c] is None else values[c] for c in columns])
    return out.getvalue()
