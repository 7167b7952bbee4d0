"""The rules of the statistics: what counts, ratios, targets, row order, file layouts."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from app.catalog import repository as catalog
from app.config import get_settings
from app.core.problems import NotFound, ValidationFailed, field_error, validation_failed
from app.core.workers import WorkerPool
from app.localtime import REPORT_TIMEZONE_NAME
from app.stats import repository, scorecard
from app.stats.formats.exports import PERCENT, Column, Sheet, csv_table, xlsx_workbook
from app.stats.formats.form06 import Form06, build_form06
from app.stats.repository import REPORT06_COLUMNS
from app.stats.schemas import (
    CoverageCounts,
    CoverageReport,
    CoverageRow,
    DomainIndicatorRow,
    DomainIndicatorTotal,
    DomainRatioRow,
    IndicatorGroupTotal,
    IndicatorRow,
    IndicatorsOverall,
    IndicatorsReport,
    IndicatorValue,
    OnlineRatioReport,
    RatioOverall,
    RatioRow,
    Report06,
    Report06Counts,
    Report06Row,
    ScoringIn,
    ScoringOut,
    UnitIndicatorRow,
    UnitIndicatorTotal,
    UnitRatioRow,
)
from app.vocabulary import UNIT_LEVELS

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


# --- the scorecard ---------------------------------------------------------------------


async def _scoring(session: AsyncSession) -> dict[str, scorecard.Scoring]:
    return {
        row.indicator: scorecard.Scoring(row.max_points, row.full_marks_at)
        for row in await repository.scoring_table(session)
    }


def _value(score: scorecard.Score) -> dict[str, Any]:
    ratio, points = score.ratio, score.points
    max_points = score.scoring.max_points
    return {
        "indicator": score.indicator.code,
        "name": score.indicator.name,
        "numerator": score.numerator,
        "denominator": score.denominator,
        "ratio": None if ratio is None else float(ratio),
        "full_marks_at": float(score.scoring.full_marks_at),
        "max_points": None if max_points is None else float(max_points),
        "points": None if points is None else float(points),
    }


_GROUP_FIELDS = {"domain": ("domain_code", "domain_name"), "unit": ("unit_code", "unit_name")}
# The row and group-total answer of each grouping: only its own group fields.
_INDICATOR_MODELS: dict[str, tuple[type[IndicatorRow], type[IndicatorGroupTotal]]] = {
    "domain": (DomainIndicatorRow, DomainIndicatorTotal),
    "unit": (UnitIndicatorRow, UnitIndicatorTotal),
    "none": (IndicatorRow, IndicatorGroupTotal),
}


async def indicators(
    session: AsyncSession,
    *,
    date_from: dt.date,
    date_to: dt.date,
    group_by: str,
    unit: str | None,
    domain: str | None,
) -> IndicatorsReport:
    """The scorecard indicators per group and overall, scored by the scoring table."""
    await check_filters(session, date_from, date_to, unit, domain)
    counts = await repository.indicator_counts(
        session, date_from=date_from, date_to=date_to, group_by=group_by, unit=unit, domain=domain
    )
    table = await _scoring(session)
    row_model, total_model = _INDICATOR_MODELS[group_by]
    rows: list[DomainIndicatorRow | UnitIndicatorRow | IndicatorRow] = []
    groups: list[DomainIndicatorTotal | UnitIndicatorTotal | IndicatorGroupTotal] = []
    for c in sorted(counts, key=lambda c: c["group_code"] or ""):
        group = scorecard.scores(c, table)
        if not any(s.denominator for s in group):
            continue
        fields: dict[str, Any] = {}
        if group_by in _GROUP_FIELDS:
            code_field, name_field = _GROUP_FIELDS[group_by]
            fields = {code_field: c["group_code"], name_field: c["group_name"]}
        rows += [row_model(**fields, **_value(s)) for s in group]
        groups.append(total_model(**fields, total_points=float(scorecard.total_points(group))))
    overall_counts = {name: sum(c[name] for c in counts) for name in scorecard.COUNT_NAMES}
    overall = scorecard.scores(overall_counts, table)
    return IndicatorsReport(
        from_=date_from,
        to=date_to,
        timezone=REPORT_TIMEZONE_NAME,
        unit=unit,
        domain=domain,
        group_by=group_by,
        rows=rows,
        groups=groups,
        overall=IndicatorsOverall(
            indicators=[IndicatorValue(**_value(s)) for s in overall],
            total_points=float(scorecard.total_points(overall)),
        ),
    )


_INDICATOR_VALUE_COLUMNS = list(IndicatorValue.model_fields)


def indicators_csv(report: IndicatorsReport) -> bytes:
    """One line per group and indicator."""
    group = list(_GROUP_FIELDS.get(report.group_by, ()))
    return csv_table([*group, *_INDICATOR_VALUE_COLUMNS], [r.model_dump() for r in report.rows])


# Column headings of the printed scorecard: the national id where the indicator has one.
INDICATOR_HEADINGS = {
    "on_time": "2.1 Trước hạn, đúng hạn",
    "online_filing": "3.3 Nộp trực tuyến",
    "full_online": "Toàn trình / đủ điều kiện",
    "online_payment": "3.6 Thanh toán trực tuyến",
    "e_result": "4.1 Kết quả điện tử",
    "digitized": "4.2 Số hóa hồ sơ",
    "reused_data": "4.4 Tái sử dụng dữ liệu",
    "online_on_time": "Trực tuyến đúng hạn",
}


async def indicators_xlsx(
    session: AsyncSession, pool: WorkerPool, report: IndicatorsReport
) -> bytes:
    """The scorecard as a printable workbook: one row per group, each indicator's ratio and
    points under its heading, the total points, and a line for all groups together."""
    columns: list[Column] = []
    if report.group_by in _GROUP_FIELDS:
        code_field, name_field = _GROUP_FIELDS[report.group_by]
        what = "lĩnh vực" if report.group_by == "domain" else "đơn vị"
        columns += [
            Column(code_field, f"Mã {what}", 10),
            Column(name_field, what.capitalize(), 26),
        ]
    else:
        columns.append(Column("scope", "Phạm vi", 26))
    scored: dict[str, IndicatorValue] = {v.indicator: v for v in report.overall.indicators}
    for code in scorecard.CODES:
        max_points = scored[code].max_points
        heading = INDICATOR_HEADINGS[code] + (
            f" ({max_points:g} điểm)" if max_points is not None else ""
        )
        columns.append(Column(f"{code}.ratio", "Tỷ lệ", 8.5, PERCENT, group=heading))
        columns.append(Column(f"{code}.points", "Điểm", 7, "0.00", group=heading))
    columns.append(Column("total_points", "Tổng điểm", 9, "0.00"))

    def line(values: list[Any], total: float) -> dict[str, Any]:
        out: dict[str, Any] = {"total_points": total}
        for v in values:
            out[f"{v.indicator}.ratio"] = v.ratio
            out[f"{v.indicator}.points"] = v.points
        return out

    def key(item: BaseModel) -> Any:
        return getattr(item, "domain_code", None) or getattr(item, "unit_code", None)

    by_group: dict[Any, list[IndicatorRow]] = {}
    for row in report.rows:
        by_group.setdefault(key(row), []).append(row)
    rows = []
    for group in report.groups:
        values = line(by_group[key(group)], group.total_points)
        rows.append({**group.model_dump(), **values})
    if report.group_by == "none" and report.rows:
        rows = [{"scope": "Tất cả", **line(report.rows, report.overall.total_points)}]
    first = columns[0].key
    totals = {first: "Tổng cộng", **line(report.overall.indicators, report.overall.total_points)}
    return await pool.run(
        xlsx_workbook,
        Sheet(
            title="KẾT QUẢ CHỈ SỐ ĐÁNH GIÁ CHẤT LƯỢNG GIẢI QUYẾT TTHC (QĐ 766/QĐ-TTg)",
            subtitle_lines=[
                _period_line(report.from_, report.to),
                await scope_line(session, report.unit, report.domain),
            ],
            columns=columns,
            rows=rows,
            totals=totals if report.group_by != "none" else None,
            note="Tỷ lệ = tử số / mẫu số theo hồ sơ đã tiếp nhận hoặc đã kết thúc trong kỳ; điểm ="
            " điểm tối đa × min(1, tỷ lệ / tỷ lệ đạt điểm tối đa). Ngày theo múi giờ "
            f"{REPORT_TIMEZONE_NAME}. Tử số, mẫu số từng chỉ số: bản JSON hoặc CSV.",
            sheet_name="Chỉ số 766",
        ),
    )


async def scoring_table(session: AsyncSession) -> list[ScoringOut]:
    """The scoring table, in its order."""
    return [_scoring_out(row) for row in await repository.scoring_table(session)]


def _scoring_out(row: Any) -> ScoringOut:
    return ScoringOut(
        indicator=row.indicator,
        name=scorecard.BY_CODE[row.indicator].name,
        max_points=None if row.max_points is None else float(row.max_points),
        full_marks_at=float(row.full_marks_at),
    )


async def put_scoring(session: AsyncSession, indicator: str, body: ScoringIn) -> ScoringOut:
    """Change a row of the scoring table: the fields sent, the others kept."""
    values: dict[str, Any] = {}
    if "max_points" in body.model_fields_set:
        values["max_points"] = None if body.max_points is None else Decimal(str(body.max_points))
    if "full_marks_at" in body.model_fields_set:
        if body.full_marks_at is None:
            raise validation_failed(
                ["body", "full_marks_at"], "must be a number in (0, 1]", "full_marks_at_required"
            )
        values["full_marks_at"] = Decimal(str(body.full_marks_at))
    row = await repository.update_scoring(session, indicator, values)
    if row is None:
        raise NotFound(f"indicator {indicator!r} is not in the scoring table")
    return _scoring_out(row)
