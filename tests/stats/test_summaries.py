"""The summary tables that triggers keep equal a full recount over the stored dossiers."""

from __future__ import annotations

import datetime as dt

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.stats.repository import split_range
from tests.test_property import replay

RECOUNT_RECEIVED = """
    SELECT {period} AS p, domain_code, unit_code, count(*) AS total,
           count(*) FILTER (WHERE channel = 'online') AS online,
           count(*) FILTER (WHERE service_level IN (3, 4)) AS capable,
           count(*) FILTER (WHERE channel = 'online' AND service_level IN (3, 4)) AS capable_online,
           count(*) FILTER (WHERE channel = 'online' AND service_level = 4) AS full_online,
           count(*) FILTER (WHERE full_online_eligible) AS eligible,
           count(*) FILTER (WHERE full_online_eligible AND channel = 'online'
                                  AND service_level = 4) AS eligible_full_online,
           count(*) FILTER (WHERE fee_amount > 0) AS with_fee,
           count(*) FILTER (WHERE fee_amount > 0
                                  AND paid_online IN ('national_portal', 'local_gateway'))
               AS with_fee_paid_online,
           count(*) FILTER (WHERE digitized) AS digitized,
           count(*) FILTER (WHERE reused_data) AS reused_data
    FROM dossiers WHERE received_on IS NOT NULL AND status NOT IN ('submitted', 'refused')
    GROUP BY 1, 2, 3
"""
RECOUNT_FINISHED = """
    SELECT {period} AS p, domain_code, unit_code,
           count(*) FILTER (WHERE status <> 'withdrawn' AND effective_due_on IS NOT NULL
                                  AND ended_on < effective_due_on) AS early,
           count(*) FILTER (WHERE status = 'withdrawn' OR effective_due_on IS NULL
                                  OR ended_on = effective_due_on) AS on_time,
           count(*) FILTER (WHERE status <> 'withdrawn' AND effective_due_on IS NOT NULL
                                  AND ended_on > effective_due_on) AS late,
           count(*) FILTER (WHERE status IN ('finished', 'returned')) AS results,
           count(*) FILTER (WHERE status IN ('finished', 'returned') AND e_result) AS e_results,
           count(*) FILTER (WHERE channel = 'online') AS online_ended,
           count(*) FILTER (WHERE channel = 'online' AND (status = 'withdrawn'
                                  OR effective_due_on IS NULL OR ended_on <= effective_due_on))
               AS online_ended_in_time
    FROM dossiers
    WHERE ended_on IS NOT NULL AND status IN ('finished', 'returned', 'withdrawn', 'stopped')
    GROUP BY 1, 2, 3
"""
SUMMARY = "SELECT * FROM {table} WHERE {nonzero}"
OPEN_RECOUNT = """
    SELECT domain_code, unit_code, count(*) AS open,
           count(*) FILTER (WHERE effective_due_on < CAST(:day AS date)) AS overdue
    FROM dossiers
    WHERE status NOT IN ('submitted', 'refused')
      AND received_on <= CAST(:day AS date)
      AND (ended_on IS NULL OR ended_on > CAST(:day AS date))
    GROUP BY 1, 2
"""
OPEN_FROM_DAILY_ENDS = """
    SELECT domain_code, unit_code, sum(open) AS open, sum(overdue) AS overdue
    FROM stats_open_daily WHERE day <= CAST(:day AS date)
    GROUP BY 1, 2 HAVING sum(open) <> 0 OR sum(overdue) <> 0
"""
OPEN_FROM_MONTHLY_AND_DAILY_ENDS = """
    SELECT domain_code, unit_code, sum(open) AS open, sum(overdue) AS overdue
    FROM (
        SELECT domain_code, unit_code, open, overdue FROM stats_open_monthly
        WHERE month < date_trunc('month', CAST(:day AS date))::date
        UNION ALL
        SELECT domain_code, unit_code, open, overdue FROM stats_open_daily
        WHERE day BETWEEN date_trunc('month', CAST(:day AS date))::date AND CAST(:day AS date)
    ) AS ends
    GROUP BY 1, 2 HAVING sum(open) <> 0 OR sum(overdue) <> 0
"""
OPEN_FROM_YEARLY_MONTHLY_AND_DAILY_ENDS = """
    SELECT domain_code, unit_code, sum(open) AS open, sum(overdue) AS overdue
    FROM (
        SELECT domain_code, unit_code, open, overdue FROM stats_open_yearly
        WHERE year < date_trunc('year', CAST(:day AS date))::date
        UNION ALL
        SELECT domain_code, unit_code, open, overdue FROM stats_open_monthly
        WHERE month >= date_trunc('year', CAST(:day AS date))::date
          AND month < date_trunc('month', CAST(:day AS date))::date
        UNION ALL
        SELECT domain_code, unit_code, open, overdue FROM stats_open_daily
        WHERE day BETWEEN date_trunc('month', CAST(:day AS date))::date AND CAST(:day AS date)
    ) AS ends
    GROUP BY 1, 2 HAVING sum(open) <> 0 OR sum(overdue) <> 0
"""
YEARLY_FROM_MONTHLY = """
    SELECT date_trunc('year', month)::date, domain_code, unit_code, sum(open), sum(overdue)
    FROM stats_open_monthly GROUP BY 1, 2, 3 HAVING sum(open) <> 0 OR sum(overdue) <> 0
"""
OPEN_DAYS = [
    "2016-12-31",
    "2017-01-01",
    "2017-03-31",
    "2017-04-01",
    "2017-05-17",
    "2017-06-30",
    "2017-12-31",
]


