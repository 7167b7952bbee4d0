"""The ingest rules: per-item validation, idempotency per source, newest snapshot wins."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import orjson
from pydantic import TypeAdapter, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from app.catalog import repository as catalog
from app.core.problems import field_error, pydantic_errors
from app.ingest import repository
from app.ingest.clock import Clock, CurrentDates, Snapshot, handling_clock
from app.ingest.repository import NewEvent
from app.ingest.schemas import (
    SCORECARD_DEFAULTS,
    EventIn,
    IngestResult,
    RejectedEvent,
)
from app.keys.service import Principal
from app.localtime import local_date

_EVENT = TypeAdapter(EventIn)


@dataclass
class _Candidate:
    index: int
    event: EventIn
    content_hash: bytes
    payload_json: str


_TIMESTAMP_FIELDS = ("submitted_at", "received_at", "due_at", "finished_at", "returned_at")


def _canonical(event: EventIn) -> bytes:
    """The event's content in one canonical form: same meaning, same bytes. Instants are
    written in UTC, so `+07:00` and `Z` spellings of the same moment compare equal; a scorecard
    field at its default is left out, as it is absent (so an event sent before the field existed
    keeps its hash), and a fee is written as its plain decimal (`50000`, not `50000.00`)."""
    content = event.model_dump()
    content["occurred_at"] = content["occurred_at"].astimezone(dt.UTC)
    dossier = content["dossier"]
    for name in _TIMESTAMP_FIELDS:
        if dossier[name] is not None:
            dossier[name] = dossier[name].astimezone(dt.UTC)
    for name, default in SCORECARD_DEFAULTS.items():
        if dossier[name] == default:
            del dossier[name]
    if "fee_amount" in dossier:
        dossier["fee_amount"] = plain_decimal(dossier["fee_amount"])
    return canonical_json(content)


def canonical_json(content: Any) -> bytes:
    """JSON with one spelling per content (keys sorted, UTC instants as `Z`): what every event
    hash and derived event id is taken of."""
    return orjson.dumps(content, option=orjson.OPT_SORT_KEYS | orjson.OPT_UTC_Z)


def plain_decimal(value: Decimal) -> str:
    """`Decimal("5E+4")`, `Decimal("50000.00")` → `"50000"`: one spelling per number."""
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _state_row(
    event: EventIn, log_id: int, follows_procedure_level: bool, clock: Clock
) -> dict[str, Any]:
    d = event.dossier
    return {
        "code": d.code,
        "procedure_code": d.procedure_code,
        "procedure_name": d.procedure_name,
        "domain_code": d.domain_code,
        "domain_name": d.domain_name,
        "unit_code": d.unit_code,
        "channel": d.channel,
        "service_level": d.service_level,
        "status": d.status,
        "submitted_at": d.submitted_at,
        "received_at": d.received_at,
        "due_at": d.due_at,
        "finished_at": d.finished_at,
        "returned_at": d.returned_at,
        "fee_amount": d.fee_amount,
        "paid_online": d.paid_online,
        "digitized": d.digitized,
        "reused_data": d.reused_data,
        "e_result": d.e_result,
        "occurred_at": event.occurred_at,
        "last_event_id": log_id,
        "follows_procedure_level": follows_procedure_level,
        "ended_on": clock.ended_on,
        "paused_days": clock.paused_days,
        "effective_due_on": clock.effective_due_on,
    }


class _Batch:
    """Sorts the events of one request into applied, stale, duplicate and rejected."""

    def __init__(self) -> None:
        self.applied = 0
        self.stale = 0
        self.duplicates = 0
        self.rejected: list[RejectedEvent] = []

    def reject(self, index: int, event_id: str | None, errors: list[dict[str, Any]]) -> None:
        self.rejected.append(RejectedEvent(index=index, event_id=event_id, errors=errors))

    def conflict(self, candidate: _Candidate) -> None:
        self.reject(
            candidate.index,
            candidate.event.event_id,
            [
                field_error(
                    ["events", candidate.index, "event_id"],
                    "this event_id was already sent by this source with different content",
                    "event_id_conflict",
                )
            ],
        )

    def result(self) -> IngestResult:
        self.rejected.sort(key=lambda r: r.index)
        return IngestResult(
            applied=self.applied,
            stale=self.stale,
            duplicates=self.duplicates,
            rejected=self.rejected,
        )


def _raw_event_id(raw: Any) -> str | None:
    if isinstance(raw, dict):
        value = raw.get("event_id")
        if isinstance(value, str):
            return value[:128]
    return None


async def ingest_events(
    session: AsyncSession,
    key: Principal,
    raw_events: list[Any],
    *,
    following: Collection[str] = (),
) -> IngestResult:
    """Validate, deduplicate and apply a batch; the answer counts every event exactly once.

    `following`: ids of events whose service level is their procedure's catalog level (the
    national body without MucDo); their dossiers keep following that level. The caller holds
    those procedures' locks (`repository.lock_procedures`)."""
    batch = _Batch()
    valid: list[_Candidate] = []
    for index, raw in enumerate(raw_events):
        try:
            event = _EVENT.validate_python(raw)
        except ValidationError as exc:
            batch.reject(
                index, _raw_event_id(raw), pydantic_errors(exc.errors(), ["events", index])
            )
            continue
        canonical = _canonical(event)
        valid.append(
            _Candidate(index, event, hashlib.sha256(canonical).digest(), canonical.decode())
        )

    valid = _refuse_future(valid, batch)
    allowed: set[str] | None = None
    if key.unit_code is not None and valid:
        allowed = await catalog.unit_subtree(session, key.unit_code)
        permitted = []
        for c in valid:
            if c.event.dossier.unit_code in allowed:
                permitted.append(c)
            else:
                _refuse_unit(batch, c, key, "unit_code")
        valid = permitted

    # Within the request: the first occurrence of an event_id stands for the rest.
    first: dict[str, _Candidate] = {}
    for c in valid:
        seen = first.get(c.event.event_id)
        if seen is None:
            first[c.event.event_id] = c
        elif seen.content_hash == c.content_hash:
            batch.duplicates += 1
        else:
            batch.conflict(c)
    candidates = list(first.values())

    new = await _drop_logged(session, key.source, candidates, batch)
    if not new:
        return batch.result()

    # The procedures first (shared), then the dossiers, as every writer orders them: ingest reads
    # the procedures' eligibility for fully online service while a catalog change waits.
    await repository.lock_batch(
        session,
        {c.event.dossier.procedure_code for c in new},
        {c.event.dossier.code for c in new},
    )
    stored = await repository.current_states(session, sorted({c.event.dossier.code for c in new}))
    if allowed is not None:
        # A bound key may not touch a dossier stored under a unit outside its subtree, whatever
        # unit the new snapshot names (checked under the dossier locks: the stored unit holds).
        outside = {code for code, state in stored.items() if state.unit_code not in allowed}
        for c in new:
            if c.event.dossier.code in outside:
                _refuse_unit(batch, c, key, "code")
        new = [c for c in new if c.event.dossier.code not in outside]
        if not new:
            return batch.result()
    await _ensure_catalog(session, new)
    log_ids = await repository.insert_events(
        session,
        key.source,
        key.key_id,
        [
            NewEvent(
                c.event.event_id,
                c.event.dossier.code,
                c.event.occurred_at,
                c.content_hash,
                c.payload_json,
            )
            for c in new
        ],
    )
    # A concurrent request may have logged the same event_id between our check and insert.
    raced = [c for c in new if c.event.event_id not in log_ids]
    if raced:
        await _drop_logged(session, key.source, raced, batch)
    inserted = [c for c in new if c.event.event_id in log_ids]
    await _apply(session, inserted, log_ids, batch, stored, frozenset(following))
    return batch.result()


