"""SQL for the statistics.

Figures come from the summary tables that triggers on `dossiers` keep exact (migration 0004):
whole months from the monthly summaries, the days at either end from the daily ones. Pending
and carried-over dossiers are sums of open-interval ends up to a day. None of these reads grows
with the number of dossiers, only with the months of history and the number of groups."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Select,
    String,
    Subquery,
    Table,
    and_,
    func,
    literal,
    or_,
    select,
    text,
    true,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import (
    FINISHED_COUNTERS,
    RECEIVED_COUNTERS,
    Domain,
    Dossier,
    Indicator,
    Procedure,
    Unit,
    stats_finished_daily,
    stats_finished_monthly,
    stats_open_daily,
    stats_open_monthly,
    stats_open_yearly,
    stats_received_daily,
    stats_received_monthly,
)
from app.stats.scorecard import COUNT_NAMES, COUNTS_BY_PART, UNRECEIVED, Terms
from app.vocabulary import ENDING_STATUSES


@dataclass(frozen=True)
class RatioCount:
    """Raw counts of one group in one period."""

    period: str | None
    group_code: str | None
    online: int
    total: int
    group_name: str | None = None
    target: Decimal | None = None


class Filters:
    """The unit subtree, single unit, level of the handling unit and domain a figure is limited
    to; the subtree SELECT is built once, so every part of one statement shares a single
    recursive CTE. Applies to the summary tables and to `dossiers` alike (both carry
    `unit_code` and `domain_code`)."""

    def __init__(
        self,
        unit: str | None,
        domain: str | None,
        *,
        unit_exact: str | None = None,
        unit_level: str | None = None,
        subtree: Sequence[str] | None = None,
    ) -> None:
        """`subtree`, when the caller has read it, is the unit filter's subtree as codes."""
        self.unit = unit
        self.domain = domain
        self.unit_exact = unit_exact
        self.unit_level = unit_level
        self.subtree: Select[Any] | list[str] | None = None
        if unit is not None:
            self.subtree = list(subtree) if subtree is not None else unit_subtree_select(unit)

    def conditions(self, table: Table) -> list[ColumnElement[bool]]:
        """The filters as conditions on a table with `unit_code` and `domain_code`."""
        found: list[ColumnElement[bool]] = []
        if self.subtree is not None:
            found.append(table.c.unit_code.in_(self.subtree))
        if self.unit_exact is not None:
            found.append(table.c.unit_code == self.unit_exact)
        if self.unit_level is not None:
            units = Unit.__table__
            at_level = select(units.c.code).where(units.c.level == self.unit_level)
            found.append(table.c.unit_code.in_(at_level))
        if self.domain is not None:
            found.append(table.c.domain_code == self.domain)
        return found

    def apply(self, stmt: Select[Any], table: Table) -> Select[Any]:
        conditions = self.conditions(table)
        return stmt.where(*conditions) if conditions else stmt


def unit_subtree_select(root: str) -> Select[Any]:
    """A SELECT of `root` and every unit code below it."""
    tree = select(Unit.code).where(Unit.code == root).cte("subtree", recursive=True)
    tree = tree.union(select(Unit.code).where(Unit.parent_code == tree.c.code))
    return select(tree.c.code)


def _month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def _next_month(day: dt.date) -> dt.date:
    return (_month_start(day) + dt.timedelta(days=32)).replace(day=1)


def split_range(
    date_from: dt.date, date_to: dt.date
) -> tuple[tuple[dt.date, dt.date] | None, list[tuple[dt.date, dt.date]]]:
    """Whole months inside [from, to] as [first month start, end) and the leftover day ranges."""
    first = date_from if date_from.day == 1 else _next_month(date_from)
    after = date_to + dt.timedelta(days=1)
    end = after if after.day == 1 else _month_start(date_to)
    if first >= end:
        return None, [(date_from, date_to)]
    days = []
    if date_from < first:
        days.append((date_from, first - dt.timedelta(days=1)))
    if end <= date_to:
        days.append((end, date_to))
    return (first, end), days


def _summary_rows(
    daily: Table,
    monthly: Table,
    counters: tuple[str, ...],
    date_from: dt.date,
    date_to: dt.date,
    filters: Filters,
) -> Subquery:
    """Summary rows covering [from, to] exactly: `day` (a day or a month start), group, counters."""
    months, day_ranges = split_range(date_from, date_to)
    parts: list[Select[Any]] = []

    def part(table: Table, period: str, condition: ColumnElement[bool]) -> Select[Any]:
        stmt = select(
            table.c[period].label("day"),
            table.c.domain_code,
            table.c.unit_code,
            *(table.c[c] for c in counters),
        ).where(condition)
        return filters.apply(stmt, table)

    if months is not None:
        parts.append(
            part(monthly, "month", and_(monthly.c.month >= months[0], monthly.c.month < months[1]))
        )
    for low, high in day_ranges:
        parts.append(part(daily, "day", daily.c.day.between(low, high)))
    return union_all(*parts).subquery("summary")


