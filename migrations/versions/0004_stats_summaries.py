"""statistics summaries kept exact by triggers

Summary tables hold the counts the reports add up, per (day or month, domain, unit): dossiers
received, dossiers finished (early, on time, late), and the ends of open intervals. A handled
dossier is open from its receipt day to its finish day, [received_on, finished_on), and overdue
from the day after its due day; each interval is stored as +1 at its start and -1 at its end, so
the dossiers open (or open and overdue) at the end of a day D are the sum of all deltas up to D.

Statement-level triggers on `dossiers` apply every change's delta (new rows minus old rows) inside
the writing transaction, so the summaries are exact and current the moment a write commits,
whoever writes (the API, a bulk load, a manual fix).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RECEIVED_COUNTERS = ("total", "online", "capable", "capable_online", "full_online")
FINISHED_COUNTERS = ("early", "on_time", "late")

# What each counter adds for one dossier (a row of the transition table `c`, with `sign`).
RECEIVED_EXPRESSIONS = {
    "total": "c.sign",
    "online": "c.sign * (c.channel = 'online')::int",
    "capable": "c.sign * (c.service_level IN (3, 4))::int",
    "capable_online": "c.sign * (c.channel = 'online' AND c.service_level IN (3, 4))::int",
    "full_online": "c.sign * (c.channel = 'online' AND c.service_level = 4)::int",
}
FINISHED_EXPRESSIONS = {
    "early": "c.sign * (c.due_on IS NOT NULL AND c.finished_on < c.due_on)::int",
    "on_time": "c.sign * (c.due_on IS NULL OR c.finished_on = c.due_on)::int",
    "late": "c.sign * (c.due_on IS NOT NULL AND c.finished_on > c.due_on)::int",
}
RECEIVED_WHERE = "c.received_on IS NOT NULL AND c.status NOT IN ('submitted', 'refused')"
# Interval ends of handled dossiers: (day, open delta, overdue delta), from a LATERAL list `e`.
OPEN_COUNTERS = ("open", "overdue")
OPEN_EXPRESSIONS = {"open": "c.sign * e.open", "overdue": "c.sign * e.overdue"}
_OVERDUE_FROM = "GREATEST(c.received_on, c.due_on + 1)"
OPEN_SOURCE_SUFFIX = f"""
    CROSS JOIN LATERAL (VALUES
        (c.received_on, 1, 0),
        (c.finished_on, -1, 0),
        (CASE WHEN c.due_on IS NOT NULL THEN {_OVERDUE_FROM} END, 0, 1),
        (CASE WHEN c.due_on IS NOT NULL THEN c.finished_on END, 0, -1)
    ) AS e(day, open, overdue)
"""
OPEN_WHERE = f"""
    e.day IS NOT NULL
    AND c.status NOT IN ('submitted', 'refused', 'withdrawn', 'stopped')
    AND c.received_on IS NOT NULL
    AND (c.finished_on IS NULL OR c.finished_on > c.received_on)
    AND (e.overdue = 0 OR c.finished_on IS NULL OR c.finished_on > {_OVERDUE_FROM})
