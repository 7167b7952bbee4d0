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
        capable = d["service_level"] in (3, 4)
        if basis == "online_capable":
            num, den = online and capable, capable
        elif basis == "all":
            num, den = online, True
        else:
            num, den = online and d["service_level"] == 4, True
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
