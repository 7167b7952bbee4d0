"""SQL of the write side: the event log, the dossiers' current state, the locks. Every batch
write is set-based."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import orjson
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.ingest.clock import Clock, Snapshot

# unnest keeps the (sorted) array order, so every transaction takes its locks in one order.
_LOCK_KEYS = text(
    "SELECT count(*) FROM (SELECT pg_advisory_xact_lock(:space, k)"
    " FROM unnest(CAST(:keys AS integer[])) AS l(k)) AS locked"
)
# Lock spaces: a transaction takes all its dossier locks, then all its summary locks.
DOSSIER_LOCKS = 1
SUMMARY_LOCKS = 2
# Taken before dossier locks: shared by ingest that sets a level from the procedure catalog,
# exclusive by a catalog change of a procedure's level.
PROCEDURE_LOCKS = 3
_LOCK_KEYS_SHARED = text(
    "SELECT count(*) FROM (SELECT pg_advisory_xact_lock_shared(:space, k)"
    " FROM unnest(CAST(:keys AS integer[])) AS l(k)) AS locked"
)

# A batch's procedure locks (shared), then its dossier locks, in one round trip: Append runs its
# branches in order, and unnest keeps each sorted array's order.
_LOCK_BATCH = text(
    "SELECT count(*) FROM ("
    " SELECT pg_advisory_xact_lock_shared(:procedure_space, k)"
    " FROM unnest(CAST(:procedure_keys AS integer[])) AS p(k)"
    " UNION ALL"
    " SELECT pg_advisory_xact_lock(:dossier_space, k)"
    " FROM unnest(CAST(:dossier_keys AS integer[])) AS d(k)) AS locked"
)

_EXISTING_EVENTS = text(
    "SELECT event_id, content_hash FROM dossier_events"
    " WHERE source = :source AND event_id = ANY(CAST(:event_ids AS varchar[]))"
)

# A batch travels as one JSON document read by `jsonb_to_recordset`, not as one array per
# column: the driver's array encoding cost more client CPU per event than all the rest of the SQL.
_INSERT_EVENTS = text(
    """
    INSERT INTO dossier_events
        (source, event_id, api_key_id, dossier_code, occurred_at, content_hash, payload)
    SELECT :source, e.event_id, :api_key_id, e.dossier_code, e.occurred_at,
           decode(e.content_hash, 'hex'), e.payload
    FROM ROWS FROM (jsonb_to_recordset(CAST(:events AS jsonb))
                    AS (event_id varchar, dossier_code varchar, occurred_at timestamptz,
                        content_hash text, payload jsonb))
         WITH ORDINALITY AS e(event_id, dossier_code, occurred_at, content_hash, payload, arrival)
    -- Log ids follow arrival order (request order): the handling clock breaks ties by them.
    ORDER BY e.arrival
    ON CONFLICT (source, event_id) DO NOTHING
    RETURNING event_id, id
    """
)

STATE_COLUMNS = (
    "procedure_code",
    "procedure_name",
    "domain_code",
    "domain_name",
    "unit_code",
    "channel",
    "service_level",
    "status",
    "submitted_at",
    "received_at",
    "due_at",
    "finished_at",
    "returned_at",
    "fee_amount",
    "paid_online",
    "digitized",
    "reused_data",
    "e_result",
    "occurred_at",
    "last_event_id",
)
# The handling clock, derived from the dossier's whole log (app.ingest.clock).
CLOCK_COLUMNS = ("ended_on", "paused_days", "effective_due_on")
# The columns a snapshot sets (occurred_at and last_event_id belong to the event), and whether
# its level follows the procedure's: what the national sync compares a record with.
SNAPSHOT_COLUMNS = (
    *(c for c in STATE_COLUMNS if c not in ("occurred_at", "last_event_id")),
    "follows_procedure_level",
)
_CURRENT_STATES = text(
    "SELECT code, occurred_at, last_event_id, received_on, ended_on, effective_due_on,"  # noqa: S608 - constant column lists, not input
    f" {', '.join(SNAPSHOT_COLUMNS)}"
    " FROM dossiers"
    " WHERE code = ANY(CAST(:codes AS varchar[]))"
)

_LOGGED_SNAPSHOTS = text(
    "SELECT dossier_code, occurred_at, payload -> 'dossier' ->> 'status' AS status"
    " FROM dossier_events WHERE dossier_code = ANY(CAST(:codes AS varchar[]))"
    " ORDER BY dossier_code, occurred_at, id"
)
# What ingest writes: the snapshot's columns, whether the level follows the procedure's, and
# the handling clock.
_WRITTEN_COLUMNS = (*STATE_COLUMNS, "follows_procedure_level", *CLOCK_COLUMNS)
_STATE_TYPES = {
    "service_level": "smallint",
    "last_event_id": "bigint",
    "submitted_at": "timestamptz",
    "received_at": "timestamptz",
    "due_at": "timestamptz",
    "finished_at": "timestamptz",
    "returned_at": "timestamptz",
    "occurred_at": "timestamptz",
    "procedure_name": "text",
    "ended_on": "date",
    "paused_days": "integer",
    "effective_due_on": "date",
    "domain_name": "text",
    "follows_procedure_level": "boolean",
    "fee_amount": "numeric",
    "digitized": "boolean",
    "reused_data": "boolean",
    "e_result": "boolean",
}

# The procedure's eligibility for fully online service comes from the catalog as the statement
# reads it (the caller holds the procedures' locks, shared, so no change slips in before commit).
_UPSERT_DOSSIERS = text(
    f"""
    INSERT INTO dossiers (code, {", ".join(_WRITTEN_COLUMNS)}, event_count, full_online_eligible)
    SELECT s.*, COALESCE(p.full_online_eligible, p.service_level = 4, false)
    FROM jsonb_to_recordset(CAST(:states AS jsonb)) AS s(code varchar,
        {", ".join(f"{c} {_STATE_TYPES.get(c, 'varchar')}" for c in _WRITTEN_COLUMNS)},
        event_count integer)
    LEFT JOIN procedures p ON p.code = s.procedure_code
    ORDER BY 1
    ON CONFLICT (code) DO UPDATE SET
        {", ".join(f"{c} = excluded.{c}" for c in (*_WRITTEN_COLUMNS, "full_online_eligible"))},
        event_count = dossiers.event_count + excluded.event_count,
        updated_at = now()
    """  # noqa: S608 - built from the constant column list above, not from input
)

_ADD_EVENTS = text(
    """
    UPDATE dossiers SET event_count = dossiers.event_count + c.added,
                        ended_on = c.ended_on, paused_days = c.paused_days,
                        effective_due_on = c.effective_due_on,
                        updated_at = CASE
                            WHEN (dossiers.ended_on, dossiers.paused_days, dossiers.effective_due_on)
                                 IS DISTINCT FROM (c.ended_on, c.paused_days, c.effective_due_on)
                            THEN now() ELSE dossiers.updated_at END
    FROM unnest(CAST(:codes AS varchar[]), CAST(:added AS integer[]), CAST(:ended AS date[]),
                CAST(:paused AS integer[]), CAST(:effective AS date[]))
         AS c(code, added, ended_on, paused_days, effective_due_on)
    WHERE dossiers.code = c.code
    """
)

_MARK_STALE = text("UPDATE dossier_events SET stale = true WHERE id = ANY(CAST(:ids AS bigint[]))")


@dataclass(frozen=True)
class NewEvent:
    """An event ready for the log."""

    event_id: str
    dossier_code: str
    occurred_at: dt.datetime
    content_hash: bytes
    payload_json: str


@dataclass(frozen=True)
class StoredState:
    """A dossier's stored state: its time and log id, the dates its clock and summary buckets
    read, and its snapshot (`SNAPSHOT_COLUMNS`), which the national sync compares records with
    and its progress steps copy."""

    occurred_at: dt.datetime
    last_event_id: int
    received_on: dt.date | None
    ended_on: dt.date | None
    effective_due_on: dt.date | None
    snapshot: dict[str, Any]

    @property
    def domain_code(self) -> str:
        return str(self.snapshot["domain_code"])

    @property
    def unit_code(self) -> str:
        return str(self.snapshot["unit_code"])

    @property
    def status(self) -> str:
        return str(self.snapshot["status"])

    @property
    def due_at(self) -> dt.datetime | None:
        return self.snapshot["due_at"]  # type: ignore[no-any-return]

    @property
    def finished_at(self) -> dt.datetime | None:
        return self.snapshot["finished_at"]  # type: ignore[no-any-return]

    @property
    def returned_at(self) -> dt.datetime | None:
        return self.snapshot["returned_at"]  # type: ignore[no-any-return]


def lock_key(name: str) -> int:
    """A stable signed 32-bit advisory-lock key."""
    digest = hashlib.blake2b(name.encode("utf-8"), digest_size=4).digest()
    return int.from_bytes(digest, "big", signed=True)


async def _lock(session: AsyncSession, space: int, names: Iterable[str]) -> None:
    keys = sorted({lock_key(n) for n in names})
    if keys:
        await session.execute(_LOCK_KEYS, {"space": space, "keys": keys})


async def lock_dossiers(session: AsyncSession, codes: Iterable[str]) -> None:
    """Serialise writers of the same dossiers until commit; keys in one global order."""
    await _lock(session, DOSSIER_LOCKS, codes)


async def lock_batch(
    session: AsyncSession, procedure_codes: Iterable[str], dossier_codes: Iterable[str]
) -> None:
    """`lock_procedures(procedure_codes, shared=True)`, then `lock_dossiers(dossier_codes)`, in
    one statement."""
    await session.execute(
        _LOCK_BATCH,
        {
            "procedure_space": PROCEDURE_LOCKS,
            "procedure_keys": sorted({lock_key(c) for c in procedure_codes}),
            "dossier_space": DOSSIER_LOCKS,
            "dossier_keys": sorted({lock_key(c) for c in dossier_codes}),
        },
    )


async def lock_procedures(session: AsyncSession, codes: Iterable[str], *, shared: bool) -> None:
    """Serialise catalog level changes of these procedures with ingest that reads their level
    (shared: ingest; exclusive: a level change), until commit; before any dossier lock."""
    keys = sorted({lock_key(c) for c in codes})
    if keys:
        statement = _LOCK_KEYS_SHARED if shared else _LOCK_KEYS
        await session.execute(statement, {"space": PROCEDURE_LOCKS, "keys": keys})


async def lock_summaries(session: AsyncSession, buckets: Iterable[str]) -> None:
    """Serialise writers of the same summary rows (one key per month, domain and unit, covering
    every daily and monthly table's rows of that month, and one per year, domain and unit for
    the yearly row) until commit.

    The triggers update summary rows in more than one statement round; holding these locks,
    taken in one sorted pass after the dossier locks, keeps concurrent batches deadlock-free."""
    await _lock(session, SUMMARY_LOCKS, buckets)


async def stored_event_hashes(
    session: AsyncSession, source: str, event_ids: Sequence[str]
) -> dict[str, bytes]:
    """Content hashes of the events of `source` already in the log, by event id."""
    if not event_ids:
        return {}
    rows = await session.execute(_EXISTING_EVENTS, {"source": source, "event_ids": list(event_ids)})
    return {row.event_id: bytes(row.content_hash) for row in rows}


async def insert_events(
    session: AsyncSession, source: str, api_key_id: int, events: Sequence[NewEvent]
) -> dict[str, int]:
    """Append events to the log; returns the log id of each one inserted (others already were)."""
    if not events:
        return {}
    document = orjson.dumps(
        [
            {
                "event_id": e.event_id,
                "dossier_code": e.dossier_code,
                "occurred_at": e.occurred_at,
                "content_hash": e.content_hash.hex(),
                "payload": orjson.Fragment(e.payload_json),
            }
            for e in events
        ]
    )
    rows = await session.execute(
        _INSERT_EVENTS,
        {"source": source, "api_key_id": api_key_id, "events": document.decode()},
    )
    return {row.event_id: row.id for row in rows}


async def current_states(session: AsyncSession, codes: Sequence[str]) -> dict[str, StoredState]:
    """The stored state of each known dossier (call with the dossiers locked)."""
    if not codes:
        return {}
    rows = (await session.execute(_CURRENT_STATES, {"codes": sorted(set(codes))})).mappings()
    return {
        row["code"]: StoredState(
            row["occurred_at"],
            row["last_event_id"],
            row["received_on"],
            row["ended_on"],
            row["effective_due_on"],
            {c: row[c] for c in SNAPSHOT_COLUMNS},
        )
        for row in rows
    }


async def logged_snapshots(
    session: AsyncSession, codes: Sequence[str]
) -> dict[str, list[Snapshot]]:
    """Every logged snapshot of each dossier (stale ones included), ordered by `occurred_at`,
    ties by arrival: what its handling clock is derived from."""
    found: dict[str, list[Snapshot]] = {code: [] for code in codes}
    if codes:
        for row in await session.execute(_LOGGED_SNAPSHOTS, {"codes": list(codes)}):
            found[row.dossier_code].append(Snapshot(row.occurred_at, row.status))
    return found


async def upsert_states(
    session: AsyncSession, states: Sequence[dict[str, Any]], added_events: dict[str, int]
) -> None:
    """Write new current states; `added_events` counts the events each dossier gained."""
    if not states:
        return
    document = orjson.dumps(
        [{**s, "event_count": added_events[s["code"]]} for s in states], default=_json_value
    )
    await session.execute(_UPSERT_DOSSIERS, {"states": document.decode()})


def _json_value(value: Any) -> Any:
    """What orjson does not write itself: a fee (Decimal) as its exact decimal text."""
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


async def add_events(
    session: AsyncSession, added_events: dict[str, int], clocks: dict[str, Clock]
) -> None:
    """Count events logged for dossiers whose state did not change, and store their clock
    (a stale snapshot can move it)."""
    if added_events:
        codes = sorted(added_events)
        await session.execute(
            _ADD_EVENTS,
            {
                "codes": codes,
                "added": [added_events[c] for c in codes],
                "ended": [clocks[c].ended_on for c in codes],
                "paused": [clocks[c].paused_days for c in codes],
                "effective": [clocks[c].effective_due_on for c in codes],
            },
        )


async def mark_stale(session: AsyncSession, event_log_ids: Sequence[int]) -> None:
    """Flag logged events that did not become current."""
    if event_log_ids:
        await session.execute(_MARK_STALE, {"ids": list(event_log_ids)})


# The summary lock key (see `lock_summaries`) of each month, domain and unit where a dossier that
# follows the procedure's level, and lacks the new one, was received.
_FOLLOWING_BUCKETS = text(
    "SELECT DISTINCT to_char(received_on, 'YYYY-MM') || '|' || domain_code || '|' || unit_code"
    " FROM dossiers"
    " WHERE procedure_code = :procedure AND follows_procedure_level AND service_level <> :level"
    " AND received_on IS NOT NULL"
)
_MOVE_FOLLOWING = text(
    "UPDATE dossiers SET service_level = :level, updated_at = now()"
    " WHERE procedure_code = :procedure AND follows_procedure_level AND service_level <> :level"
)


async def following_buckets(session: AsyncSession, procedure_code: str, level: int) -> set[str]:
    """The summary buckets that moving this procedure's followers to `level` touches.

    A service level counts only in the receipt summaries, so the month of receipt is the one
    bucket a level change of a dossier can touch."""
    found = await session.scalars(_FOLLOWING_BUCKETS, {"procedure": procedure_code, "level": level})
    return set(found.all())


async def move_following(session: AsyncSession, procedure_code: str, level: int) -> int:
    """Give every dossier that follows this procedure's level the new level; how many moved.

    The summary triggers carry the change into every figure in the same statement."""
    result = await session.execute(_MOVE_FOLLOWING, {"procedure": procedure_code, "level": level})
    return int(getattr(result, "rowcount", 0) or 0)


# Eligibility counts only in the receipt summaries: the month of receipt is the one bucket.
_ELIGIBILITY_BUCKETS = text(
    "SELECT DISTINCT to_char(received_on, 'YYYY-MM') || '|' || domain_code || '|' || unit_code"
    " FROM dossiers"
    " WHERE procedure_code = :procedure AND full_online_eligible <> :eligible"
    " AND received_on IS NOT NULL"
)
_SET_ELIGIBILITY = text(
    "UPDATE dossiers SET full_online_eligible = :eligible"
    " WHERE procedure_code = :procedure AND full_online_eligible <> :eligible"
)


async def eligibility_buckets(
    session: AsyncSession, procedure_code: str, eligible: bool
) -> set[str]:
    """The summary buckets that giving this procedure's dossiers `eligible` touches."""
    found = await session.scalars(
        _ELIGIBILITY_BUCKETS, {"procedure": procedure_code, "eligible": eligible}
    )
    return set(found.all())


async def set_eligibility(session: AsyncSession, procedure_code: str, eligible: bool) -> int:
    """Give every dossier of this procedure its eligibility; how many changed."""
    result = await session.execute(
        _SET_ELIGIBILITY, {"procedure": procedure_code, "eligible": eligible}
    )
    return int(getattr(result, "rowcount", 0) or 0)
