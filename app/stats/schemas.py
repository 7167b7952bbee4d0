"""Query parameters and answers of the statistics endpoints."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Basis = Literal["online_capable", "all", "full_online"]
GroupBy = Literal["domain", "unit", "none"]
Period = Literal["none", "month", "quarter", "year"]
Format = Literal["json", "csv", "xlsx"]
TableFormat = Literal["json", "csv"]


class RatioRow(BaseModel):
    """One period of the ratio, all groups together (group_by=none)."""

    period: str | None = Field(description="`2017-03`, `2017-Q1`, `2017`, or null.")
    online: int = Field(description="Numerator: counted dossiers filed online (per basis).")
    total: int = Field(description="Denominator: counted dossiers (per basis).")
    ratio: float = Field(description="online / total, not rounded.")
    target: float | None = Field(default=None, description="The domain's target (by domain).")
    meets_target: bool | None = Field(default=None, description="ratio >= target (by domain).")


class DomainRatioRow(RatioRow):
    """One domain in one period (group_by=domain)."""

    domain_code: str
    domain_name: str | None


class UnitRatioRow(RatioRow):
    """One unit in one period (group_by=unit); no target."""

    unit_code: str
    unit_name: str | None


class RatioOverall(BaseModel):
    """All rows together."""

    online: int
    total: int
    ratio: float | None = Field(description="online / total; null when total is 0.")


class OnlineRatioReport(BaseModel):
    """The online-filing ratio, per group and period."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "from": "2017-01-01",
                    "to": "2017-12-31",
                    "timezone": "Asia/Ho_Chi_Minh",
                    "basis": "online_capable",
                    "unit": "282",
                    "domain": None,
                    "group_by": "domain",
                    "period": "month",
                    "rows": [
                        {
                            "period": "2017-03",
                            "domain_code": "TP",
                            "domain_name": "Tư pháp",
                            "online": 612,
                            "total": 1000,
                            "ratio": 0.612,
                            "target": 0.6,
                            "meets_target": True,
                        }
                    ],
                    "overall": {"online": 2311, "total": 5120, "ratio": 0.4513671875},
                }
            ]
        },
        populate_by_name=True,
    )

    from_: dt.date = Field(alias="from", serialization_alias="from")
    to: dt.date
    timezone: str
    basis: Basis
    unit: str | None
    domain: str | None
    group_by: GroupBy
    period: Period
    rows: list[DomainRatioRow | UnitRatioRow | RatioRow]
    overall: RatioOverall


class Report06Counts(BaseModel):
    """The columns of Biểu số 06 (Circular 01/2020/TT-VPCP)."""

    received_total: int = Field(description="carried_over + received_online + received_offline.")
    received_online: int = Field(description="Received in the period, online (trực tuyến).")
    received_offline: int = Field(description="Received in the period, in person or by post.")
    carried_over: int = Field(
        description="Received before the period and not ended before it starts"
        " (kỳ trước chuyển qua)."
    )
    finished_total: int = Field(description="finished_early + finished_on_time + finished_late.")
    finished_early: int = Field(
        description="Ended in the period before the effective due date (trước hạn)."
    )
    finished_on_time: int = Field(
        description="Ended in the period on the effective due date, or without one, or withdrawn"
        " (đúng hạn)."
    )
    finished_late: int = Field(
        description="Ended in the period after the effective due date (quá hạn)."
    )
    pending_total: int = Field(description="pending_on_time + pending_overdue.")
    pending_on_time: int = Field(
        description="Not ended by the end of the period, not overdue (trong hạn)."
    )
    pending_overdue: int = Field(
        description="Not ended by the end of the period, effective due date before `to` (quá hạn)."
    )


class Report06Row(Report06Counts):
    """One domain or unit."""

    unit_level: str | None = Field(
        default=None,
        description="With group_by=domain: the level of the handling units (province, district,"
        " commune; null for units without a level). Rows come in sections by level, in that order.",
    )
    domain_code: str | None = Field(default=None, description="With group_by=domain.")
    domain_name: str | None = Field(default=None, description="With group_by=domain.")
    unit_code: str | None = Field(default=None, description="With group_by=unit.")
    unit_name: str | None = Field(default=None, description="With group_by=unit.")


_REPORT06_EXAMPLE_COUNTS: dict[str, Any] = {
    "received_total": 130,
    "received_online": 70,
    "received_offline": 50,
    "carried_over": 10,
    "finished_total": 110,
    "finished_early": 60,
    "finished_on_time": 45,
    "finished_late": 5,
    "pending_total": 20,
    "pending_on_time": 18,
    "pending_overdue": 2,
}


class Report06(BaseModel):
    """The periodic report on the handling of administrative procedures."""

    model_config = ConfigDict(
        populate_by_name=True,
        json_schema_extra={
            "examples": [
                {
                    "from": "2017-01-01",
                    "to": "2017-03-31",
                    "timezone": "Asia/Ho_Chi_Minh",
                    "unit": "282",
                    "domain": None,
                    "group_by": "domain",
                    "rows": [
                        {
                            "unit_level": "commune",
                            "domain_code": "TP",
                            "domain_name": "Tư pháp",
                            **_REPORT06_EXAMPLE_COUNTS,
                        }
                    ],
                    "overall": _REPORT06_EXAMPLE_COUNTS,
                }
            ]
        },
    )

    from_: dt.date = Field(alias="from", serialization_alias="from")
    to: dt.date
    timezone: str
    unit: str | None
    domain: str | None
    group_by: Literal["domain", "unit"]
    rows: list[Report06Row]
    overall: Report06Counts


