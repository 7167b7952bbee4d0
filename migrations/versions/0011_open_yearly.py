"""open-interval ends by year: "open at the end of a day" reads a few rows per year of history

Pending and carried-over dossiers (report 06, the `on_time` indicator, the lists behind them) are
sums of open-interval ends up to a day. Until now that sum read every month of history from
`stats_open_monthly` and the days of the last month from `stats_open_daily`: at ten years of
history, some 120 rows per (domain, unit) group for each of the two days a report needs.
`stats_open_yearly` holds the same ends by year, kept by the same statement-level triggers, so
the sum reads whole years, then the whole months of the last year, then its last days (none of
those when the day closes a month or a year, as report periods do).

The yearly rows are the monthly ones summed, so no dossier is recounted; the triggers are rebuilt
with one more summary. Writes pay one more upsert per batch for the open intervals it moves.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from app.migrate import revision_module

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


_0006 = revision_module("0006_handling_clock.py")
_0009 = revision_module("0009_scorecard.py")

# The summaries of 0009, and the open-interval ends by year.
SUMMARIES = [
    *_0009.SUMMARIES,
    (
        "stats_open_yearly",
        "date_trunc('year', e.day)::date",
        "year",
        _0006.OPEN_EXPRESSIONS,
        _0006.OPEN_WHERE,
        _0006.OPEN_SOURCE_SUFFIX,
    ),
]


def _deltas(source: str) -> list[str]:
    return [_0006._apply_delta(source, *summary) for summary in SUMMARIES]


def _trigger_function(operation: str) -> str:
    function: str = _0006.trigger_function(operation, _deltas(_0006.SOURCES[operation]))
    return function


def _truncate_function(tables: Sequence[str]) -> str:
    """`TRUNCATE dossiers` empties the summaries too (the trigger of 0004)."""
    return f"""
        CREATE OR REPLACE FUNCTION dossiers_stats_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            TRUNCATE {", ".join(tables)};
            RETURN NULL;
        END;
        $$
    """


def upgrade() -> None:
    op.create_table(
        "stats_open_yearly",
        sa.Column("year", sa.Date(), primary_key=True),
        sa.Column("domain_code", sa.String(64), primary_key=True),
        sa.Column("unit_code", sa.String(64), primary_key=True),
        sa.Column("open", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("overdue", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
    )
    _0006._drop_triggers()
    op.execute(
        """
        INSERT INTO stats_open_yearly (year, domain_code, unit_code, open, overdue)
        SELECT date_trunc('year', month)::date, domain_code, unit_code, sum(open), sum(overdue)
        FROM stats_open_monthly
        GROUP BY 1, 2, 3
        HAVING sum(open) <> 0 OR sum(overdue) <> 0
        """
    )
    _0006._create_triggers(_trigger_function)
    op.execute(_truncate_function([*_0006.SUMMARY_TABLES, "stats_open_yearly"]))


def downgrade() -> None:
    op.execute(_truncate_function(_0006.SUMMARY_TABLES))
    _0006._drop_triggers()
    op.drop_table("stats_open_yearly")
    _0006._create_triggers(_0009._trigger_function)
