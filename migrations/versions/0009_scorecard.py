"""the national scorecard: its inputs on each dossier, its counters in the summaries, its table

Contract v2, sections 4, 8 and 12.

- `dossiers` gains the scorecard inputs a snapshot carries (`fee_amount`, `paid_online`,
  `digitized`, `reused_data`, `e_result`) and `full_online_eligible`, its procedure's eligibility
  for fully online service, which ingest copies from the catalog and `PUT /v1/procedures` keeps
  in step. Stored dossiers get the defaults of an event that does not send the fields (no fee,
  not paid online, false), and the eligibility of their procedure.
- `procedures.full_online_eligible`: the catalog's choice; null follows the default (true exactly
  when the procedure's catalog level is 4).
- The receipt summaries count, besides what they counted, the dossiers of eligible procedures (and
  of those the fully online ones), those with fees (and of those the ones paid online), the
  digitised ones and those reusing digitised data; the end summaries count the dossiers ended as
  finished or returned (and of those the ones with an electronic result) and the online ones ended
  (and of those the ones ended early or on time). The triggers of 0006 are replaced by ones that
  keep every counter, and every summary is recounted.
- `indicators`: the scoring table (`max_points`, `full_marks_at` per indicator), seeded as the
  contract gives it; `PUT /v1/indicators/{indicator}` changes a row.
- A partial index finds the rare dossiers whose end date precedes their receipt (or that have no
  receipt date): the `on_time` indicator leaves those ended in a period but received after it out
  of its numerator, as they are not in its denominator.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from app.migrate import revision_module

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


_0006 = revision_module("0006_handling_clock.py")

_PAID_ONLINE = "c.paid_online IN ('national_portal', 'local_gateway')"
_IN_TIME = (
    "(c.status = 'withdrawn' OR c.effective_due_on IS NULL OR c.ended_on <= c.effective_due_on)"
)
RECEIVED_EXPRESSIONS = {
    **_0006.RECEIVED_EXPRESSIONS,
    "eligible": "c.sign * c.full_online_eligible::int",
    "eligible_full_online": (
        "c.sign * (c.full_online_eligible AND c.channel = 'online' AND c.service_level = 4)::int"
    ),
    "with_fee": "c.sign * (c.fee_amount > 0)::int",
    "with_fee_paid_online": f"c.sign * (c.fee_amount > 0 AND {_PAID_ONLINE})::int",
    "digitized": "c.sign * c.digitized::int",
    "reused_data": "c.sign * c.reused_data::int",
}
FINISHED_EXPRESSIONS = {
    **_0006.FINISHED_EXPRESSIONS,
    "results": "c.sign * (c.status IN ('finished', 'returned'))::int",
    "e_results": "c.sign * (c.status IN ('finished', 'returned') AND c.e_result)::int",
    "online_ended": "c.sign * (c.channel = 'online')::int",
    "online_ended_in_time": f"c.sign * (c.channel = 'online' AND {_IN_TIME})::int",
}
NEW_COUNTERS = {
    "received": [k for k in RECEIVED_EXPRESSIONS if k not in _0006.RECEIVED_EXPRESSIONS],
    "finished": [k for k in FINISHED_EXPRESSIONS if k not in _0006.FINISHED_EXPRESSIONS],
}
_EXPRESSIONS = {"received": RECEIVED_EXPRESSIONS, "finished": FINISHED_EXPRESSIONS}


def _kind(table: str) -> str:
    return table.split("_")[1]  # stats_received_daily → received


# The summaries of 0006 with the counters above.
SUMMARIES = [
    (table, period_sql, period, _EXPRESSIONS.get(_kind(table), counters), where, joins)
    for table, period_sql, period, counters, where, joins in _0006.SUMMARIES
]


def _deltas(source: str) -> list[str]:
    return [_0006._apply_delta(source, *summary) for summary in SUMMARIES]


def _trigger_function(operation: str) -> str:
    function: str = _0006.trigger_function(operation, _deltas(_0006.SOURCES[operation]))
    return function


# The scoring table of contract section 12, in its order.
INDICATOR_ROWS = [
    ("on_time", 1, 20, "1.0"),
    ("online_filing", 2, None, "0.5"),
    ("full_online", 3, 12, "1.0"),
    ("online_payment", 4, None, "1.0"),
    ("e_result", 5, 6, "1.0"),
    ("digitized", 6, 4, "0.8"),
    ("reused_data", 7, 4, "1.0"),
    ("online_on_time", 8, None, "1.0"),
]

_ELIGIBILITY = (
    "UPDATE dossiers SET full_online_eligible = true FROM procedures p"
    " WHERE p.code = dossiers.procedure_code"
    " AND COALESCE(p.full_online_eligible, p.service_level = 4)"
)


def upgrade() -> None:
    op.add_column(
        "dossiers",
        sa.Column("fee_amount", sa.Numeric(18, 2), server_default=sa.text("0"), nullable=False),
    )
    op.add_column(
        "dossiers",
        sa.Column("paid_online", sa.String(16), server_default=sa.text("'no'"), nullable=False),
    )
    for name in ("digitized", "reused_data", "e_result", "full_online_eligible"):
        op.add_column(
            "dossiers",
            sa.Column(name, sa.Boolean(), server_default=sa.text("false"), nullable=False),
        )
    op.create_check_constraint("fee_amount_not_negative", "dossiers", "fee_amount >= 0")
    op.create_check_constraint(
        "paid_online_known",
        "dossiers",
        "paid_online IN ('no', 'national_portal', 'local_gateway', 'other')",
    )
    op.create_index(
        "ix_dossiers_ended_before_received",
        "dossiers",
        ["ended_on"],
        postgresql_where=sa.text(
            "ended_on IS NOT NULL AND (received_on IS NULL OR ended_on < received_on)"
        ),
    )
    op.add_column("procedures", sa.Column("full_online_eligible", sa.Boolean(), nullable=True))
    for table in ("stats_received_daily", "stats_received_monthly"):
        for name in NEW_COUNTERS["received"]:
            op.add_column(
                table,
                sa.Column(name, sa.BigInteger(), server_default=sa.text("0"), nullable=False),
            )
    for table in ("stats_finished_daily", "stats_finished_monthly"):
        for name in NEW_COUNTERS["finished"]:
            op.add_column(
                table,
                sa.Column(name, sa.BigInteger(), server_default=sa.text("0"), nullable=False),
            )
    indicators = op.create_table(
        "indicators",
        sa.Column("indicator", sa.String(32), primary_key=True),
        sa.Column("position", sa.SmallInteger(), nullable=False),
        sa.Column("max_points", sa.Numeric(6, 2), nullable=True),
        sa.Column("full_marks_at", sa.Numeric(5, 4), nullable=False),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.CheckConstraint("max_points IS NULL OR max_points >= 0", name="max_points_range"),
        sa.CheckConstraint("full_marks_at > 0 AND full_marks_at <= 1", name="full_marks_range"),
    )
    op.bulk_insert(
        indicators,
        [
            {"indicator": i, "position": n, "max_points": p, "full_marks_at": f}
            for i, n, p, f in INDICATOR_ROWS
        ],
    )
    _0006._drop_triggers()
    op.execute(_ELIGIBILITY)
    _0006._recount(_deltas("SELECT 1 AS sign, * FROM dossiers"))
    _0006._create_triggers(_trigger_function)


def downgrade() -> None:
    _0006._drop_triggers()
    op.drop_table("indicators")
    for table in ("stats_finished_daily", "stats_finished_monthly"):
        for name in NEW_COUNTERS["finished"]:
            op.drop_column(table, name)
    for table in ("stats_received_daily", "stats_received_monthly"):
        for name in NEW_COUNTERS["received"]:
            op.drop_column(table, name)
    op.drop_column("procedures", "full_online_eligible")
    op.drop_index("ix_dossiers_ended_before_received", table_name="dossiers")
    for name in ("full_online_eligible", "e_result", "reused_data", "digitized", "paid_online"):
        op.drop_column("dossiers", name)
    op.drop_column("dossiers", "fee_amount")
    _0006._recount(_0006._deltas("SELECT 1 AS sign, * FROM dossiers"))
    _0006._create_triggers(_0006._trigger_function)