# Snapshots dated further ahead than this are refused: one would make every genuine update of the
# dossier stale until that date.
FUTURE_TOLERANCE = dt.timedelta(days=1)


def _refuse_future(candidates: list[_Candidate], batch: _Batch) -> list[_Candidate]:
    """Reject events whose `occurred_at` is more than a day ahead of the server's clock."""
    limit = dt.datetime.now(dt.UTC) + FUTURE_TOLERANCE
    kept = []
    for c in candidates:
        if c.event.occurred_at > limit:
            batch.reject(
                c.index,
                c.event.event_id,
                [
                    field_error(
                        ["events", c.index, "occurred_at"],
                        "occurred_at is more than 1 day ahead of the server's clock",
                        "occurred_at_in_future",
                    )
                ],
            )
        else:
            kept.append(c)
    return kept


def _refuse_unit(batch: _Batch, c: _Candidate, key: Principal, field: str) -> None:
    """Reject an event of a dossier this unit-bound key may not send."""
    what = "dossiers" if field == "unit_code" else "dossiers stored under"
    batch.reject(
        c.index,
        c.event.event_id,
        [
            field_error(
                ["events", c.index, "dossier", field],
                f"this key may only send {what} unit {key.unit_code} or units below it",
                "unit_not_allowed",
            )
        ],
    )