# One fixed statement for every variant of the ratio: prepared once per connection, no query
# building per request. Whole months come from the monthly summary, the days before the first
# and after the last whole month from the daily one; names and targets come along.
_ONLINE_RATIO = text(
    """
    WITH RECURSIVE subtree(code) AS (
        SELECT code FROM units WHERE code = CAST(:unit AS varchar)
        UNION
        SELECT u.code FROM units u JOIN subtree s ON u.parent_code = s.code
    ), summary AS (
        SELECT month AS day, domain_code, unit_code, total, online, capable, capable_online,
               full_online
        FROM stats_received_monthly
        WHERE month >= CAST(:months_from AS date) AND month < CAST(:months_to AS date)
        UNION ALL
        SELECT day, domain_code, unit_code, total, online, capable, capable_online, full_online
        FROM stats_received_daily
        WHERE day BETWEEN CAST(:head_from AS date) AND CAST(:head_to AS date)
           OR day BETWEEN CAST(:tail_from AS date) AND CAST(:tail_to AS date)
    ), counts AS (
        SELECT CASE CAST(:period AS text)
                   WHEN 'month' THEN to_char(day, 'YYYY-MM')
                   WHEN 'quarter' THEN to_char(day, 'YYYY-"Q"Q')
                   WHEN 'year' THEN to_char(day, 'YYYY')
               END AS period,
               CASE CAST(:group_by AS text)
                   WHEN 'domain' THEN domain_code WHEN 'unit' THEN unit_code
               END AS group_code,
               sum(CASE CAST(:basis AS text)
                       WHEN 'online_capable' THEN capable_online
                       WHEN 'all' THEN online
                       ELSE full_online
                   END) AS online,
               sum(CASE CAST(:basis AS text) WHEN 'online_capable' THEN capable ELSE total END)
                   AS total
        FROM summary
        WHERE (CAST(:unit AS varchar) IS NULL OR unit_code IN (SELECT code FROM subtree))
          AND (CAST(:domain AS varchar) IS NULL OR domain_code = CAST(:domain AS varchar))
        GROUP BY 1, 2
    ), known AS (
        SELECT (CAST(:unit AS varchar) IS NULL
                OR EXISTS (SELECT FROM units WHERE code = CAST(:unit AS varchar))) AS unit_known,
               (CAST(:domain AS varchar) IS NULL
                OR EXISTS (SELECT FROM domains WHERE code = CAST(:domain AS varchar)))
                   AS domain_known
    )
    SELECT k.unit_known, k.domain_known, r.*
    FROM known k LEFT JOIN (
        SELECT c.period, c.group_code, c.online, c.total,
               coalesce(d.name, u.name) AS group_name, d.online_target AS target
        FROM counts c
        LEFT JOIN domains d ON CAST(:group_by AS text) = 'domain' AND d.code = c.group_code
        LEFT JOIN units u ON CAST(:group_by AS text) = 'unit' AND u.code = c.group_code
    ) AS r ON true
    """
)


@dataclass(frozen=True)
class RatioCounts:
    """The counts, and whether the unit and domain filters name catalog entries."""

    unit_known: bool
    domain_known: bool
    rows: list[RatioCount]


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
) -> RatioCounts:
    """Numerator and denominator per (period, group) over dossiers received in the range,
    with the group's name and (for domains) online target; one round trip."""
    months, day_ranges = split_range(date_from, date_to)
    no_months = (date_from, date_from)  # an empty [from, to)
    head, tail = [*day_ranges, (None, None), (None, None)][:2]
    result = await session.execute(
        _ONLINE_RATIO,
        {
            "unit": unit,
            "domain": domain,
            "basis": basis,
            "group_by": group_by,
            "period": period,
            "months_from": (months or no_months)[0],
            "months_to": (months or no_months)[1],
            "head_from": head[0],
            "head_to": head[1],
            "tail_from": tail[0],
            "tail_to": tail[1],
        },
    )
    rows = result.all()
    return RatioCounts(
        unit_known=rows[0].unit_known,
        domain_known=rows[0].domain_known,
        rows=[
            RatioCount(r.period, r.group_code, int(r.online), int(r.total), r.group_name, r.target)
            for r in rows
            if r.total is not None  # the single row of an empty answer carries only the checks
        ],
    )


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


