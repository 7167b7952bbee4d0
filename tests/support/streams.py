"""Randomised event streams: corrections, resends, out-of-order arrival, receipts at local
midnight at month ends."""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

from tests.support.reference import VN

UNITS = ["282", "10441", "10444", "10447", "10450", "10504", "01", "99001"]  # 99001: unplaced
DOMAINS = ["TP", "DKKD", "DD", "XD", "G03-GD10"]  # G03-GD10: not seeded
STATUSES = [
    "submitted",
    "received",
    "refused",
    "processing",
    "supplement_requested",
    "fees_due",
    "withdrawn",
    "stopped",
    "finished",
    "returned",
]
CHANNELS = ["in_person", "online", "postal"]


def _iso(moment: dt.datetime) -> str:
    return moment.isoformat()


def _receipt(rng: random.Random) -> dt.datetime:
    """A receipt time; half of them within an hour of local midnight at a month's turn."""
    year = rng.choice([2016, 2017, 2017, 2017, 2018])
    month = rng.randint(1, 12)
    first = dt.datetime(year, month, 1, tzinfo=VN)
    if rng.random() < 0.5:
        moment = first + dt.timedelta(minutes=rng.randint(-60, 59), seconds=rng.randint(0, 59))
    else:
        moment = first + dt.timedelta(days=rng.randint(0, 27), minutes=rng.randint(0, 24 * 60 - 1))
    # Sent in UTC or in local time: the service must read both.
    return moment.astimezone(dt.UTC) if rng.random() < 0.5 else moment


def _near_period_edge(rng: random.Random, after: dt.datetime) -> dt.datetime:
    """A moment on the last or first local day of a month at or after `after`: report 06's
    columns change exactly at those days (due on `to`, finished on `from`)."""
    local = after.astimezone(VN)
    month_start = dt.datetime(local.year, local.month, 1, tzinfo=VN)
    next_month = (month_start + dt.timedelta(days=32)).replace(day=1)
    day = next_month + dt.timedelta(days=rng.choice([-1, 0, 0, 30]) if rng.random() < 0.8 else 0)
    moment = day + dt.timedelta(minutes=rng.randint(0, 24 * 60 - 1))
    return max(moment, after)


# Waiting statuses weigh more, so waiting runs of several snapshots occur.
_WEIGHTED_STATUSES = [*STATUSES, "supplement_requested", "fees_due", "fees_due", "processing"]


def _snapshot(rng: random.Random, code: str) -> dict[str, Any]:
    status = rng.choice(_WEIGHTED_STATUSES)
    received = _receipt(rng)
    received_at = None if status in ("submitted", "refused") and rng.random() < 0.7 else received
    finished_at = None
    # Ending statuses often come without any date: the clock ends them at their final run.
    if status in ("finished", "returned") and rng.random() < 0.7:
        if rng.random() < 0.4:
            finished_at = _near_period_edge(rng, received)
        else:
            finished_at = received + dt.timedelta(days=rng.randint(0, 40), hours=rng.randint(0, 23))
    returned_at = None
    if status == "returned" and finished_at is None and rng.random() < 0.4:
        returned_at = _near_period_edge(rng, received)
    due_at = None
    if rng.random() < 0.8:
        if rng.random() < 0.4:
            due_at = _near_period_edge(rng, received)
        else:
            due_at = received + dt.timedelta(days=rng.randint(0, 20))
    return {
        **_scorecard_fields(rng),
        "code": code,
        "procedure_code": rng.choice(["1.001193", "2.002492", "1.000894"]),
        "procedure_name": None,
        "domain_code": rng.choice(DOMAINS),
        "domain_name": None,
        "unit_code": rng.choice(UNITS),
        "channel": rng.choice(CHANNELS),
        # By number or, now and then, by its Decree 42/2022 name.
        "service_level": rng.choice([2, 3, 4, 2, 3, 4, "offline", "partial", "full"]),
        "status": status,
        "submitted_at": None,
        "received_at": _iso(received_at) if received_at else None,
        "due_at": _iso(due_at) if due_at else None,
        "finished_at": _iso(finished_at) if finished_at else None,
        "returned_at": _iso(returned_at) if returned_at else None,
    }


def _scorecard_fields(rng: random.Random) -> dict[str, Any]:
    """The scorecard inputs: each absent (the default), null (the default too) or set."""
    fields: dict[str, Any] = {}
    roll = rng.random()
    if roll < 0.5:
        fields["fee_amount"] = rng.choice([0, 15000, 50000.5, "100000", 2_000_000])
    elif roll < 0.6:
        fields["fee_amount"] = None
    if rng.random() < 0.7:
        fields["paid_online"] = rng.choice(
            ["no", "national_portal", "local_gateway", "other", None]
        )
    for name in ("digitized", "reused_data", "e_result"):
        if rng.random() < 0.7:
            fields[name] = rng.choice([True, False, True, None])
    return fields


def _next_occurred_at(rng: random.Random, previous: dt.datetime) -> dt.datetime:
    """The next snapshot's time: the same instant (arrival order decides), hours later, or days
    later; often within minutes of local midnight, where the local and the UTC date differ."""
    roll = rng.random()
    if roll < 0.12:
        return previous
    if roll < 0.4:
        return previous + dt.timedelta(hours=rng.randint(1, 10))
    day = previous.astimezone(VN).date() + dt.timedelta(days=rng.randint(0, 12))
    midnight = dt.datetime(day.year, day.month, day.day, tzinfo=VN)
    if rng.random() < 0.5:
        moment = midnight + dt.timedelta(minutes=rng.choice([-30, -1, 0, 1, 30]))
    else:
        moment = midnight + dt.timedelta(minutes=rng.randint(0, 24 * 60 - 1))
    return max(moment, previous)


def event_stream(seed: int, dossiers: int = 120) -> list[list[dict[str, Any]]]:
    """Batches of events in the order they are sent."""
    rng = random.Random(seed)
    events: list[dict[str, Any]] = []
    for n in range(dossiers):
        code = f"000.28.31.H26-{seed}-{n:05d}"
        moment = dt.datetime(2017, 1, 1, tzinfo=dt.UTC) + dt.timedelta(hours=rng.randint(0, 9000))
        for k in range(rng.randint(1, 7)):
            moment = _next_occurred_at(rng, moment) if k else moment
            events.append(
                {
                    "event_id": f"{code}-{k}",
                    "occurred_at": _iso(moment),
                    "dossier": _snapshot(rng, code),
                }
            )
    resent = rng.sample(events, k=len(events) // 5)
    stream = events + [dict(e) for e in resent]
    rng.shuffle(stream)
    batches = []
    while stream:
        size = rng.randint(1, 40)
        batches.append(stream[:size])
        stream = stream[size:]
    return batches
