"""The rules of the statistics: what counts, ratios, targets, row order, file layouts."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.catalog import repository as catalog
from app.config import get_settings
from app.errors import ValidationFailed, field_error, validation_failed
from app.localtime import REPORT_TIMEZONE_NAME
from app.stats import repository
from app.stats.exports import PERCENT, Column, Sheet, csv_table, xlsx_workbook
from app.stats.form06 import Form06, build_form06
from app.stats.repository import REPORT06_COLUMNS
from app.stats.schemas import (
    CoverageCounts,
    CoverageReport,
    CoverageRow,
    DomainRatioRow,
    OnlineRatioReport,
    RatioOverall,
    RatioRow,
    Report06,
    Report06Counts,
    Report06Row,
    UnitRatioRow,
)
from app.vocabulary import UNIT_LEVELS
from app.workers import WorkerPool

DEFAULT_ONLINE_TARGET = Decimal("0.20")


def meets(numerator: int, denominator: int, target: Decimal) -> bool:
    """numerator / denominator >= target, exactly (no floating point)."""
    return Decimal(numerator) >= target * denominator


def check_range(date_from: dt.date, date_to: dt.date) -> None:
    """422 for a reversed range."""
    if date_from > date_to:
        raise ValidationFailed(
            "'from' is after 'to'",
            errors=[field_error(["query", "from"], "must be on or before 'to'", "date_range")],
        )


def check_known(unit: str | None, unit_known: bool, domain: str | None, domain_known: bool) -> None:
    """422 for a unit or domain filter the catalog does not know."""
    if not unit_known:
        raise validation_failed(
            ["query", "unit"], f"unit {unit!r} is not in the catalog", "unknown_unit"
        )
    if not domain_known:
        raise validation_failed(
            ["query", "domain"], f"domain {domain!r} is not in the catalog", "unknown_domain"
        )


async def check_filters(
    session: AsyncSession,
    date_from: dt.date,
    date_to: dt.date,
    unit: str | None,
    domain: str | None,
) -> None:
    """422 for a reversed range or a unit / domain the catalog does not know."""
    check_range(date_from, date_to)
    unit_known, domain_known = await repository.filters_known(session, unit, domain)
    check_known(unit, unit_known, domain, domain_known)


# --- online-filing ratio ---------------------------------------------------------------


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
    check_range(date_from, date_to)
    result = await repository.online_ratio_counts(
        session,
        date_from=date_from,
        date_to=date_to,
        basis=basis,
        group_by=group_by,
        period=period,
        unit=unit,
        domain=domain,
    )
    check_known(unit, result.unit_known, domain, result.domain_known)
    rows: list[RatioRow] = []
    for c in sorted(result.rows, key=lambda c: (c.period or "", c.group_code or "")):
        if c.total == 0:
            continue
        numbers = {
            "period": c.period,
            "online": c.online,
            "total": c.total,
            "ratio": c.online / c.total,
        }
        if group_by == "domain" and c.group_code is not None:
            target = c.target if c.target is not None else DEFAULT_ONLINE_TARGET
            rows.append(
                DomainRatioRow(
                    **numbers,
                    domain_code=c.group_code,
                    domain_name=c.group_name,
                    target=float(target),
                    meets_target=meets(c.online, c.total, target),
                )
            )
        elif group_by == "unit" and c.group_code is not None:
            rows.append(UnitRatioRow(**numbers, unit_code=c.group_code, unit_name=c.group_name))
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


_RATIO_GROUP_COLUMNS = {
    "domain": [("domain_code", "Mã lĩnh vực", 12), ("domain_name", "Lĩnh vực", 34)],
    "unit": [("unit_code", "Mã đơn vị", 12), ("unit_name", "Đơn vị", 34)],
    "none": [],
}
BASIS_LABELS = {
    "online_capable": "hồ sơ trực tuyến mức độ 3, 4 / hồ sơ tiếp nhận của thủ tục mức độ 3, 4",
    "all": "hồ sơ trực tuyến / tổng số hồ sơ tiếp nhận",
    "full_online": "hồ sơ trực tuyến toàn trình (mức độ 4) / tổng số hồ sơ tiếp nhận",
}


def online_ratio_csv(report: OnlineRatioReport) -> bytes:
    """The rows of the report as CSV with a header line."""
    group = [key for key, _, _ in _RATIO_GROUP_COLUMNS[report.group_by]]
    extra = ["target", "meets_target"] if report.group_by == "domain" else []
    columns = ["period", *group, "online", "total", "ratio", *extra]
    return csv_table(columns, [row.model_dump() for row in report.rows])


async def online_ratio_xlsx(
    session: AsyncSession, pool: WorkerPool, report: OnlineRatioReport
) -> bytes:
    """The report as a printable workbook headed in Vietnamese, built in a worker process."""
    columns = [Column("period", "Kỳ", 10)]
    columns += [Column(k, h, w) for k, h, w in _RATIO_GROUP_COLUMNS[report.group_by]]
    columns += [
        Column("online", "Hồ sơ trực tuyến", 14, "#,##0"),
        Column("total", "Tổng số hồ sơ", 14, "#,##0"),
        Column("ratio", "Tỷ lệ", 11, PERCENT),
    ]
    if report.group_by == "domain":
        columns += [Column("target", "Chỉ tiêu", 11, PERCENT), Column("achieved", "Đánh giá", 12)]
    rows = []
    for row in report.rows:
        values = row.model_dump()
        if report.group_by == "domain":
            values["achieved"] = "Đạt" if row.meets_target else "Chưa đạt"
        rows.append(values)
    totals = {
        "period": "Tổng cộng",
        "online": report.overall.online,
        "total": report.overall.total,
        "ratio": report.overall.ratio,
    }
    return await pool.run(
        xlsx_workbook,
        Sheet(
            title="TỶ LỆ HỒ SƠ NỘP TRỰC TUYẾN",
            subtitle_lines=[
                _period_line(report.from_, report.to),
                await scope_line(session, report.unit, report.domain),
                f"Cách tính ({report.basis}): {BASIS_LABELS[report.basis]}",
            ],
            columns=columns,
            rows=rows,
            totals=totals,
            note=f"Ngày theo múi giờ {REPORT_TIMEZONE_NAME}; chỉ tính hồ sơ đã tiếp nhận "
            "(không tính hồ sơ mới đăng ký, không được tiếp nhận).",
            sheet_name="Tỷ lệ trực tuyến",
        ),
    )


def _period_line(date_from: dt.date, date_to: dt.date) -> str:
    return f"Kỳ báo cáo: từ ngày {date_from:%d/%m/%Y} đến ngày {date_to:%d/%m/%Y}"


async def scope_line(session: AsyncSession, unit: str | None, domain: str | None) -> str:
    """The unit and domain a file covers, in Vietnamese, with their catalog names."""
    unit_row = await catalog.get_unit(session, unit) if unit else None
    unit_text = f"{unit_row.name or unit} ({unit})" if unit_row else "tất cả đơn vị"
    domain_row = await catalog.get_domain(session, domain) if domain else None
    domain_text = f"{domain_row.name or domain} ({domain})" if domain_row else "tất cả lĩnh vực"
    return f"Đơn vị: {unit_text} — Lĩnh vực: {domain_text}"


# --- report 06 -------------------------------------------------------------------------


def _with_totals(counts: dict[str, int]) -> dict[str, int]:
    return {
        **counts,
        "received_total": counts["carried_over"]
        + counts["received_online"]
        + counts["received_offline"],
        "finished_total": counts["finished_early"]
        + counts["finished_on_time"]
        + counts["finished_late"],
        "pending_total": counts["pending_on_time"] + counts["pending_overdue"],
    }


# Report 06 lists domains in sections by the level of the handling unit, as the form does;
# units without a level come last.
_LEVEL_ORDER = {level: n for n, level in enumerate(UNIT_LEVELS)}


def _report06_order(counts: dict[str, Any]) -> tuple[int, str]:
    return _LEVEL_ORDER.get(counts["unit_level"], len(UNIT_LEVELS)), counts["group_code"]


async def report06(
    session: AsyncSession,
    *,
    date_from: dt.date,
    date_to: dt.date,
    group_by: str,
    unit: str | None,
    domain: str | None,
) -> Report06:
    """Biểu số 06 per domain or unit, rows with nothing to report left out."""
    await check_filters(session, date_from, date_to, unit, domain)
    counts = await repository.report06_counts(
        session, date_from=date_from, date_to=date_to, group_by=group_by, unit=unit, domain=domain
    )
    rows: list[Report06Row] = []
    for c in sorted(counts, key=_report06_order):
        values = _with_totals({k: c[k] for k in REPORT06_COLUMNS})
        if not any(values.values()):
            continue
        name = c["group_name"]
        if group_by == "domain":
            rows.append(
                Report06Row(
                    **values,
                    unit_level=c["unit_level"],
                    domain_code=c["group_code"],
                    domain_name=name,
                )
            )
        else:
            rows.append(Report06Row(**values, unit_code=c["group_code"], unit_name=name))
    overall = _with_totals({k: sum(getattr(r, k) for r in rows) for k in REPORT06_COLUMNS})
    return Report06(
        from_=date_from,
        to=date_to,
        timezone=REPORT_TIMEZONE_NAME,
        unit=unit,
        domain=domain,
        group_by=group_by,
        rows=rows,
        overall=Report06Counts(**overall),
    )


REPORT06_ALL_COLUMNS = list(Report06Counts.model_fields)


def report06_csv(report: Report06) -> bytes:
    """The rows of report 06 as CSV."""
    group = (
        ["unit_level", "domain_code", "domain_name"]
        if report.group_by == "domain"
        else ["unit_code", "unit_name"]
    )
    return csv_table([*group, *REPORT06_ALL_COLUMNS], [r.model_dump() for r in report.rows])


async def report06_xlsx(
    session: AsyncSession, pool: WorkerPool, report: Report06, recipient: str | None
) -> bytes:
    """Report 06 as the official form (Biểu số 06/VPCP/KSTT), built in a worker process."""
    by_domain = report.group_by == "domain"
    rows = []
    for row in report.rows:
        values = row.model_dump()
        if not by_domain:
            values.pop("unit_level", None)  # sections are levels of domain rows only
        code = row.domain_code if by_domain else row.unit_code
        values["name"] = (row.domain_name if by_domain else row.unit_name) or code
        rows.append(values)
    domain_row = await catalog.get_domain(session, report.domain) if report.domain else None
    form = Form06(
        date_from=report.from_,
        date_to=report.to,
        reporting_unit=await _reporting_unit(session, report.unit),
        recipient=recipient,
        rows=rows,
        totals=report.overall.model_dump(),
        by_unit=not by_domain,
        scope_note=(
            f"Lĩnh vực: {(domain_row.name if domain_row else None) or report.domain}"
            if report.domain
            else None
        ),
    )
    return await pool.run(build_form06, form)


async def _reporting_unit(session: AsyncSession, unit: str | None) -> str:
    """The unit a report covers: the filter's unit, else the catalog's single root unit."""
    if unit:
        row = await catalog.get_unit(session, unit)
        return (row.name if row else None) or unit
    roots = [u for u in await catalog.list_units(session) if u.parent_code is None]
    if len(roots) == 1:
        return roots[0].name or roots[0].code
    return "Tất cả đơn vị trong danh mục"


# --- procedure coverage ----------------------------------------------------------------


def _coverage_numbers(procedures: int, capable: int, full: int, target: Decimal) -> dict[str, Any]:
    return {
        "procedures": procedures,
        "online_capable": capable,
        "full_online": full,
        "ratio": capable / procedures if procedures else None,
        "target": float(target),
        "meets_target": meets(capable, procedures, target) if procedures else None,
    }


async def procedure_coverage(
    session: AsyncSession, *, unit_level: str | None, domain: str | None
) -> CoverageReport:
    """Share of procedures offered online (level 3 or 4), per domain and overall."""
    _, domain_known = await repository.filters_known(session, None, domain)
    check_known(None, True, domain, domain_known)
    counts = await repository.coverage_counts(session, unit_level=unit_level, domain=domain)
    default_target = get_settings().coverage_target
    rows = []
    for c in sorted(counts, key=lambda c: c["domain_code"]):
        target = c["coverage_target"] if c["coverage_target"] is not None else default_target
        rows.append(
            CoverageRow(
                domain_code=c["domain_code"],
                domain_name=c["domain_name"],
                **_coverage_numbers(c["procedures"], c["online_capable"], c["full_online"], target),
            )
        )
    overall = _coverage_numbers(
        sum(r.procedures for r in rows),
        sum(r.online_capable for r in rows),
        sum(r.full_online for r in rows),
        default_target,
    )
    return CoverageReport(
        unit_level=unit_level,
        domain=domain,
        rows=rows,
        overall=CoverageCounts(**overall),
    )


def coverage_csv(report: CoverageReport) -> bytes:
    """The rows of the coverage report as CSV."""
    columns = ["domain_code", "domain_name", *CoverageCounts.model_fields]
    return csv_table(columns, [r.model_dump() for r in report.rows])