async def _drop_logged(
    session: AsyncSession, source: str, candidates: list[_Candidate], batch: _Batch
) -> list[_Candidate]:
    """Count events already in the log as duplicates or conflicts; return the others."""
    stored = await repository.stored_event_hashes(
        session, source, [c.event.event_id for c in candidates]
    )
    fresh = []
    for c in candidates:
        stored_hash = stored.get(c.event.event_id)
        if stored_hash is None:
            fresh.append(c)
        elif stored_hash == c.content_hash:
            batch.duplicates += 1
        else:
            batch.conflict(c)
    return fresh


async def _ensure_catalog(session: AsyncSession, candidates: list[_Candidate]) -> None:
    """Add domains, units and procedures that events name and the catalog lacks."""
    domains: dict[str, str | None] = {}
    units: set[str] = set()
    procedures: dict[tuple[str, str | None, str, int, str], None] = {}
    for c in candidates:
        d = c.event.dossier
        if d.domain_name or d.domain_code not in domains:
            domains[d.domain_code] = d.domain_name or domains.get(d.domain_code)
        units.add(d.unit_code)
        sighting = (d.procedure_code, d.procedure_name, d.domain_code, d.service_level, d.unit_code)
        procedures.setdefault(sighting, None)
    await catalog.ensure_catalog(session, domains, units, list(procedures))


async def _apply(
    session: AsyncSession,
    inserted: list[_Candidate],
    log_ids: dict[str, int],
    batch: _Batch,
    stored: dict[str, repository.StoredState],
    following: frozenset[str],
) -> None:
    """Replay the logged events in arrival order against the stored states (held locked), and
    derive the handling clock of every dossier touched from its whole log."""
    newest = {code: state.occurred_at for code, state in stored.items()}
    winners: dict[str, _Candidate] = {}
    added: Counter[str] = Counter()
    stale_ids: list[int] = []
    for c in inserted:  # request order = arrival order; on equal occurred_at the later wins
        code = c.event.dossier.code
        added[code] += 1
        stored_at = newest.get(code)
        if stored_at is None or c.event.occurred_at >= stored_at:
            newest[code] = c.event.occurred_at
            winners[code] = c
            batch.applied += 1
        else:
            stale_ids.append(log_ids[c.event.event_id])
            batch.stale += 1
    # A dossier new in this batch has no other log than the events just inserted: only the
    # dossiers stored before need their log read back.
    logged = await repository.logged_snapshots(session, sorted(set(added) & set(stored)))
    for c in sorted(inserted, key=lambda c: (c.event.occurred_at, log_ids[c.event.event_id])):
        code = c.event.dossier.code
        if code not in stored:
            logged.setdefault(code, []).append(
                Snapshot(c.event.occurred_at, c.event.dossier.status)
            )
    clocks = {
        code: handling_clock(snapshots, _current_dates(winners.get(code), stored.get(code)))
        for code, snapshots in logged.items()
    }
    await repository.lock_summaries(session, _summary_buckets(winners, stored, clocks))
    states = [
        _state_row(
            winners[code].event,
            log_ids[winners[code].event.event_id],
            winners[code].event.event_id in following,
            clocks[code],
        )
        for code in sorted(winners)
    ]
    await repository.upsert_states(session, states, added)
    await repository.add_events(
        session, {code: n for code, n in added.items() if code not in winners}, clocks
    )
    await repository.mark_stale(session, stale_ids)


