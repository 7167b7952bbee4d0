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


@dataclass
class Model:
    """Current state per dossier, replayed from the events in arrival order."""

    states: dict[str, dict[str, Any]] = field(default_factory=dict)
    occurred: dict[str, dt.datetime] = field(default_factory=dict)
    seen: dict[str, dict[str, Any]] = field(default_factory=dict)

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
    for (label, group), (num, den) in sorted(
        groups.items(), key=lambda kv: (kv[0][0] or "", kv[0][1] or "")
    ):
        if den == 0:
            continue
        row: dict[str, Any] = {
            "period": label,
            "online": num,
            "total": den,
            "target": None,
            "meets_target": None,
        }
        if group_by == "domain":
            target = targets.get(group, Decimal("0.2"))  # type: ignore[arg-type]
            row.update(
                domain_code=group,
                target=float(target),
                meets_target=Fraction(num, den) >= Fraction(target),
            )
        elif group_by == "unit":
            row["unit_code"] = group
        rows.append(row)
    online_sum = sum(r["online"] for r in rows)
    total_sum = sum(r["total"] for r in rows)
    return {"rows": rows, "overall": {"online": online_sum, "total": total_sum}}