def _counted_parts(
    group_by: str,
    names: tuple[str, ...],
    parts: list[tuple[Subquery, dict[str, ColumnElement[Any]]]],
) -> Subquery:
    """The rows of several summaries as one union: the group's code (the domain, the unit, or
    none), the handling unit, and every counter in `names` (0 where a part has none of it).
    Each part is summed per (group, unit) before the union, so the union carries a few rows
    per part, not every summary row with a zero for each other part's counters."""
    zero = literal(0, BigInteger)
    selects = []
    for rows, given in parts:
        code = {"domain": rows.c.domain_code, "unit": rows.c.unit_code}.get(group_by)
        keys = (
            [rows.c.unit_code]
            if code is None or code is rows.c.unit_code
            else [code, rows.c.unit_code]
        )
        selects.append(
            select(
                (code if code is not None else literal(None, String)).label("code"),
                rows.c.unit_code.label("unit_code"),
                *(
                    func.sum(given[name]).cast(BigInteger).label(name)
                    if name in given
                    else zero.label(name)
                    for name in names
                ),
            ).group_by(*keys)
        )
    return union_all(*selects).subquery("parts")


def _received(date_from: dt.date, date_to: dt.date, filters: Filters, *counters: str) -> Subquery:
    return _summary_rows(
        stats_received_daily, stats_received_monthly, counters, date_from, date_to, filters
    )


def _finished(date_from: dt.date, date_to: dt.date, filters: Filters, *counters: str) -> Subquery:
    return _summary_rows(
        stats_finished_daily, stats_finished_monthly, counters, date_from, date_to, filters
    )


async def report06_counts(
    session: AsyncSession,
    *,
    date_from: dt.date,
    date_to: dt.date,
    group_by: str,
    unit: str | None,
    domain: str | None,
) -> list[dict[str, Any]]:
    """Report 06's counted columns per group (`group_code`, `group_name`; with group_by=domain
    also `unit_level`, the level of the handling units: a group is a (level, domain) pair), in
    one statement, so every column comes from the same snapshot; groups with no summary row are
    absent."""
    filters = Filters(unit, domain)
    received = _received(date_from, date_to, filters, "total", "online")
    finished = _finished(date_from, date_to, filters, "early", "on_time", "late")
    # Carried over = still open at the end of the day before `from`; pending = open at `to`.
    carried = _interval_ends_until(date_from - dt.timedelta(days=1), filters)
    pending = _interval_ends_until(date_to, filters)
    parts = _counted_parts(
        group_by,
        REPORT06_COLUMNS,
        [
            (
                received,
                {
                    "received_online": received.c.online,
                    "received_offline": received.c.total - received.c.online,
                },
            ),
            (
                finished,
                {
                    "finished_early": finished.c.early,
                    "finished_on_time": finished.c.on_time,
                    "finished_late": finished.c.late,
                },
            ),
            (carried, {"carried_over": carried.c.open}),
            (
                pending,
                {
                    "pending_overdue": pending.c.overdue,
                    "pending_on_time": pending.c.open - pending.c.overdue,
                },
            ),
        ],
    )
    units = Unit.__table__
    sums = [func.sum(parts.c[name]).label(name) for name in REPORT06_COLUMNS]
    if group_by == "domain":
        domains = Domain.__table__
        stmt = (
            select(
                parts.c.code.label("group_code"),
                func.max(domains.c.name).label("group_name"),
                units.c.level.label("unit_level"),
                *sums,
            )
            .outerjoin(units, units.c.code == parts.c.unit_code)
            .outerjoin(domains, domains.c.code == parts.c.code)
            .group_by(parts.c.code, units.c.level)
        )
    else:
        stmt = (
            select(
                parts.c.code.label("group_code"),
                func.max(units.c.name).label("group_name"),
                literal(None).label("unit_level"),
                *sums,
            )
            .outerjoin(units, units.c.code == parts.c.code)
            .group_by(parts.c.code)
        )
    return [
        {
            "group_code": row.group_code,
            "group_name": row.group_name,
            "unit_level": row.unit_level,
            **{name: int(row[name]) for name in REPORT06_COLUMNS},
        }
        for row in (await session.execute(stmt)).mappings()
    ]


