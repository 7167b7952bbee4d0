"""The representative statistics questions: the API request, and the same question as a plain
SQL `GROUP BY` over `dossiers` (the baseline a read-time aggregator would run)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

COUNTED = "status NOT IN ('submitted', 'refused')"
SUBTREE = """unit_code IN (
    WITH RECURSIVE subtree(code) AS (
        SELECT code FROM units WHERE code = $3
        UNION SELECT u.code FROM units u JOIN subtree s ON u.parent_code = s.code)
    SELECT code FROM subtree)"""
RATIO_COUNTS = """count(*) FILTER (WHERE channel = 'online' AND service_level IN (3, 4)) AS online,
    count(*) FILTER (WHERE service_level IN (3, 4)) AS total"""

ONLINE_BY_DOMAIN = f"""
SELECT domain_code, {RATIO_COUNTS}
FROM dossiers WHERE received_on BETWEEN $1 AND $2 AND {COUNTED}
GROUP BY 1"""

ONLINE_BY_DOMAIN_UNIT = f"""
SELECT domain_code, {RATIO_COUNTS}
FROM dossiers WHERE received_on BETWEEN $1 AND $2 AND {COUNTED} AND {SUBTREE}
GROUP BY 1"""

ONLINE_BY_UNIT_QUARTER = f"""
SELECT to_char(received_on, 'YYYY-"Q"Q') AS period, unit_code, {RATIO_COUNTS}
FROM dossiers WHERE received_on BETWEEN $1 AND $2 AND {COUNTED}
GROUP BY 1, 2"""

# Report 06 by the contract's column rules (section 9 v2), over the stored handling clock.
_OPEN_AT_END = "received_on <= $2 AND (ended_on IS NULL OR ended_on > $2)"
_ENDED_IN = "ended_on BETWEEN $1 AND $2"
_JUDGED = "status <> 'withdrawn' AND effective_due_on IS NOT NULL"
REPORT_06 = f"""
SELECT domain_code,
    count(*) FILTER (WHERE received_on BETWEEN $1 AND $2 AND channel = 'online') AS received_online,
    count(*) FILTER (WHERE received_on BETWEEN $1 AND $2 AND channel <> 'online') AS received_offline,
    count(*) FILTER (WHERE received_on < $1 AND (ended_on IS NULL OR ended_on >= $1)) AS carried_over,
    count(*) FILTER (WHERE {_ENDED_IN} AND {_JUDGED} AND ended_on < effective_due_on) AS finished_early,
    count(*) FILTER (WHERE {_ENDED_IN} AND NOT ({_JUDGED} AND ended_on <> effective_due_on)) AS finished_on_time,
    count(*) FILTER (WHERE {_ENDED_IN} AND {_JUDGED} AND ended_on > effective_due_on) AS finished_late,
    count(*) FILTER (WHERE {_OPEN_AT_END} AND (effective_due_on IS NULL OR effective_due_on >= $2)) AS pending_on_time,
    count(*) FILTER (WHERE {_OPEN_AT_END} AND effective_due_on < $2) AS pending_overdue
FROM dossiers WHERE {COUNTED} AND {SUBTREE}
GROUP BY 1"""

# The dossiers behind a figure (GET /v1/dossiers, first page): the baseline counts the same
# dossiers with a plain count(*) over `dossiers`; the API's `count` must equal it.
_SUBTREE_2 = SUBTREE.replace("$3", "$2")
LIST_PENDING_OVERDUE = f"""
SELECT count(*) FROM dossiers
WHERE {COUNTED} AND {_SUBTREE_2} AND received_on <= $1 AND (ended_on IS NULL OR ended_on > $1)
  AND effective_due_on < $1"""
LIST_RECEIVED_ONLINE = f"""
SELECT count(*) FROM dossiers
WHERE {COUNTED} AND received_on BETWEEN $1 AND $2 AND channel = 'online'"""
LIST_FINISHED_LATE = f"""
SELECT count(*) FROM dossiers
WHERE status IN ('finished', 'returned', 'withdrawn', 'stopped') AND {_ENDED_IN} AND {_JUDGED}
  AND ended_on > effective_due_on AND {SUBTREE}"""
LIST_CARRIED_OVER = f"""
SELECT count(*) FROM dossiers
WHERE {COUNTED} AND {_SUBTREE_2} AND received_on < $1 AND (ended_on IS NULL OR ended_on >= $1)"""

# The scorecard (GET /v1/stats/indicators, group_by=none): the same numerators and denominators
# counted in one pass over `dossiers`.
_IN_TIME = "(status = 'withdrawn' OR effective_due_on IS NULL OR ended_on <= effective_due_on)"
_RECEIVED_IN = "received_on BETWEEN $1 AND $2"
INDICATORS = f"""
SELECT
    count(*) FILTER (WHERE {_RECEIVED_IN} OR (received_on < $1 AND (ended_on IS NULL OR ended_on >= $1)))
        AS "on_time.denominator",
    count(*) FILTER (WHERE ({_RECEIVED_IN} OR (received_on < $1 AND (ended_on IS NULL OR ended_on >= $1)))
        AND ((ended_on BETWEEN $1 AND $2 AND {_IN_TIME})
             OR ({_OPEN_AT_END} AND (effective_due_on IS NULL OR effective_due_on >= $2))))
        AS "on_time.numerator",
    count(*) FILTER (WHERE {_RECEIVED_IN}) AS "online_filing.denominator",
    count(*) FILTER (WHERE {_RECEIVED_IN} AND channel = 'online') AS "online_filing.numerator",
    count(*) FILTER (WHERE {_RECEIVED_IN} AND full_online_eligible) AS "full_online.denominator",
    count(*) FILTER (WHERE {_RECEIVED_IN} AND digitized) AS "digitized.numerator",
    count(*) FILTER (WHERE {_ENDED_IN} AND status IN ('finished', 'returned'))
        AS "e_result.denominator",
    count(*) FILTER (WHERE {_ENDED_IN} AND channel = 'online') AS "online_on_time.denominator",
    count(*) FILTER (WHERE {_ENDED_IN} AND channel = 'online' AND {_IN_TIME})
        AS "online_on_time.numerator"
