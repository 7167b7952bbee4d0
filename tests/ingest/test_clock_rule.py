"""The handling clock rule (app/ingest/clock.py) on hand-worked cases from contract section 4."""

from __future__ import annotations

import datetime as dt

import pytest

from app.ingest.clock import Clock, CurrentDates, Snapshot, handling_clock

VN = dt.timezone(dt.timedelta(hours=7))


def at(day: int, hour: int = 9, minute: int = 0) -> dt.datetime:
    return dt.datetime(2017, 3, day, hour, minute, tzinfo=VN)


def run(
    *steps: tuple[dt.datetime, str],
    due: dt.datetime | None = None,
    finished: dt.datetime | None = None,
) -> Clock:
    snapshots = [Snapshot(moment, status) for moment, status in steps]
    last = snapshots[-1]
    return handling_clock(
        snapshots, CurrentDates(last.occurred_at, last.status, due, finished, None)
    )


@pytest.mark.parametrize(
    ("steps", "expected"),
    [
        # Two waiting runs followed by a snapshot: 2 + 3 days; the due date moves by 5.
        (
            [
                (at(1), "received"),
                (at(2), "supplement_requested"),
                (at(3), "supplement_requested"),
                (at(4), "processing"),
                (at(5), "fees_due"),
                (at(8), "processing"),
            ],
            Clock(None, 5, dt.date(2017, 3, 15)),
        ),
        # A run not yet followed counts nothing, and a waiting dossier has no due date.
        ([(at(1), "received"), (at(2), "fees_due")], Clock(None, 0, None)),
        # Local dates: 23:59 on the 2nd to 00:01 on the 3rd is one day (UTC: the same day).
        (
            [(at(2, 23, 59), "supplement_requested"), (at(3, 0, 1), "processing")],
            Clock(None, 1, dt.date(2017, 3, 11)),
        ),
        # Without a date the end is the first snapshot of the final run of ending statuses.
        (
            [(at(1), "finished"), (at(2), "processing"), (at(4), "finished"), (at(6), "returned")],
            Clock(dt.date(2017, 3, 4), 0, dt.date(2017, 3, 10)),
        ),
    ],
)
def test_clock_of_hand_worked_cases(steps: list, expected: Clock) -> None:
    assert run(*steps, due=at(10, 17)) == expected


def test_the_finish_date_of_the_state_in_force_wins() -> None:
    clock = run((at(1), "processing"), (at(20), "finished"), due=at(10), finished=at(12))
    assert clock.ended_on == dt.date(2017, 3, 12)


def test_no_due_date_means_no_effective_due_date() -> None:
    assert run((at(1), "fees_due"), (at(3), "processing")) == Clock(None, 2, None)


def test_the_finish_date_comes_before_the_return_date() -> None:
    steps = [Snapshot(at(1), "processing"), Snapshot(at(20), "returned")]
    clock = handling_clock(steps, CurrentDates(at(20), "returned", at(10), at(12), at(14)))
    assert clock.ended_on == dt.date(2017, 3, 12)
    # Without a finish date the return date ends it.
    clock = handling_clock(steps, CurrentDates(at(20), "returned", at(10), None, at(14)))
    assert clock.ended_on == dt.date(2017, 3, 14)
