"""SQL for the statistics: aggregation happens in PostgreSQL (`GROUP BY` with `FILTER`)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Date,
    and_,
    cast,
    func,
    literal_column,
    null,
    or_,
    select,
    true,
)
from sqlalchemy.ext.asyncio import AsyncSession

from app.localtime import REPORT_TIMEZONE_NAME
from app.models import Dossier, Procedure, Unit

# Dossiers that are not (or not yet) received never count.
UNCOUNTED_STATUSES = ("submitted", "refused")

_PERIOD_FORMATS = {"month": "YYYY-MM", "quarter": 'YYYY-"Q"Q', "year": "YYYY"}


@dataclass(frozen=True)
class RatioCount:
    """Raw counts of one group in one period."""

    period: str | None
    group_code: str | None
    online: int
    total: int


def _basis_filters(basis: str) -> tuple[ColumnElement[bool], ColumnElement[bool]]:
    """(numerator, denominator) conditions of a ratio basis."""
    online = Dossier.channel == "online"
    capable = Dossier.service_level.in_((3, 4))
    if basis == "online_capable":
        return and_(online, capable), capable
    if basis == "all":
        return online, true()
    if basis == "full_online":
        return and_(online, Dossier.service_level == 4), true()
    raise ValueError(basis)


def unit_subtree_select(root: str):  # type: ignore[no-untyped-def]
    """A SELECT of `root` and every unit code below it."""
    tree = select(Unit.code).where(Unit.code == root).cte("subtree", recursive=True)
    tree = tree.union(select(Unit.code).where(Unit.parent_code == tree.c.code))
    return select(tree.c.code)


async def online_ratio_counts(
    session: AsyncSession,
    *,
    date_from: dt.date,
    date_to: dt.date,
    basis: str,
    group_by: str,
    period: str,
    unit: str | None,
    domain: str | None,
) -> list[RatioCount]:
    """Numerator and denominator per (period, group) over dossiers received in the range."""
    numerator, denominator = _basis_filters(basis)
    period_col = (
        func.to_char(Dossier.received_on, _PERIOD_FORMATS[period]) if period != "none" else null()
    )
    group_col = {"domain": Dossier.domain_code, "unit": Dossier.unit_code}.get(group_by, null())
    stmt = (
        select(
            period_col.label("period"),
            group_col.label("group_code"),
            func.count().filter(numerator).label("online"),
            func.count().filter(denominator).label("total"),
        )
        .where(
            Dossier.received_on.between(date_from, date_to),
            Dossier.status.not_in(UNCOUNTED_STATUSES),
        )
        .group_by("period", "group_code")
    )
    if unit is not None:
        stmt = stmt.where(Dossier.unit_code.in_(unit_subtree_select(unit)))
    if domain is not None:
        stmt = stmt.where(Dossier.domain_code == domain)
    rows = await session.execute(stmt)
    return [RatioCount(r.period, r.group_code, r.online, r.total) for r in rows]


def _local_day(column: Any) -> ColumnElement[dt.date]:
    """The Vietnam calendar date of a timestamptz column."""
    return cast(func.timezone(literal_column(f"'{REPORT_TIMEZONE_NAME}'"), column), Date)


REPORT06_COLUMNS = (
    "received_online",
    "received_offline",
    "carried_over",
    "finished_early",
    "finished_on_time",
    "finished_late",
    "pending_on_time",
    "pending_overdue",
)


def _report06_filters(date_from: dt.date, date_to: dt.date) -> dict[str, ColumnElement[bool]]:
    """The condition behind each counted column of report 06 (contract section 9)."""
    finished_day = _local_day(Dossier.finished_at)
    due_day = _local_day(Dossier.due_at)
    received_in_period = Dossier.received_on.between(date_from, date_to)
    still_handled = Dossier.status.not_in(("withdrawn", "stopped"))
    finished_in_period = and_(
        Dossier.status.in_(("finished", "returned")), finished_day.between(date_from, date_to)
    )
    open_at_end = and_(
        Dossier.received_on <= date_to,
        still_handled,
        or_(Dossier.finished_at.is_(None), finished_day > date_to),
    )
    return {
        "received_online": and_(received_in_period, Dossier.channel == "online"),
        "received_offline": and_(received_in_period, Dossier.channel != "online"),
        "carried_over": and_(
            Dossier.received_on < date_from,
            still_handled,
            or_(Dossier.finished_at.is_(None), finished_day >= date_from),
        ),
        "finished_early": and_(
            finished_in_period, Dossier.due_at.is_not(None), finished_day < due_day
        ),
        "finished_on_time": and_(
            finished_in_period, or_(Dossier.due_at.is_(None), finished_day == due_day)
        ),
        "finished_late": and_(
            finished_in_period, Dossier.due_at.is_not(None), finished_day > due_day
        ),
        "pending_on_time": and_(open_at_end, or_(Dossier.due_at.is_(None), due_day >= date_to)),
        "pending_overdue": and_(open_at_end, Dossier.due_at.is_not(None), due_day < date_to),
    }


async def report06_counts(
    session: AsyncSession,
    *,
    date_from: dt.date,
    date_to: dt.date,
    group_by: str,
    unit: str | None,
    domain: str | None,
) -> list[dict[str, Any]]:
    """Report 06's counted columns per group (`group_code`), one SQL pass with FILTER."""
    filters = _report06_filters(date_from, date_to)
    group_col = Dossier.domain_code if group_by == "domain" else Dossier.unit_code
    stmt = (
        select(
            group_col.label("group_code"),
            *(func.count().filter(filters[name]).label(name) for name in REPORT06_COLUMNS),
        )
        .where(Dossier.status.not_in(UNCOUNTED_STATUSES))
        .group_by(group_col)
    )
    if unit is not None:
        stmt = stmt.where(Dossier.unit_code.in_(unit_subtree_select(unit)))
    if domain is not None:
        stmt = stmt.where(Dossier.domain_code == domain)
    return [dict(row._mapping) for row in await session.execute(stmt)]


async def coverage_counts(
    session: AsyncSession, *, unit_level: str | None, domain: str | None
) -> list[dict[str, Any]]:
    """Procedures, of which online-capable (level 3, 4) and fully online (4), per domain."""
    stmt = select(
        Procedure.domain_code.label("domain_code"),
        func.count().label("procedures"),
        func.count().filter(Procedure.service_level.in_((3, 4))).label("online_capable"),
        func.count().filter(Procedure.service_level == 4).label("full_online"),
    ).group_by(Procedure.domain_code)
    if unit_level is not None:
        stmt = stmt.where(Procedure.unit_levels.contains([unit_level]))
    if domain is not None:
        stmt = stmt.where(Procedure.domain_code == domain)
    return [dict(row._mapping) for row in await session.execute(stmt)]
