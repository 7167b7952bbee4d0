"""the handling clock: end date, paused days and effective due date on each dossier

Contract v2, section 4. Each dossier gets `ended_on`, `paused_days` and `effective_due_on`,
derived from all its logged snapshots (stale ones included) by `app.ingest.clock`, and the
summary triggers of 0004 count by them instead of `finished_on` and `due_on`: a dossier ends in
any ending status (withdrawn and stopped too, with or without a date), a withdrawn one counts as
on time, and a waiting dossier has no effective due date, so it is never overdue.

Stored dossiers get their clock from their logged snapshots, and every summary is recounted from
the dossiers with the new rules.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

from app.ingest.clock import CurrentDates, Snapshot, handling_clock
from app.migrate import revision_module

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SUMMARY_TABLES = (
    "stats_received_daily",
    "stats_received_monthly",
    "stats_finished_daily",
    "stats_finished_monthly",
    "stats_open_daily",
    "stats_open_monthly",
)

RECEIVED_EXPRESSIONS = {
    "total": "c.sign",
    "online": "c.sign * (c.channel = 'online')::int",
    "capable": "c.sign * (c.service_level IN (3, 4))::int",
    "capable_online": "c.sign * (c.channel = 'online' AND c.service_level IN (3, 4))::int",
    "full_online": "c.sign * (c.channel = 'online' AND c.service_level = 4)::int",
}
RECEIVED_WHERE = "c.received_on IS NOT NULL AND c.status NOT IN ('submitted', 'refused')"
# Ended dossiers by end date against the effective due date; withdrawn ones are on time.
_JUDGED = "c.status <> 'withdrawn' AND c.effective_due_on IS NOT NULL"
FINISHED_EXPRESSIONS = {
    "early": f"c.sign * ({_JUDGED} AND c.ended_on < c.effective_due_on)::int",
    "on_time": (
        "c.sign * (c.status = 'withdrawn' OR c.effective_due_on IS NULL"
        " OR c.ended_on = c.effective_due_on)::int"
    ),
    "late": f"c.sign * ({_JUDGED} AND c.ended_on > c.effective_due_on)::int",
}
FINISHED_WHERE = (
    "c.ended_on IS NOT NULL AND c.status IN ('finished', 'returned', 'withdrawn', 'stopped')"
)
# A counted dossier is open over [received_on, ended_on) and overdue from the day after its
# effective due date; each interval is stored as +1 at its start and -1 at its end.
OPEN_EXPRESSIONS = {"open": "c.sign * e.open", "overdue": "c.sign * e.overdue"}
_OVERDUE_FROM = "GREATEST(c.received_on, c.effective_due_on + 1)"
OPEN_SOURCE_SUFFIX = f"""
    CROSS JOIN LATERAL (VALUES
        (c.received_on, 1, 0),
        (c.ended_on, -1, 0),
        (CASE WHEN c.effective_due_on IS NOT NULL THEN {_OVERDUE_FROM} END, 0, 1),
        (CASE WHEN c.effective_due_on IS NOT NULL THEN c.ended_on END, 0, -1)
    ) AS e(day, open, overdue)
"""
OPEN_WHERE = f"""
    e.day IS NOT NULL
    AND c.status NOT IN ('submitted', 'refused')
    AND c.received_on IS NOT NULL
    AND (c.ended_on IS NULL OR c.ended_on > c.received_on)
    AND (e.overdue = 0 OR c.ended_on IS NULL OR c.ended_on > {_OVERDUE_FROM})