def _current_dates(
    winner: _Candidate | None, stored: repository.StoredState | None
) -> CurrentDates:
    """The dates of the state in force after this batch: the winner's, else the stored one's."""
    if winner is not None:
        d = winner.event.dossier
        return CurrentDates(
            winner.event.occurred_at, d.status, d.due_at, d.finished_at, d.returned_at
        )
    assert stored is not None, "a dossier without a winner was stored before"
    return CurrentDates(
        stored.occurred_at, stored.status, stored.due_at, stored.finished_at, stored.returned_at
    )


def _summary_buckets(
    winners: dict[str, _Candidate],
    stored: dict[str, repository.StoredState],
    clocks: dict[str, Clock],
) -> set[str]:
    """The (month, domain, unit) and (year, domain, unit) summary buckets that writing these
    states and clocks can touch.

    A state adds to or takes from summary rows in the months of its receipt, its end and the
    start of its overdue interval (the day after its effective due day); one lock key per month
    covers the rows of every daily and monthly table in it, and one per year the yearly
    open-interval row (migration 0011), which batches of different months share."""
    buckets: set[str] = set()

    def add(domain: str, unit: str, *days: dt.date | None) -> None:
        for day in days:
            if day is not None:
                buckets.update((f"{day:%Y-%m}|{domain}|{unit}", f"{day:%Y}|{domain}|{unit}"))

    def after(day: dt.date | None) -> dt.date | None:
        return None if day is None else day + dt.timedelta(days=1)

    for code, clock in clocks.items():
        old = stored.get(code)
        winner = winners.get(code)
        if winner is not None:
            d = winner.event.dossier
            received = local_date(d.received_at)
            add(d.domain_code, d.unit_code, received, clock.ended_on, after(clock.effective_due_on))
        elif old is not None:  # same state, perhaps a clock moved by a stale snapshot
            add(
                old.domain_code,
                old.unit_code,
                old.received_on,
                clock.ended_on,
                after(clock.effective_due_on),
            )
        if old is not None:
            add(
                old.domain_code,
                old.unit_code,
                old.received_on,
                old.ended_on,
                after(old.effective_due_on),
            )
    return buckets


async def follow_procedure_level(session: AsyncSession, procedure_code: str, level: int) -> int:
    """Move every dossier that follows this procedure's level to `level` (the caller holds the
    procedure's exclusive lock); every figure follows through the summary triggers."""
    buckets = await repository.following_buckets(session, procedure_code, level)
    await repository.lock_summaries(session, buckets)
    return await repository.move_following(session, procedure_code, level)


async def follow_procedure_eligibility(
    session: AsyncSession, procedure_code: str, eligible: bool
) -> int:
    """Give every dossier of this procedure its eligibility for fully online service (the caller
    holds the procedure's exclusive lock); every figure follows through the summary triggers."""
    buckets = await repository.eligibility_buckets(session, procedure_code, eligible)
    if not buckets:
        return 0
    await repository.lock_summaries(session, buckets)
    return await repository.set_eligibility(session, procedure_code, eligible)
