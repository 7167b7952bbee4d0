"""The national sync rules: map DVCQG records to dossier snapshots and feed the one ingest path.

The national format has no event time and no event id, yet its records must apply in arrival
order and a record identical to the stored state must count as a duplicate. So, with the
dossiers of the request locked (the same advisory locks the ingest path takes, re-entrant within
the transaction), each accepted record becomes a native event whose

* `occurred_at` is the database clock read after the locks were taken, plus the record's index
  in microseconds, and never earlier than one microsecond after the dossier's stored
  `occurred_at`: the record is always the newest snapshot, in arrival order, also across
  concurrent requests (the later lock holder reads a later clock);
* `event_id` is `dvcqg-` + SHA-256 of the dossier code, the snapshot *and the state it
  replaces* (the stored state's log id, or the previous record of the same dossier in the
  request). A snapshot alone would not do: a dossier that goes processing → supplement requested → processing with the
  same fields would see its third record taken for the first and stay "supplement requested".

A record equal to the dossier's current state (stored, or set by an earlier record of the same
request) is counted a duplicate and not sent on, so a sync that is replayed changes nothing.
A record's fields are checked here first, under their national names, with the same rules the
ingest path applies, so that its answer can be mapped back record by record.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import Any

import orjson
from pydantic import TypeAdapter, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from app.catalog import repository as catalog
from app.compat import repository
from app.compat.schemas import NATIONAL_FIELD, NationalRecord, RejectedRecord, SyncResult
from app.dossiers import repository as dossiers
from app.dossiers import service as ingest
from app.dossiers.schemas import DossierIn, IngestResult
from app.errors import field_error, pydantic_errors
from app.keys.service import Principal

_DOSSIER = TypeAdapter(DossierIn)
_TIMESTAMPS = ("submitted_at", "received_at", "due_at", "finished_at", "returned_at")
EVENT_ID_PREFIX = "dvcqg-"


@dataclass
class MappedRecord:
    """A national record that passed every check, as our dossier snapshot."""

    index: int
    dossier: DossierIn
    snapshot: dict[str, Any]


@dataclass
class _Current:
    snapshot: dict[str, Any]
    chain: str
    occurred_at: dt.datetime


def _snapshot(dossier: DossierIn) -> dict[str, Any]:
    """The state a record sets, instants in UTC, comparable with a stored state."""
    state = dossier.model_dump(exclude={"code"})
    for name in _TIMESTAMPS:
        if state[name] is not None:
            state[name] = state[name].astimezone(dt.UTC)
    return state


def derived_event_id(code: str, replaces: str, snapshot: dict[str, Any]) -> str:
    """A stable event id for dossier `code` taking `snapshot` in place of state `replaces`."""
    content = orjson.dumps(
        {"code": code, "replaces": replaces, "state": snapshot},
        option=orjson.OPT_SORT_KEYS | orjson.OPT_UTC_Z,
    )
    digest = hashlib.sha256(content).hexdigest()
    return EVENT_ID_PREFIX + digest


def _raw_code(raw: Any) -> str | None:
    value = raw.get("MaHoSo") if isinstance(raw, dict) else None
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value[:64] if isinstance(value, str) else None


def _national_loc(index: int, loc: list[Any]) -> list[Any]:
    """`["events", j, "dossier", "channel"]` → `["data", i, "KenhThucHien"]`."""
    if len(loc) >= 4 and loc[2] == "dossier":
        field = str(loc[3])
        return ["data", index, NATIONAL_FIELD.get(field, field), *loc[4:]]
    return ["data", index]


class _Outcome:
    """Counts of one sync request."""

    def __init__(self) -> None:
        self.applied = 0
        self.duplicates = 0
        self.rejected: list[RejectedRecord] = []

    def reject(self, index: int, code: str | None, errors: list[dict[str, Any]]) -> None:
        self.rejected.append(RejectedRecord(index=index, MaHoSo=code, errors=errors))

    def result(self) -> SyncResult:
        self.rejected.sort(key=lambda r: r.index)
        if self.rejected:
            message = f"Thành công một phần: {len(self.rejected)} hồ sơ bị từ chối"
        else:
            message = "Thành công"
        return SyncResult(
            error_code=0,
            message=message,
            applied=self.applied,
            duplicates=self.duplicates,
            rejected=self.rejected,
        )


async def sync_records(session: AsyncSession, key: Principal, records: list[Any]) -> SyncResult:
    """Apply national records in arrival order; each is applied, a duplicate, or rejected."""
    outcome = _Outcome()
    accepted, outcome.rejected = await map_records(session, key, records)
    if not accepted:
        return outcome.result()

    codes = [a.dossier.code for a in accepted]
    await dossiers.lock_dossiers(session, codes)
    now = await repository.clock(session)
    current = {
        code: _Current(state.snapshot, f"log:{state.last_event_id}", state.occurred_at)
        for code, state in (await repository.stored_states(session, codes)).items()
    }
    events: list[dict[str, Any]] = []
    origin: list[MappedRecord] = []
    for a in accepted:
        code = a.dossier.code
        state = current.get(code)
        if state is not None and state.snapshot == a.snapshot:
            outcome.duplicates += 1
            continue
        occurred_at = now + dt.timedelta(microseconds=a.index)
        if state is not None:
            occurred_at = max(occurred_at, state.occurred_at + dt.timedelta(microseconds=1))
        event_id = derived_event_id(code, state.chain if state else "new", a.snapshot)
        events.append(
            {"event_id": event_id, "occurred_at": occurred_at, "dossier": a.dossier.model_dump()}
        )
        origin.append(a)
        current[code] = _Current(a.snapshot, event_id, occurred_at)
    if events:
        _merge(outcome, await ingest.ingest_events(session, key, events), origin)
    return outcome.result()


def _merge(outcome: _Outcome, result: IngestResult, origin: list[MappedRecord]) -> None:
    """Fold the ingest path's answer into the national one, record by record."""
    if result.stale:
        # Impossible while the locks are held and every occurred_at is the newest.
        raise RuntimeError(f"national sync produced {result.stale} stale events")
    outcome.applied += result.applied
    outcome.duplicates += result.duplicates
    for r in result.rejected:
        index = origin[r.index].index
        outcome.reject(
            index,
            origin[r.index].dossier.code,
            [field_error(_national_loc(index, e["loc"]), e["msg"], e["code"]) for e in r.errors],
        )


