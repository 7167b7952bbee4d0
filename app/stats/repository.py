"""SQL for the statistics: aggregation happens in PostgreSQL (`GROUP BY` with `FILTER`)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, func, null, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Dossier, Unit

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