"""

SOURCES = {
    "insert": "SELECT 1 AS sign, * FROM new_rows",
    "delete": "SELECT -1 AS sign, * FROM old_rows",
    "update": "SELECT 1 AS sign, * FROM new_rows UNION ALL SELECT -1 AS sign, * FROM old_rows",
}
EMPTY_CHECKS = {
    "insert": "NOT EXISTS (SELECT FROM new_rows)",
    "delete": "NOT EXISTS (SELECT FROM old_rows)",
    "update": "NOT EXISTS (SELECT FROM new_rows)",
}
TRANSITIONS = {
    "insert": "REFERENCING NEW TABLE AS new_rows",
    "delete": "REFERENCING OLD TABLE AS old_rows",
    "update": "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows",
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
    ("stats_finished_daily", "c.ended_on", "day", FINISHED_EXPRESSIONS, FINISHED_WHERE, ""),
    (
        "stats_finished_monthly",
        "date_trunc('month', c.ended_on)::date",
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


def _deltas(source: str) -> list[str]:
    return [
        _apply_delta(source, table, period_sql, period, counters, where, joins)
        for table, period_sql, period, counters, where, joins in SUMMARIES
    ]


def trigger_function(operation: str, deltas: list[str]) -> str:
    """The statement-level trigger function of `operation` that applies `deltas` (later
    migrations pass their own summaries)."""
    body = "".join(deltas)
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


def _trigger_function(operation: str) -> str:
    return trigger_function(operation, _deltas(SOURCES[operation]))


def _drop_triggers() -> None:
    for operation in ("insert", "update", "delete"):
        op.execute(f"DROP TRIGGER dossiers_stats_{operation} ON dossiers")
        op.execute(f"DROP FUNCTION dossiers_stats_{operation}()")


def _create_triggers(trigger_function: Any) -> None:
    for operation in ("insert", "update", "delete"):
        op.execute(trigger_function(operation))
        op.execute(
            f"CREATE TRIGGER dossiers_stats_{operation} AFTER {operation.upper()} ON dossiers"
            f" {TRANSITIONS[operation]} FOR EACH STATEMENT"
            f" EXECUTE FUNCTION dossiers_stats_{operation}()"
        )


def _recount(deltas: list[str]) -> None:
    op.execute(f"TRUNCATE {', '.join(SUMMARY_TABLES)}")
    for statement in deltas:
        op.execute(statement)


_BATCH = 5000
_NEXT_DOSSIERS = sa.text(
    "SELECT code, status, occurred_at, due_at, finished_at, returned_at FROM dossiers"
    " WHERE code > :after ORDER BY code LIMIT :batch"
)
_SNAPSHOTS = sa.text(
    "SELECT dossier_code, occurred_at, payload -> 'dossier' ->> 'status' AS status"
    " FROM dossier_events WHERE dossier_code = ANY(CAST(:codes AS varchar[]))"
    " ORDER BY dossier_code, occurred_at, id"
)
_SET_CLOCKS = sa.text(
    """
    UPDATE dossiers SET ended_on = c.ended_on, paused_days = c.paused_days,
                        effective_due_on = c.effective_due_on
    FROM unnest(CAST(:codes AS varchar[]), CAST(:ended AS date[]), CAST(:paused AS integer[]),
                CAST(:effective AS date[])) AS c(code, ended_on, paused_days, effective_due_on)
    WHERE dossiers.code = c.code
    """
)


def _backfill_clocks() -> None:
    """Every stored dossier's clock from its logged snapshots, a batch of dossiers at a time."""
    connection = op.get_bind()
    after = ""
    while True:
        dossiers = connection.execute(_NEXT_DOSSIERS, {"after": after, "batch": _BATCH}).all()
        if not dossiers:
            return
        codes = [d.code for d in dossiers]
        logged: dict[str, list[Snapshot]] = {code: [] for code in codes}
        for row in connection.execute(_SNAPSHOTS, {"codes": codes}):
            logged[row.dossier_code].append(Snapshot(row.occurred_at, row.status))
        clocks = []
        for d in dossiers:
            # A dossier written without the log (a bulk load) has only its current state.
            current = CurrentDates(d.occurred_at, d.status, d.due_at, d.finished_at, d.returned_at)
            clocks.append(handling_clock(logged[d.code], current))
        connection.execute(
            _SET_CLOCKS,
            {
                "codes": codes,
                "ended": [c.ended_on for c in clocks],
                "paused": [c.paused_days for c in clocks],
                "effective": [c.effective_due_on for c in clocks],
            },
        )
        after = codes[-1]


def upgrade() -> None:
    op.add_column("dossiers", sa.Column("ended_on", sa.Date(), nullable=True))
    op.add_column(
        "dossiers",
        sa.Column("paused_days", sa.Integer(), server_default=sa.text("0"), nullable=False),
    )
    op.add_column("dossiers", sa.Column("effective_due_on", sa.Date(), nullable=True))
    _drop_triggers()
    _backfill_clocks()
    _recount(_deltas("SELECT 1 AS sign, * FROM dossiers"))
    _create_triggers(_trigger_function)


def downgrade() -> None:
    previous = revision_module("0004_stats_summaries.py")
    _drop_triggers()
    op.drop_column("dossiers", "effective_due_on")
    op.drop_column("dossiers", "paused_days")
    op.drop_column("dossiers", "ended_on")
    _recount(previous._deltas("SELECT 1 AS sign, * FROM dossiers"))
    _create_triggers(previous._trigger_function)