class CoverageCounts(BaseModel):
    """Procedures offered online."""

    procedures: int = Field(description="Procedures in the catalog (of the unit level).")
    online_capable: int = Field(description="Of which offered online at level 3 or 4.")
    full_online: int = Field(description="Of which offered fully online (level 4).")
    ratio: float | None = Field(description="online_capable / procedures; null without any.")
    target: float | None = Field(description="The target share of online_capable.")
    meets_target: bool | None = Field(description="ratio >= target.")


class CoverageRow(CoverageCounts):
    """One domain."""

    domain_code: str
    domain_name: str | None


class CoverageReport(BaseModel):
    """Procedure coverage: the share of procedures offered online, per domain."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "unit_level": "commune",
                    "domain": None,
                    "rows": [
                        {
                            "domain_code": "TP",
                            "domain_name": "Tư pháp",
                            "procedures": 20,
                            "online_capable": 9,
                            "full_online": 3,
                            "ratio": 0.45,
                            "target": 0.4,
                            "meets_target": True,
                        }
                    ],
                    "overall": {
                        "procedures": 50,
                        "online_capable": 18,
                        "full_online": 5,
                        "ratio": 0.36,
                        "target": 0.4,
                        "meets_target": False,
                    },
                }
            ]
        }
    )

    unit_level: Literal["district", "commune"] | None
    domain: str | None
    rows: list[CoverageRow]
    overall: CoverageCounts


# --- the scorecard (contract section 12) ------------------------------------------------------

IndicatorCode = Literal[
    "on_time",
    "online_filing",
    "full_online",
    "online_payment",
    "e_result",
    "digitized",
    "reused_data",
    "online_on_time",
]
IndicatorGroupBy = Literal["none", "unit", "domain"]


class IndicatorValue(BaseModel):
    """One indicator: its two counts, ratio and points."""

    indicator: IndicatorCode
    name: str = Field(description="The indicator's name on the national scorecard.")
    numerator: int
    denominator: int
    ratio: float | None = Field(description="numerator / denominator; null when it is 0.")
    full_marks_at: float = Field(description="The ratio that earns every point.")
    max_points: float | None = Field(description="Points at full marks; null: not scored.")
    points: float | None = Field(
        description="max_points × min(1, ratio / full_marks_at); null without max_points or ratio."
    )


class IndicatorRow(IndicatorValue):
    """One indicator of all counted dossiers together (group_by=none)."""


class DomainIndicatorRow(IndicatorRow):
    """One indicator of one domain (group_by=domain)."""

    domain_code: str
    domain_name: str | None


class UnitIndicatorRow(IndicatorRow):
    """One indicator of one handling unit (group_by=unit)."""

    unit_code: str
    unit_name: str | None


class IndicatorGroupTotal(BaseModel):
    """A group's total points: the sum of its indicators' non-null points (for a ranking)."""

    total_points: float


class DomainIndicatorTotal(IndicatorGroupTotal):
    domain_code: str
    domain_name: str | None


class UnitIndicatorTotal(IndicatorGroupTotal):
    unit_code: str
    unit_name: str | None


class IndicatorsOverall(BaseModel):
    """Every indicator over all counted dossiers of the filters."""

    indicators: list[IndicatorValue]
    total_points: float = Field(description="The sum of the non-null points.")


_INDICATOR_EXAMPLE: dict[str, Any] = {
    "indicator": "on_time",
    "name": "Tỷ lệ hồ sơ xử lý trước hạn, đúng hạn (2.1)",
    "numerator": 950,
    "denominator": 1000,
    "ratio": 0.95,
    "full_marks_at": 1.0,
    "max_points": 20.0,
    "points": 19.0,
}


class IndicatorsReport(BaseModel):
    """The scorecard indicators per group, and over all groups."""

    model_config = ConfigDict(
        populate_by_name=True,
        json_schema_extra={
            "examples": [
                {
                    "from": "2024-01-01",
                    "to": "2024-12-31",
                    "timezone": "Asia/Ho_Chi_Minh",
                    "unit": "282",
                    "domain": None,
                    "group_by": "unit",
                    "rows": [
                        {
                            "unit_code": "10441",
                            "unit_name": "Thị trấn Đại Nghĩa",
                            **_INDICATOR_EXAMPLE,
                        }
                    ],
                    "groups": [
                        {
                            "unit_code": "10441",
                            "unit_name": "Thị trấn Đại Nghĩa",
                            "total_points": 41.5,
                        }
                    ],
                    "overall": {"indicators": [_INDICATOR_EXAMPLE], "total_points": 41.5},
                }
            ]
        },
    )

    from_: dt.date = Field(alias="from", serialization_alias="from")
    to: dt.date
    timezone: str
    unit: str | None
    domain: str | None
    group_by: IndicatorGroupBy
    rows: list[DomainIndicatorRow | UnitIndicatorRow | IndicatorRow] = Field(
        description="One row per group and indicator, by group code, then in the table's order;"
        " groups whose every denominator is 0 are left out."
    )
    groups: list[DomainIndicatorTotal | UnitIndicatorTotal | IndicatorGroupTotal] = Field(
        description="Each group's total points, by group code (for group_by=unit: the ranking's"
        " input)."
    )
    overall: IndicatorsOverall


class ScoringIn(BaseModel):
    """A change to a row of the scoring table; an omitted field keeps its value."""

    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        json_schema_extra={"examples": [{"max_points": 20, "full_marks_at": 1.0}]},
    )

    max_points: float | None = Field(
        default=None, ge=0, le=1000, description="Points at full marks; null: not scored."
    )
    full_marks_at: float | None = Field(
        default=None,
        ge=0.0001,
        le=1,
        description="The ratio that earns every point, 0.0001 to 1 (4 decimals kept).",
    )


class ScoringOut(BaseModel):
    """A row of the scoring table."""

    indicator: IndicatorCode
    name: str
    max_points: float | None
    full_marks_at: float