FROM dossiers WHERE {COUNTED} AND {SUBTREE}"""
INDICATOR_FIGURES = (
    "on_time.denominator",
    "on_time.numerator",
    "online_filing.denominator",
    "online_filing.numerator",
    "full_online.denominator",
    "digitized.numerator",
    "e_result.denominator",
    "online_on_time.denominator",
    "online_on_time.numerator",
)

REPORT_06_COLUMNS = (
    "received_online",
    "received_offline",
    "carried_over",
    "finished_early",
    "finished_on_time",
    "finished_late",
    "pending_on_time",
    "pending_overdue",
)


@dataclass(frozen=True)
class Question:
    key: str
    label: str
    path: str
    sql: str
    args: tuple[Any, ...]
    kind: str  # "ratio", "report06" or "list": how to compare the API's answer with the SQL rows
    target_p95_ms: float
    target_speedup: float | None


def _d(s: str) -> dt.date:
    return dt.date.fromisoformat(s)


QUESTIONS: list[Question] = [
    Question(
        "ratio_year_domain",
        "online-ratio: year 2024 by domain",
        "/v1/stats/online-ratio?from=2024-01-01&to=2024-12-31",
        ONLINE_BY_DOMAIN,
        (_d("2024-01-01"), _d("2024-12-31")),
        "ratio",
        10.0,
        50.0,
    ),
    Question(
        "ratio_month_domain_district",
        "online-ratio: 2024-03 by domain, unit 282",
        "/v1/stats/online-ratio?from=2024-03-01&to=2024-03-31&unit=282",
        ONLINE_BY_DOMAIN_UNIT,
        (_d("2024-03-01"), _d("2024-03-31"), "282"),
        "ratio",
        10.0,
        50.0,
    ),
    Question(
        "ratio_year_unit_quarter",
        "online-ratio: 2024 by unit by quarter",
        "/v1/stats/online-ratio?from=2024-01-01&to=2024-12-31&group_by=unit&period=quarter",
        ONLINE_BY_UNIT_QUARTER,
        (_d("2024-01-01"), _d("2024-12-31")),
        "ratio",
        10.0,
        50.0,
    ),
    Question(
        "report06_quarter_district",
        "report 06: 2024-Q2, unit 282",
        "/v1/stats/report-06?from=2024-04-01&to=2024-06-30&unit=282",
        REPORT_06,
        (_d("2024-04-01"), _d("2024-06-30"), "282"),
        "report06",
        300.0,
        None,
    ),
    Question(
        "indicators_year_district",
        "indicators: 2024, unit 282",
        "/v1/stats/indicators?from=2024-01-01&to=2024-12-31&unit=282",
        INDICATORS,
        (_d("2024-01-01"), _d("2024-12-31"), "282"),
        "indicators",
        50.0,
        None,
    ),
    Question(
        "list_pending_overdue_commune",
        "dossiers: pending_overdue, 2024-Q1, unit 10444, first page",
        "/v1/dossiers?figure=pending_overdue&from=2024-01-01&to=2024-03-31&unit=10444",
        LIST_PENDING_OVERDUE,
        (_d("2024-03-31"), "10444"),
        "list",
        50.0,
        None,
    ),
    Question(
        "list_received_online_year",
        "dossiers: received_online, 2024, all units, first page",
        "/v1/dossiers?figure=received_online&from=2024-01-01&to=2024-12-31",
        LIST_RECEIVED_ONLINE,
        (_d("2024-01-01"), _d("2024-12-31")),
        "list",
        50.0,
        None,
    ),
    Question(
        "list_finished_late_month",
        "dossiers: finished_late, 2024-03, unit 282, first page",
        "/v1/dossiers?figure=finished_late&from=2024-03-01&to=2024-03-31&unit=282",
        LIST_FINISHED_LATE,
        (_d("2024-03-01"), _d("2024-03-31"), "282"),
        "list",
        50.0,
        None,
    ),
    Question(
        "list_carried_over_quarter",
        "dossiers: carried_over, 2024-Q2, unit 282, first page",
        "/v1/dossiers?figure=carried_over&from=2024-04-01&to=2024-06-30&unit=282",
        LIST_CARRIED_OVER,
        (_d("2024-04-01"), "282"),
        "list",
        50.0,
        None,
    ),
]


def api_overall(kind: str, body: dict[str, Any]) -> dict[str, int]:
    """The API answer's overall counts (a list: its `count`)."""
    if kind == "list":
        return {"count": body["count"]}
    if kind == "indicators":
        values = {v["indicator"]: v for v in body["overall"]["indicators"]}
        return {f: values[f.split(".")[0]][f.split(".")[1]] for f in INDICATOR_FIGURES}
    overall = body["overall"]
    if kind == "ratio":
        return {"online": overall["online"], "total": overall["total"]}
    return {c: overall[c] for c in REPORT_06_COLUMNS}


def sql_overall(kind: str, rows: list[Any]) -> dict[str, int]:
    """The plain query's rows summed the same way."""
    if kind == "list":
        return {"count": rows[0]["count"]}
    if kind == "indicators":
        return {f: rows[0][f] for f in INDICATOR_FIGURES}
    columns = ("online", "total") if kind == "ratio" else REPORT_06_COLUMNS
    return {c: sum(r[c] for r in rows) for c in columns}