def _ended_in_time_unreceived(date_from: dt.date, date_to: dt.date, filters: Filters) -> Subquery:
    """Dossiers ended early or on time within [from, to] but not received on or before `to`:
    report 06 counts them as finished, yet they are not among its received or carried over.
    Rare (an end date before the receipt), and found through a partial index."""
    d = cast(Table, Dossier.__table__)
    stmt = (
        select(d.c.domain_code, d.c.unit_code, func.count().label("n"))
        .where(
            d.c.ended_on.is_not(None),
            or_(d.c.received_on.is_(None), d.c.ended_on < d.c.received_on),
            d.c.ended_on.between(date_from, date_to),
            or_(d.c.received_on.is_(None), d.c.received_on > date_to),
            d.c.status.in_(ENDING_STATUSES),
            or_(
                d.c.status == "withdrawn",
                d.c.effective_due_on.is_(None),
                d.c.ended_on <= d.c.effective_due_on,
            ),
        )
        .group_by(d.c.domain_code, d.c.unit_code)
    )
    return filters.apply(stmt, d).subquery("unreceived")


def _part_rows(
    part: str, date_from: dt.date, date_to: dt.date, filters: Filters, counters: Collection[str]
) -> Subquery:
    """The summary rows of one part of `SUMMARY_COUNTERS` for the period: received or finished
    within it, or the open-interval ends up to the day before `from` (carried) or `to` (pending)."""
    if part == "received":
        return _received(date_from, date_to, filters, *sorted(counters))
    if part == "finished":
        return _finished(date_from, date_to, filters, *sorted(counters))
    day = date_from - dt.timedelta(days=1) if part == "carried" else date_to
    return _interval_ends_until(day, filters)


def _terms_column(terms: Terms, rows: Subquery) -> ColumnElement[Any]:
    """A count's terms as an expression over one part's summary rows."""
    first, *others = terms.plus
    column: ColumnElement[Any] = rows.c[first.split(".")[1]]
    for key in others:
        column = column + rows.c[key.split(".")[1]]
    for key in terms.minus:
        column = column - rows.c[key.split(".")[1]]
    return column


def indicator_statement(
    date_from: dt.date, date_to: dt.date, group_by: str, filters: Filters
) -> Select[Any]:
    """The one statement of `indicator_counts`."""
    # Each summary part once, with the counters its counts read.
    given: list[tuple[Subquery, dict[str, ColumnElement[Any]]]] = []
    for part, counts in COUNTS_BY_PART.items():
        counters = {key.split(".")[1] for terms in counts.values() for key in terms.names}
        rows = _part_rows(part, date_from, date_to, filters, counters)
        given.append((rows, {name: _terms_column(terms, rows) for name, terms in counts.items()}))
    unreceived = _ended_in_time_unreceived(date_from, date_to, filters)
    given.append((unreceived, {UNRECEIVED: unreceived.c.n}))
    parts = _counted_parts(group_by, COUNT_NAMES, given)
    sums = [func.sum(parts.c[name]).label(name) for name in COUNT_NAMES]
    named = {"domain": Domain.__table__, "unit": Unit.__table__}.get(group_by)
    if named is None:
        stmt = select(parts.c.code.label("group_code"), literal(None).label("group_name"), *sums)
    else:
        stmt = select(
            parts.c.code.label("group_code"), func.max(named.c.name).label("group_name"), *sums
        ).outerjoin(named, named.c.code == parts.c.code)
    return stmt.group_by(parts.c.code)


async def indicator_counts(
    session: AsyncSession,
    *,
    date_from: dt.date,
    date_to: dt.date,
    group_by: str,
    unit: str | None,
    domain: str | None,
) -> list[dict[str, Any]]:
    """The counts behind the scorecard indicators per group (`group_code`, `group_name`; one
    group with code None for group_by=none), in one statement; groups with no summary row are
    absent."""
    stmt = indicator_statement(date_from, date_to, group_by, Filters(unit, domain))
    return [
        {
            "group_code": row.group_code,
            "group_name": row.group_name,
            **{name: int(row[name]) for name in COUNT_NAMES},
        }
        for row in (await session.execute(stmt)).mappings()
    ]


