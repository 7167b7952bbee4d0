"""Query parameters and answers of the statistics endpoints."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Basis = Literal["online_capable", "all", "full_online"]
GroupBy = Literal["domain", "unit", "none"]
Period = Literal["none", "month", "quarter", "year"]
Format = Literal["json", "csv"]


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