async def rows(engine: AsyncEngine, sql: str) -> set[tuple]:
    async with engine.connect() as conn:
        return {tuple(r) for r in await conn.execute(text(sql))}


async def assert_summaries_equal_a_recount(engine: AsyncEngine) -> None:
    """Every summary table equals a recount over the stored dossiers."""
    for recount, day_col, counters in [
        (RECOUNT_RECEIVED, "received_on", "total <> 0"),
        (RECOUNT_FINISHED, "ended_on", "early + on_time + late <> 0"),
    ]:
        kind = "received" if day_col == "received_on" else "finished"
        expected_daily = await rows(engine, recount.format(period=day_col))
        expected_monthly = await rows(
            engine, recount.format(period=f"date_trunc('month', {day_col})::date")
        )
        assert expected_daily, "the stream produced rows to compare"
        assert (
            await rows(engine, SUMMARY.format(table=f"stats_{kind}_daily", nonzero=counters))
            == expected_daily
        )
        assert (
            await rows(engine, SUMMARY.format(table=f"stats_{kind}_monthly", nonzero=counters))
            == expected_monthly
        )
    # The yearly open-interval ends are the monthly ones by year (migration 0011).
    assert await rows(
        engine, SUMMARY.format(table="stats_open_yearly", nonzero="open <> 0 OR overdue <> 0")
    ) == (await rows(engine, YEARLY_FROM_MONTHLY))
    # Open-interval ends: summed up to a day, from the daily table alone and from the monthly
    # table plus the days of the last month, they give the dossiers open on that day.
    async with engine.connect() as conn:
        for iso in OPEN_DAYS:
            day = dt.date.fromisoformat(iso)
            open_rows = {tuple(r) for r in await conn.execute(text(OPEN_RECOUNT), {"day": day})}
            assert open_rows, f"the stream left dossiers open on {day}"
            for summed_sql in (
                OPEN_FROM_DAILY_ENDS,
                OPEN_FROM_MONTHLY_AND_DAILY_ENDS,
                OPEN_FROM_YEARLY_MONTHLY_AND_DAILY_ENDS,
            ):
                summed = {tuple(r) for r in await conn.execute(text(summed_sql), {"day": day})}
                assert summed == open_rows, (day, summed_sql)


@pytest.mark.parametrize("seed", [4, 5])
async def test_summaries_equal_a_recount_after_a_random_stream(
    api: httpx.AsyncClient, engine: AsyncEngine, seed: int
) -> None:
    await replay(api, seed)
    await assert_summaries_equal_a_recount(engine)


async def test_summaries_follow_direct_sql_writes(
    api: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    """A bulk load or a manual fix in SQL goes through the same triggers."""
    await replay(api, 6)
    async with engine.begin() as conn:
        await conn.execute(text("UPDATE dossiers SET channel = 'online' WHERE code LIKE '%1'"))
        await conn.execute(
            text(
                "UPDATE dossiers SET finished_at = NULL, ended_on = NULL, status = 'processing'"
                " WHERE code LIKE '%3'"
            )
        )
        await conn.execute(text("UPDATE dossiers SET paused_days = 3 WHERE code LIKE '%4'"))
        await conn.execute(
            text("UPDATE dossiers SET effective_due_on = due_on + 3 WHERE code LIKE '%4'")
        )
        await conn.execute(text("DELETE FROM dossiers WHERE code LIKE '%2'"))
    await assert_summaries_equal_a_recount(engine)


@pytest.mark.parametrize(
    ("date_from", "date_to", "months", "days"),
    [
        ("2017-01-01", "2017-12-31", ("2017-01-01", "2018-01-01"), []),
        (
            "2017-01-15",
            "2017-03-10",
            ("2017-02-01", "2017-03-01"),
            [("2017-01-15", "2017-01-31"), ("2017-03-01", "2017-03-10")],
        ),
        ("2017-05-31", "2017-06-01", None, [("2017-05-31", "2017-06-01")]),
        ("2017-02-01", "2017-02-28", ("2017-02-01", "2017-03-01"), []),
        ("2017-02-02", "2017-02-27", None, [("2017-02-02", "2017-02-27")]),
    ],
)
def test_split_range_covers_every_day_once(
    date_from: str, date_to: str, months: tuple | None, days: list
) -> None:
    d = dt.date.fromisoformat
    got_months, got_days = split_range(d(date_from), d(date_to))
    assert got_months == (None if months is None else (d(months[0]), d(months[1])))
    assert got_days == [(d(a), d(b)) for a, b in days]