"""
FINISHED_WHERE = "c.finished_on IS NOT NULL AND c.status IN ('finished', 'returned')"

SOURCES = {
    "insert": "SELECT 1 AS sign, * FROM new_rows",
    "delete": "SELECT -1 AS sign, * FROM old_rows",
    "update": "SELECT 1 AS sign, * FROM new_rows UNION ALL SELECT -1 AS sign, * FROM old_rows",
}


def _summary_table(name: str, period: str, counters: Sequence[str]) -> None:
    op.create_table(
        name,
        sa.Column(period, sa.Date(), nullable=False),
        sa.Column("domain_code", sa.String(64), nullable=False),
        sa.Column("unit_code", sa.String(64), nullable=False),
        *(sa.Column(c, sa.BigInteger(), nullable=False, server_default="0") for c in counters),
        sa.PrimaryKeyConstraint(period, "domain_code", "unit_code", name=f"pk_{name}"),
    )


def _apply_delta(
    source: str,
    table: str,
    period_sql: str,
    period: str,
    counters: dict[str, str],
    where: str,
    joins: str = "",
) -> str:
    names = list(counters)
    sums = ", ".join(f"sum({expr}) AS {name}" for name, expr in counters.items())
    nonzero = " OR ".join(f"{name} <> 0" for name in names)
    updates = ", ".join(f"{name} = t.{name} + excluded.{name}" for name in names)
    # Built only from the constants of this module, never from input.
    return f"""
        INSERT INTO {table} AS t ({period}, domain_code, unit_code, {", ".join(names)})
        SELECT * FROM (
            SELECT {period_sql} AS {period}, c.domain_code, c.unit_code, {sums}
            FROM ({source}) AS c {joins}
            WHERE {where}
            GROUP BY 1, 2, 3
        ) AS delta
        WHERE {nonzero}
        ORDER BY 1, 2, 3
        ON CONFLICT ({period}, domain_code, unit_code) DO UPDATE SET {updates};
    """  # noqa: S608


EMPTY_CHECKS = {
    "insert": "NOT EXISTS (SELECT FROM new_rows)",
    "delete": "NOT EXISTS (SELECT FROM old_rows)",
    "update": "NOT EXISTS (SELECT FROM new_rows)",
}


# (table, period expression, period column, counters, condition, extra FROM clause)
SUMMARIES: list[tuple[str, str, str, dict[str, str], str, str]] = [
    ("stats_received_daily", "c.received_on", "day", RECEIVED_EXPRESSIONS, RECEIVED_WHERE, ""),
    (
        "stats_received_monthly",
        "date_trunc('month', c.received_on)::date",
        "month",
        RECEIVED_EXPRESSIONS,
        RECEIVED_WHERE,
        "",
    ),
    ("stats_finished_daily", "c.finished_on", "day", FINISHED_EXPRESSIONS, FINISHED_WHERE, ""),
    (
        "stats_finished_monthly",
        "date_trunc('month', c.finished_on)::date",
        "month",
        FINISHED_EXPRESSIONS,
        FINISHED_WHERE,
        "",
    ),
    ("stats_open_daily", "e.day", "day", OPEN_EXPRESSIONS, OPEN_WHERE, OPEN_SOURCE_SUFFIX),
    (
        "stats_open_monthly",
        "date_trunc('month', e.day)::date",
        "month",
        OPEN_EXPRESSIONS,
        OPEN_WHERE,
        OPEN_SOURCE_SUFFIX,
    ),
]


def _deltas(source: str) -> list[str]:
    """One upsert per summary table, adding the delta of the rows `source` yields."""
    return [
        _apply_delta(source, table, period_sql, period, counters, where, joins)
        for table, period_sql, period, counters, where, joins in SUMMARIES
    ]


def _trigger_function(operation: str) -> str:
    source = SOURCES[operation]
    body = "".join(_deltas(source))
    return f"""
        CREATE FUNCTION dossiers_stats_{operation}() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            -- INSERT … ON CONFLICT fires both the insert and the update trigger, often with
            -- nothing for one of them.
            IF {EMPTY_CHECKS[operation]} THEN
                RETURN NULL;
            END IF;
            {body}
            RETURN NULL;
        END;
        $$;
    """


def upgrade() -> None:
    _summary_table("stats_received_daily", "day", RECEIVED_COUNTERS)
    _summary_table("stats_received_monthly", "month", RECEIVED_COUNTERS)
    _summary_table("stats_finished_daily", "day", FINISHED_COUNTERS)
    _summary_table("stats_finished_monthly", "month", FINISHED_COUNTERS)
    _summary_table("stats_open_daily", "day", OPEN_COUNTERS)
    _summary_table("stats_open_monthly", "month", OPEN_COUNTERS)

    for operation in ("insert", "update", "delete"):
        op.execute(_trigger_function(operation))
        transition = {
            "insert": "REFERENCING NEW TABLE AS new_rows",
            "delete": "REFERENCING OLD TABLE AS old_rows",
            "update": "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows",
        }[operation]
        op.execute(
            f"CREATE TRIGGER dossiers_stats_{operation} AFTER {operation.upper()} ON dossiers"
            f" {transition} FOR EACH STATEMENT EXECUTE FUNCTION dossiers_stats_{operation}()"
        )
    op.execute(
        """
        CREATE FUNCTION dossiers_stats_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            TRUNCATE stats_received_daily, stats_received_monthly,
                     stats_finished_daily, stats_finished_monthly,
                     stats_open_daily, stats_open_monthly;
            RETURN NULL;
        END;
        $$
        """
    )
    op.execute(
        "CREATE TRIGGER dossiers_stats_truncate AFTER TRUNCATE ON dossiers"
        " FOR EACH STATEMENT EXECUTE FUNCTION dossiers_stats_truncate()"
    )
    # Dossiers stored before this revision enter the summaries with the triggers' own delta.
    for statement in _deltas("SELECT 1 AS sign, * FROM dossiers"):
        op.execute(statement)


def downgrade() -> None:
    op.execute("DROP TRIGGER dossiers_stats_truncate ON dossiers")
    op.execute("DROP FUNCTION dossiers_stats_truncate()")
    for operation in ("insert", "update", "delete"):
        op.execute(f"DROP TRIGGER dossiers_stats_{operation} ON dossiers")
        op.execute(f"DROP FUNCTION dossiers_stats_{operation}()")
    for table in (
        "stats_open_monthly",
        "stats_open_daily",
        "stats_finished_monthly",
        "stats_finished_daily",
        "stats_received_monthly",
        "stats_received_daily",
    ):
        op.drop_table(table)
