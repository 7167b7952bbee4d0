"""The handling clock (contract section 4), derived from a dossier's stored snapshots.

One pure function holds the rule; ingest and the migration that backfills stored dossiers both
call it with the dossier's whole event log, stale snapshots included."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from app.localtime import local_date
from app.vocabulary import ENDING_STATUSES, WAITING_STATUSES


@dataclass(frozen=True)
class Snapshot:
    """What the clock needs of one logged snapshot."""

    occurred_at: dt.datetime
    status: str


@dataclass(frozen=True)
class CurrentDates:
    """The state in force (the newest snapshot): its time, status and the dates the clock reads."""

    occurred_at: dt.datetime
    status: str
    due_at: dt.datetime | None
    finished_at: dt.datetime | None
    returned_at: dt.datetime | None


@dataclass(frozen=True)
class Clock:
    """A dossier's end date, paused days and effective due date (local dates)."""

    ended_on: dt.date | None
    paused_days: int
    effective_due_on: dt.date | None


def handling_clock(logged: Sequence[Snapshot], current: CurrentDates) -> Clock:
    """The clock of a dossier from all its logged snapshots, ordered by `occurred_at`, ties by
    arrival, and the state in force (`current`, the newest of them)."""
    # The state in force closes the sequence. When the log ends with it, as ingest keeps it, the
    # repeat changes nothing; a state written without the log (a bulk load) still counts.
    snapshots = [*logged, Snapshot(current.occurred_at, current.status)]
    paused = 0
    run_start: dt.date | None = None
    for snapshot in snapshots:
        day = local_date(snapshot.occurred_at)
        assert day is not None
        waiting = snapshot.status in WAITING_STATUSES
        if waiting and run_start is None:
            run_start = day
        elif not waiting and run_start is not None:
            # A waiting run lasts until the local date of the snapshot that follows it.
            paused += (day - run_start).days
            run_start = None

    ended_on = None
    if current.status in ENDING_STATUSES:
        ended_on = local_date(current.finished_at) or local_date(current.returned_at)
        if ended_on is None:
            ended_on = _final_ending_run_start(snapshots)

    effective_due_on = None
    due_on = local_date(current.due_at)
    if due_on is not None and current.status not in WAITING_STATUSES:
        effective_due_on = due_on + dt.timedelta(days=paused)
    return Clock(ended_on, paused, effective_due_on)


def _final_ending_run_start(snapshots: Sequence[Snapshot]) -> dt.date | None:
    """The local date of the first snapshot of the final unbroken run of ending statuses."""
    start = None
    for snapshot in reversed(snapshots):
        if snapshot.status not in ENDING_STATUSES:
            break
        start = snapshot.occurred_at
    return local_date(start)
