"""A brute-force model of the contract, written independently of the service's SQL.

It replays an event stream the way the contract describes (newest `occurred_at` wins, later
arrival wins ties, resends are duplicates) and counts figures by looping over every dossier."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from typing import Any
from zoneinfo import ZoneInfo

VN = ZoneInfo("Asia/Ho_Chi_Minh")


def parse(ts: str | None) -> dt.datetime | None:
    return None if ts is None else dt.datetime.fromisoformat(ts.replace("Z", "+00:00"))


def local_day(ts: str | None) -> dt.date | None:
    moment = parse(ts)
    return None if moment is None else moment.astimezone(VN).date()


ENDING = ("finished", "returned", "withdrawn", "stopped")
WAITING = ("supplement_requested", "fees_due")


@dataclass(frozen=True)
class Clock:
    ended_on: dt.date | None
    paused_days: int
    effective_due_on: dt.date | None


def clock(log: list[tuple[dt.datetime, int, str]], state: dict[str, Any]) -> Clock:
    """The handling clock of contract section 4, from every logged snapshot
    (occurred_at, arrival number, status) and the state in force."""
    ordered = sorted(log, key=lambda entry: (entry[0], entry[1]))
    assert ordered[-1][2] == state["status"], "the newest snapshot is the state in force"
    days = [at.astimezone(VN).date() for at, _, _ in ordered]
    waiting = [status in WAITING for _, _, status in ordered]
    paused = 0
    i = 0
    while i < len(ordered):
        if not waiting[i]:
            i += 1
            continue
        j = i
        while j < len(ordered) and waiting[j]:
            j += 1
        if j < len(ordered):  # a run counts once a snapshot follows it
            paused += (days[j] - days[i]).days
        i = j
    ended_on = None
    if state["status"] in ENDING:
        ended_on = local_day(state["finished_at"]) or local_day(state.get("returned_at"))
        if ended_on is None:
            first = len(ordered) - 1
            while first > 0 and ordered[first - 1][2] in ENDING:
                first -= 1
            ended_on = days[first]
    due = local_day(state["due_at"])
    effective = None
    if due is not None and state["status"] not in WAITING:
        effective = due + dt.timedelta(days=paused)
    return Clock(ended_on, paused, effective)


@dataclass
class Model:
    """Current state per dossier, replayed from the events in arrival order, and every
    snapshot logged (stale ones included) with its arrival number."""

    states: dict[str, dict[str, Any]] = field(default_factory=dict)
    occurred: dict[str, dt.datetime] = field(default_factory=dict)
    seen: dict[str, dict[str, Any]] = field(default_factory=dict)
    logs: dict[str, list[tuple[dt.datetime, int, str]]] = field(
        default_factory=lambda: defaultdict(list)
    )
    arrivals: int = 0
    # Each procedure's catalog level: the level of the first event (not a resend) naming it.
    procedure_levels: dict[str, int] = field(default_factory=dict)

    def clocks(self) -> dict[str, Clock]:
        return {code: clock(self.logs[code], state) for code, state in self.states.items()}

    def states_with_clock(self) -> list[dict[str, Any]]:
        clocks = self.clocks()
        return [{**state, "clock": clocks[code]} for code, state in self.states.items()]

    def send(self, events: list[dict[str, Any]]) -> dict[str, int]:
        """Apply one request; returns the counts the service must answer."""
        counts = {"applied": 0, "stale": 0, "duplicates": 0}
        for e in events:
            if e["event_id"] in self.seen:
                assert self.seen[e["event_id"]] == e, "generator never reuses ids for new content"
                counts["duplicates"] += 1
                continue
            self.seen[e["event_id"]] = e
            self.procedure_levels.setdefault(
                e["dossier"]["procedure_code"], level(e["dossier"]["service_level"])
            )
            code = e["dossier"]["code"]
            at = parse(e["occurred_at"])
            assert at is not None
            self.arrivals += 1
            self.logs[code].append((at, self.arrivals, e["dossier"]["status"]))
            if code not in self.occurred or at >= self.occurred[code]:
                self.occurred[code] = at
                self.states[code] = e["dossier"]
                counts["applied"] += 1
            else:
                counts["stale"] += 1
        return counts


LEVEL_NAMES = {"offline": 2, "partial": 3, "full": 4}


def level(value: int | str) -> int:
    """A service level sent as a number or by its Decree 42/2022 name."""
    return LEVEL_NAMES[value] if isinstance(value, str) else value


def subtree(parents: dict[str, str | None], root: str) -> set[str]:
    found = {root}
    changed = True
    while changed:
        changed = False
        for code, parent in parents.items():
            if parent in found and code not in found:
                found.add(code)
                changed = True
    return found


def period_label(day: dt.date, period: str) -> str | None:
    if period == "month":
        return f"{day.year}-{day.month:02d}"
    if period == "quarter":
        return f"{day.year}-Q{(day.month - 1) // 3 + 1}"
    if period == "year":
        return str(day.year)
    return None


def online_ratio(
    states: list[dict[str, Any]],
    *,
    date_from: dt.date,
    date_to: dt.date,
    basis: str,
    group_by: str,
    period: str,
    unit_codes: set[str] | None,
    domain: str | None,
    targets: dict[str, Decimal],
) -> dict[str, Any]:
    """Rows and overall of the online-ratio report, by looping over every dossier."""
    groups: dict[tuple[str | None, str | None], list[int]] = defaultdict(lambda: [0, 0])
    for d in states:
        day = local_day(d["received_at"])
        if day is None or not date_from <= day <= date_to:
            continue
        if d["status"] in ("submitted", "refused"):
            continue
        if unit_codes is not None and d["unit_code"] not in unit_codes:
            continue
        if domain is not None and d["domain_code"] != domain:
            continue
        online = d["channel"] == "online"
        capable = level(d["service_level"]) in (3, 4)
        if basis == "online_capable":
            num, den = online and capable, capable
        elif basis == "all":
            num, den = online, True
        else:
            num, den = online and level(d["service_level"]) == 4, True
        group = {"domain": d["domain_code"], "unit": d["unit_code"]}.get(group_by)
        key = (period_label(day, period), group)
        groups[key][0] += int(num)
        groups[key][1] += int(den)
    rows = []
    for (label, group), (online_count, total) in sorted(
        groups.items(), key=lambda kv: (kv[0][0] or "", kv[0][1] or "")
    ):
        if total == 0:
            continue
        row: dict[str, Any] = {
            "period": label,
            "online": online_count,
            "total": total,
            "target": None,
            "meets_target": None,
        }
        if group_by == "domain":
            target = targets.get(group, Decimal("0.2"))  # type: ignore[arg-type]
            row.update(
                domain_code=group,
                target=float(target),
                meets_target=Fraction(online_count, total) >= Fraction(target),
            )
        elif group_by == "unit":
            row["unit_code"] = group
        rows.append(row)
    online_sum = sum(r["online"] for r in rows)
    total_sum = sum(r["total"] for r in rows)
    return {"rows": rows, "overall": {"online": online_sum, "total": total_sum}}


REPORT06_COUNTED = (
    "received_online",
    "received_offline",
    "carried_over",
    "finished_early",
    "finished_on_time",
    "finished_late",
    "pending_on_time",
    "pending_overdue",
)


LEVEL_ORDER = {"province": 0, "district": 1, "commune": 2}


def report06(
    states: list[dict[str, Any]],
    *,
    date_from: dt.date,
    date_to: dt.date,
    group_by: str,
    unit_codes: set[str] | None,
    domain: str | None,
    unit_levels: dict[str, str | None],
) -> dict[str, Any]:
    """Biểu số 06 v2 by looping over every dossier (each with its `clock`), one column at a
    time, as the contract words it. With group_by=domain a group is a (unit level, domain) pair."""
    groups: dict[tuple[str | None, str], dict[str, int]] = defaultdict(
        lambda: dict.fromkeys(REPORT06_COUNTED, 0)
    )
    for d in states:
        if d["status"] in ("submitted", "refused"):
            continue
        if unit_codes is not None and d["unit_code"] not in unit_codes:
            continue
        if domain is not None and d["domain_code"] != domain:
            continue
        if group_by == "domain":
            key = (unit_levels.get(d["unit_code"]), d["domain_code"])
        else:
            key = (None, d["unit_code"])
        counts = groups[key]
        received = local_day(d["received_at"])
        ended = d["clock"].ended_on
        due = d["clock"].effective_due_on
        if received is not None and date_from <= received <= date_to:
            counts["received_online" if d["channel"] == "online" else "received_offline"] += 1
        if received is not None and received < date_from:
            if ended is None or ended >= date_from:
                counts["carried_over"] += 1
        if ended is not None and date_from <= ended <= date_to:
            if d["status"] == "withdrawn" or due is None or ended == due:
                counts["finished_on_time"] += 1
            elif ended < due:
                counts["finished_early"] += 1
            else:
                counts["finished_late"] += 1
        if received is not None and received <= date_to:
            if ended is None or ended > date_to:
                if due is not None and due < date_to:
                    counts["pending_overdue"] += 1
                else:
                    counts["pending_on_time"] += 1
    rows = []
    for level, code in sorted(groups, key=lambda k: (LEVEL_ORDER.get(k[0], 3), k[1])):  # type: ignore[arg-type]
        counts = groups[(level, code)]
        if not any(counts.values()):
            continue
        row: dict[str, Any] = {"code": code, **with_report06_totals(counts)}
        if group_by == "domain":
            row["unit_level"] = level
        rows.append(row)
    overall = with_report06_totals({k: sum(r[k] for r in rows) for k in REPORT06_COUNTED})
    return {"rows": rows, "overall": overall}


def with_report06_totals(c: dict[str, int]) -> dict[str, int]:
    return {
        **c,
        "received_total": c["carried_over"] + c["received_online"] + c["received_offline"],
        "finished_total": c["finished_early"] + c["finished_on_time"] + c["finished_late"],
        "pending_total": c["pending_on_time"] + c["pending_overdue"],
    }


# The scoring table of contract section 12: (indicator, max_points, full_marks_at).
SCORING = [
    ("on_time", 20, Fraction(1)),
    ("online_filing", None, Fraction(1, 2)),
    ("full_online", 12, Fraction(1)),
    ("online_payment", None, Fraction(1)),
    ("e_result", 6, Fraction(1)),
    ("digitized", 4, Fraction(4, 5)),
    ("reused_data", 4, Fraction(1)),
    ("online_on_time", None, Fraction(1)),
]


def indicators(
    states: list[dict[str, Any]],
    *,
    date_from: dt.date,
    date_to: dt.date,
    group_by: str,
    unit_codes: set[str] | None,
    domain: str | None,
    eligible: dict[str, bool],
) -> dict[str, Any]:
    """The scorecard by looping over every dossier (each with its `clock`), as the contract
    words each numerator and denominator: {group code: {indicator: (numerator, denominator)}}
    and the same summed over all groups under "overall". `eligible`: each procedure's
    eligibility for fully online service."""
    groups: dict[str | None, dict[str, list[int]]] = defaultdict(
        lambda: {name: [0, 0] for name, _, _ in SCORING}
    )

    def count(key: str | None, name: str, numerator: bool) -> None:
        groups[key][name][1] += 1
        groups[key][name][0] += int(numerator)

    for d in states:
        if d["status"] in ("submitted", "refused"):
            continue
        if unit_codes is not None and d["unit_code"] not in unit_codes:
            continue
        if domain is not None and d["domain_code"] != domain:
            continue
        key = {"domain": d["domain_code"], "unit": d["unit_code"]}.get(group_by)
        received_on = local_day(d["received_at"])
        ended, due = d["clock"].ended_on, d["clock"].effective_due_on
        received = received_on is not None and date_from <= received_on <= date_to
        ended_in_period = ended is not None and date_from <= ended <= date_to
        in_time = d["status"] == "withdrawn" or due is None or (ended is not None and ended <= due)
        online = d["channel"] == "online"
        # Report 06: received_total, and of it finished early / on time or pending on time.
        carried = received_on is not None and received_on < date_from
        carried = carried and (ended is None or ended >= date_from)
        if received or carried:
            pending = received_on is not None and received_on <= date_to
            pending = pending and (ended is None or ended > date_to)
            pending_on_time = pending and not (due is not None and due < date_to)
            count(key, "on_time", (ended_in_period and in_time) or pending_on_time)
        if received:
            count(key, "online_filing", online)
            count(key, "digitized", bool(d.get("digitized")))
            count(key, "reused_data", bool(d.get("reused_data")))
            if eligible[d["procedure_code"]]:
                count(key, "full_online", online and level(d["service_level"]) == 4)
            if Decimal(str(d.get("fee_amount") or 0)) > 0:
                paid = d.get("paid_online") in ("national_portal", "local_gateway")
                count(key, "online_payment", paid)
        if ended_in_period:
            if d["status"] in ("finished", "returned"):
                count(key, "e_result", bool(d.get("e_result")))
            if online:
                count(key, "online_on_time", in_time)
    result: dict[str | None, dict[str, tuple[int, int]]] = {
        key: {name: (v[0], v[1]) for name, v in found.items()} for key, found in groups.items()
    }
    overall = {
        name: (
            sum(found[name][0] for found in result.values()),
            sum(found[name][1] for found in result.values()),
        )
        for name, _, _ in SCORING
    }
    return {"groups": result, "overall": overall}


def points(name: str, numerator: int, denominator: int) -> Fraction | None:
    """An indicator's points by the contract's default scoring table."""
    _, max_points, full_marks_at = next(row for row in SCORING if row[0] == name)
    if max_points is None or denominator == 0:
        return None
    return max_points * min(Fraction(1), Fraction(numerator, denominator) / full_marks_at)


def figure_dossiers(
    states: list[dict[str, Any]],
    figure: str,
    *,
    date_from: dt.date,
    date_to: dt.date,
    basis: str = "online_capable",
    eligible: dict[str, bool] | None = None,
) -> set[str]:
    """The codes of the dossiers (each with its `clock`) that a figure counts, one dossier at a
    time, as contract sections 6, 9 and 12 word it; `eligible`: each procedure's eligibility for
    fully online service."""
    found = set()
    for d in states:
        if d["status"] in ("submitted", "refused"):
            continue
        received = local_day(d["received_at"])
        ended = d["clock"].ended_on
        due = d["clock"].effective_due_on
        got_in_period = received is not None and date_from <= received <= date_to
        carried = (
            received is not None and received < date_from and (ended is None or ended >= date_from)
        )
        ended_in_period = ended is not None and date_from <= ended <= date_to
        on_time = d["status"] == "withdrawn" or due is None or ended == due
        pending = (
            received is not None and received <= date_to and (ended is None or ended > date_to)
        )
        overdue = due is not None and due < date_to
        online = d["channel"] == "online"
        lvl = level(d["service_level"])
        in_time = ended_in_period and (d["status"] == "withdrawn" or due is None or ended <= due)
        fee = Decimal(str(d.get("fee_amount") or 0))
        paid = d.get("paid_online") in ("national_portal", "local_gateway")
        result = ended_in_period and d["status"] in ("finished", "returned")
        is_eligible = bool(eligible and eligible.get(d["procedure_code"]))
        member = {
            "received_online": got_in_period and online,
            "received_offline": got_in_period and not online,
            "carried_over": carried,
            "received_total": got_in_period or carried,
            "finished_early": ended_in_period and not on_time and ended < due,
            "finished_on_time": ended_in_period and on_time,
            "finished_late": ended_in_period and not on_time and ended > due,
            "finished_total": ended_in_period,
            "pending_on_time": pending and not overdue,
            "pending_overdue": pending and overdue,
            "pending_total": pending,
            "online": got_in_period
            and online
            and {"online_capable": lvl in (3, 4), "all": True, "full_online": lvl == 4}[basis],
            "total": got_in_period and (lvl in (3, 4) if basis == "online_capable" else True),
            "on_time.numerator": (got_in_period or carried)
            and (in_time or (pending and not overdue)),
            "on_time.denominator": got_in_period or carried,
            "online_filing.numerator": got_in_period and online,
            "online_filing.denominator": got_in_period,
            "full_online.numerator": got_in_period and is_eligible and online and lvl == 4,
            "full_online.denominator": got_in_period and is_eligible,
            "online_payment.numerator": got_in_period and fee > 0 and paid,
            "online_payment.denominator": got_in_period and fee > 0,
            "e_result.numerator": result and bool(d.get("e_result")),
            "e_result.denominator": result,
            "digitized.numerator": got_in_period and bool(d.get("digitized")),
            "digitized.denominator": got_in_period,
            "reused_data.numerator": got_in_period and bool(d.get("reused_data")),
            "reused_data.denominator": got_in_period,
            "online_on_time.numerator": in_time and online,
            "online_on_time.denominator": ended_in_period and online,
        }[figure]
        if member:
            found.add(d["code"])
    return found