def _interval_ends_until(day: dt.date, filters: Filters) -> Subquery:
    """The open-interval ends of handled dossiers up to the end of `day`: whole years from the
    yearly table, then the whole months of the last year, then the days of the last month (none
    of those when `day` closes a month or a year). Summed per group: the dossiers open, and open
    and overdue, then."""
    after = day + dt.timedelta(days=1)
    years_before = dt.date(after.year, 1, 1)
    months_before = after.replace(day=1)

    def part(table: Table, condition: ColumnElement[bool]) -> Select[Any]:
        stmt = select(table.c.domain_code, table.c.unit_code, table.c.open, table.c.overdue)
        return filters.apply(stmt.where(condition), table)

    parts = [part(stats_open_yearly, stats_open_yearly.c.year < years_before)]
    if years_before < months_before:
        months = stats_open_monthly.c.month
        parts.append(part(stats_open_monthly, and_(months >= years_before, months < months_before)))
    if months_before <= day:
        parts.append(part(stats_open_daily, stats_open_daily.c.day.between(months_before, day)))
    return union_all(*parts).subquery()


# The counters of the summaries, by name (migrations 0004, 0006, 0009).
SUMMARY_COUNTERS = {
    "received": RECEIVED_COUNTERS,
    "finished": FINISHED_COUNTERS,
    # Dossiers open (and of those overdue) at the end of the day before `from`, and of `to`.
    "carried": ("open",),
    "pending": ("open", "overdue"),
}


async def figure_totals(
    session: AsyncSession,
    *,
    date_from: dt.date,
    date_to: dt.date,
    filters: Filters,
    parts: Collection[str],
) -> dict[str, int]:
    """The summary counters of the asked `parts` (keys of `SUMMARY_COUNTERS`) summed over every
    group, as `<part>.<counter>` (e.g. `received.online`, `pending.overdue`): what the figures
    behind a list of dossiers are read from. One statement over the same summary rows as the
    reports, so the value equals theirs and costs the same whatever the number of dossiers."""

    def total(column: Any) -> Any:
        return func.coalesce(func.sum(column), 0)

    sums: list[Subquery] = []
    for part in sorted(parts):
        counters = SUMMARY_COUNTERS[part]
        rows = _part_rows(part, date_from, date_to, filters, counters)
        labelled = (total(rows.c[name]).label(f"{part}.{name}") for name in counters)
        sums.append(select(*labelled).subquery(f"{part}_sums"))
    if not sums:
        return {}
    # One row each: joined on true, not a cartesian product by accident.
    joined: Any = sums[0]
    for other in sums[1:]:
        joined = joined.join(other, true())
    row = (await session.execute(select(*sums).select_from(joined))).mappings().one()
    return {name: int(value) for name, value in row.items()}


async def coverage_counts(
    session: AsyncSession, *, unit_level: str | None, domain: str | None
) -> list[dict[str, Any]]:
    """Procedures, of which online-capable (level 3, 4) and fully online (4), per domain, with
    the domain's name and coverage target."""
    stmt = (
        select(
            Procedure.domain_code.label("domain_code"),
            func.max(Domain.name).label("domain_name"),
            func.max(Domain.coverage_target).label("coverage_target"),
            func.count().label("procedures"),
            func.count().filter(Procedure.service_level.in_((3, 4))).label("online_capable"),
            func.count().filter(Procedure.service_level == 4).label("full_online"),
        )
        .outerjoin(Domain, Domain.code == Procedure.domain_code)
        .group_by(Procedure.domain_code)
    )
    if unit_level is not None:
        stmt = stmt.where(Procedure.unit_levels.contains([unit_level]))
    if domain is not None:
        stmt = stmt.where(Procedure.domain_code == domain)
    return [dict(row._mapping) for row in await session.execute(stmt)]


_KNOWN = text(
    "SELECT EXISTS (SELECT FROM units WHERE code = CAST(:unit AS varchar)) AS unit_known,"
    " EXISTS (SELECT FROM domains WHERE code = CAST(:domain AS varchar)) AS domain_known"
)


async def filters_known(
    session: AsyncSession, unit: str | None, domain: str | None
) -> tuple[bool, bool]:
    """Whether the unit and the domain a report names are in the catalog (True when not named)."""
    if unit is None and domain is None:
        return True, True
    row = (await session.execute(_KNOWN, {"unit": unit, "domain": domain})).one()
    return unit is None or row.unit_known, domain is None or row.domain_known


async def scoring_table(session: AsyncSession) -> list[Indicator]:
    """The scoring table, in its order."""
    return list((await session.scalars(select(Indicator).order_by(Indicator.position))).all())


async def update_scoring(
    session: AsyncSession, indicator: str, values: dict[str, Any]
) -> Indicator | None:
    """Change a row of the scoring table; None when there is no such indicator."""
    row = await session.get(Indicator, indicator, with_for_update=True)
    if row is None:
        return None
    for name, value in values.items():
        setattr(row, name, value)
    row.updated_at = func.now()
    await session.flush()
    await session.refresh(row)
    return row