async def map_records(
    session: AsyncSession, key: Principal, records: list[Any]
) -> tuple[list[MappedRecord], list[RejectedRecord]]:
    """Map and check every record: the ones that pass as snapshots, the others with reasons."""
    outcome = _Outcome()
    parsed: list[tuple[int, NationalRecord]] = []
    for index, raw in enumerate(records):
        if not isinstance(raw, dict):
            outcome.reject(
                index, None, [field_error(["data", index], "expected an object", "object_type")]
            )
            continue
        try:
            parsed.append((index, NationalRecord.model_validate(raw)))
        except ValidationError as exc:
            outcome.reject(index, _raw_code(raw), pydantic_errors(exc.errors(), ["data", index]))
    if not parsed:
        return [], outcome.rejected

    units = await repository.resolve_units(session, [r.handling_unit for _, r in parsed])
    levels = await repository.procedure_levels(session, [r.procedure_code for _, r in parsed])
    allowed = (
        await catalog.unit_subtree(session, key.unit_code) if key.unit_code is not None else None
    )
    accepted: list[MappedRecord] = []
    for index, record in parsed:
        unit_code = units.get(record.handling_unit, record.handling_unit)
        if allowed is not None and unit_code not in allowed:
            outcome.reject(
                index,
                record.code,
                [
                    field_error(
                        ["data", index, "DonViXuLy"],
                        f"this key may only send dossiers of unit {key.unit_code} "
                        "or of units below it",
                        "unit_not_allowed",
                    )
                ],
            )
            continue
        level = record.service_level or levels.get(record.procedure_code)
        if level is None:
            outcome.reject(
                index,
                record.code,
                [
                    field_error(
                        ["data", index, "MucDo"],
                        f"procedure {record.procedure_code} has no known service level; send MucDo",
                        "service_level_unknown",
                    )
                ],
            )
            continue
        fields = record.model_dump(exclude={"handling_unit"})
        try:
            dossier = _DOSSIER.validate_python(
                {**fields, "unit_code": unit_code, "service_level": level}
            )
        except ValidationError as exc:
            errors = pydantic_errors(exc.errors(), ["events", index, "dossier"])
            outcome.reject(
                index,
                record.code,
                [field_error(_national_loc(index, e["loc"]), e["msg"], e["code"]) for e in errors],
            )
            continue
        # What the catalog will say once this record is in: the first level seen stands.
        levels.setdefault(record.procedure_code, level)
        accepted.append(MappedRecord(index, dossier, _snapshot(dossier)))
    return accepted, outcome.rejected
