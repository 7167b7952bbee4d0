"""The national sync rules: map DVCQG records to dossier snapshots and feed the one ingest path.

Two services share the endpoint:

* `DongBoHoSoMC` (dossier records). The national format has no event time and no event id, yet
  its records must apply in arrival order and a record identical to the stored state must count
  as a duplicate. So, with the dossiers of the request locked (the same advisory locks the
  ingest path takes, re-entrant within the transaction), each accepted record becomes a native
  event whose

  - `occurred_at` is the database clock read after the locks were taken, strictly increasing
    along the body and never earlier than one microsecond after the dossier's stored
    `occurred_at`: the record is always the newest snapshot, in arrival order, also across
    concurrent requests (the later lock holder reads a later clock);
  - `event_id` is `dvcqg-` + SHA-256 of the dossier code, the snapshot *and the state it
    replaces* (the stored state's log id, or the previous record of the same dossier in the
    request). A snapshot alone would not do: a dossier that goes processing → supplement
    requested → processing with the same fields would see its third record taken for the first.

  A record without `MucDo` takes its procedure's catalog level (2 for a procedure the catalog
  lacks) and its dossier keeps following that level: the procedures' locks are held (shared)
  from reading the level to commit, so a concurrent level change (`PUT /v1/procedures`, which
  takes them exclusively) either comes first and is read, or comes after and moves the dossier.

* `CapNhatTienDoHoSoMC` (progress steps). A step is the dossier's stored state with the step's
  status at the step's time; its event id is derived from the dossier, status and time, so a
  step sent again is a duplicate whatever the stored state has become.

A record's fields are checked here first, under their national names, with the same rules the
ingest path applies, so that its answer can be mapped back record by record.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import BaseModel, TypeAdapter, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from app.catalog import repository as catalog
from app.catalog.service import fold_name
from app.core.problems import field_error, pydantic_errors
from app.ingest import repository as dossiers
from app.ingest import service as ingest
from app.ingest.national import repository
from app.ingest.national.schemas import (
    MESSAGE_SUCCESS,
    NATIONAL_FIELD,
    STEP_FIELD,
    NationalRecord,
    ProgressStep,
    RejectedRecord,
    SyncResult,
)
from app.ingest.schemas import SCORECARD_DEFAULTS, DossierIn, IngestResult
from app.keys.service import Principal

_DOSSIER = TypeAdapter(DossierIn)
_TIMESTAMPS = ("submitted_at", "received_at", "due_at", "finished_at", "returned_at")
EVENT_ID_PREFIX = "dvcqg-"
STEP_EVENT_ID_PREFIX = "dvcqg-step-"
# A procedure the catalog lacks joins it at this level when a record gives none.
DEFAULT_LEVEL = 2
_TICK = dt.timedelta(microseconds=1)


@dataclass
class MappedRecord:
    """A national record that passed every check, as our dossier snapshot."""

    index: int
    dossier: DossierIn
    snapshot: dict[str, Any]
    follows_procedure_level: bool


@dataclass
class _Current:
    snapshot: dict[str, Any]
    chain: str
    occurred_at: dt.datetime


def _snapshot(dossier: DossierIn, follows_procedure_level: bool) -> dict[str, Any]:
    """The state a record sets, instants in UTC, comparable with a stored state."""
    state = dossier.model_dump(exclude={"code"})
    for name in _TIMESTAMPS:
        if state[name] is not None:
            state[name] = state[name].astimezone(dt.UTC)
    state["follows_procedure_level"] = follows_procedure_level
    return state


def _digest(content: Any) -> str:
    return hashlib.sha256(ingest.canonical_json(content)).hexdigest()


def digest_state(snapshot: dict[str, Any]) -> dict[str, Any]:
    """A snapshot as event ids are hashed from it: scorecard fields at their defaults left out
    (so ids stay what they were before those fields existed), a fee as its plain decimal."""
    state = {k: v for k, v in snapshot.items() if SCORECARD_DEFAULTS.get(k, ...) != v}
    if "fee_amount" in state:
        state["fee_amount"] = ingest.plain_decimal(state["fee_amount"])
    return state


def derived_event_id(code: str, replaces: str, snapshot: dict[str, Any]) -> str:
    """A stable event id for dossier `code` taking `snapshot` in place of state `replaces`."""
    return EVENT_ID_PREFIX + _digest(
        {"code": code, "replaces": replaces, "state": digest_state(snapshot)}
    )


def step_event_id(step: ProgressStep) -> str:
    """A stable event id for a progress step: its dossier, status and time."""
    moment = step.occurred_at.astimezone(dt.UTC)
    return (
        STEP_EVENT_ID_PREFIX
        + _digest({"code": step.code, "status": step.status, "at": moment})[:100]
    )


def _raw_code(raw: Any) -> str | None:
    value = raw.get("MaHoSo") if isinstance(raw, dict) else None
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value[:64] if isinstance(value, str) and value.strip() else None


def _national_loc(index: int, loc: Sequence[Any], fields: Mapping[str, str]) -> list[Any]:
    """`["events", j, "dossier", "channel"]` → `["data", i, "KenhThucHien"]` (and the event's
    `occurred_at` → the step's `ThoiDiemXuLy`); what has no national name → `["data", i]`."""
    if len(loc) >= 4 and loc[2] == "dossier":
        field = str(loc[3])
        return ["data", index, fields.get(field, field), *loc[4:]]
    if len(loc) == 3 and loc[2] == "dossier" and "received_at" in fields:
        # The one whole-snapshot rule: a received status needs NgayTiepNhan.
        return ["data", index, fields["received_at"]]
    if len(loc) >= 3 and str(loc[2]) in fields:
        return ["data", index, fields[str(loc[2])], *loc[3:]]
    return ["data", index]


class _Outcome:
    """Counts of one sync request."""

    def __init__(self) -> None:
        self.applied = 0
        self.duplicates = 0
        self.stale = 0
        self.rejected: list[RejectedRecord] = []

    def reject(self, index: int, code: str | None, errors: list[dict[str, Any]]) -> None:
        self.rejected.append(RejectedRecord(index=index, MaHoSo=code, errors=errors))

    def reject_field(self, index: int, code: str | None, field: str, msg: str, kind: str) -> None:
        self.reject(index, code, [field_error(["data", index, field], msg, kind)])

    def merge(
        self, result: IngestResult, origin: list[tuple[int, str]], fields: Mapping[str, str]
    ) -> None:
        """Fold the ingest path's answer in, record by record (`origin`: index and code of
        each event sent)."""
        self.applied += result.applied + result.stale
        self.stale += result.stale
        self.duplicates += result.duplicates
        for r in result.rejected:
            index, code = origin[r.index]
            errors = [
                field_error(_national_loc(index, e["loc"], fields), e["msg"], e["code"])
                for e in r.errors
            ]
            self.reject(index, code, errors)

    def result(self, sent: int) -> SyncResult:
        self.rejected.sort(key=lambda r: r.index)
        if self.rejected:
            error_code = 1
            message = (
                f"Có {len(self.rejected)}/{sent} bản ghi bị từ chối (xem rejected); "
                "sửa và gửi lại các bản ghi này"
            )
        else:
            error_code, message = 0, MESSAGE_SUCCESS
        return SyncResult(
            error_code=error_code,
            message=message,
            applied=self.applied,
            duplicates=self.duplicates,
            stale=self.stale,
            rejected=self.rejected,
        )


_Model = TypeVar("_Model", bound=BaseModel)


def _parse(model: type[_Model], records: list[Any], outcome: _Outcome) -> list[tuple[int, _Model]]:
    """Records that parse as `model`; the others rejected with their national field names."""
    parsed: list[tuple[int, _Model]] = []
    for index, raw in enumerate(records):
        if not isinstance(raw, dict):
            outcome.reject(
                index, None, [field_error(["data", index], "expected an object", "object_type")]
            )
            continue
        try:
            parsed.append((index, model.model_validate(raw)))
        except ValidationError as exc:
            outcome.reject(index, _raw_code(raw), pydantic_errors(exc.errors(), ["data", index]))
    return parsed


class UnitResolver:
    """DonViXuLy → unit code: unit codes, then agency codes, then names and aliases (trimmed,
    case-folded), then the unit whose agency code is the sender's `MaDinhDanhDV`."""

    def __init__(self, codes: set[str], agencies: dict[str, str], fallback: str | None) -> None:
        self._codes = codes
        self._agencies = agencies
        self._fallback = fallback
        self._names: dict[str, set[str]] | None = None

    @classmethod
    async def load(
        cls, session: AsyncSession, values: Sequence[str], sender_agency: str | None
    ) -> UnitResolver:
        """A resolver for these values (codes and agency codes looked up at once)."""
        lookup = [*values, *([sender_agency] if sender_agency else [])]
        codes, agencies = await repository.units_by_code(session, lookup)
        resolver = cls(codes, agencies, agencies.get(sender_agency) if sender_agency else None)
        if any(v not in codes and v not in agencies for v in values):
            names: dict[str, set[str]] = {}
            for unit in await repository.named_units(session):
                for name in (unit.name, *unit.aliases):
                    if name:
                        names.setdefault(fold_name(name), set()).add(unit.code)
            resolver._names = names
        return resolver

    def resolve(self, value: str | None) -> tuple[str | None, str]:
        """The unit code, or None and why."""
        if value is not None:
            if value in self._codes:
                return value, ""
            if value in self._agencies:
                return self._agencies[value], ""
            named = (self._names or {}).get(fold_name(value), set())
            if len(named) == 1:
                return next(iter(named)), ""
            if len(named) > 1:
                return None, (
                    f"{value!r} names {len(named)} units ({', '.join(sorted(named))}); "
                    "send the unit code or give the units distinct aliases"
                )
        if self._fallback is not None:
            return self._fallback, ""
        if value is None:
            return None, "no DonViXuLy, and no unit carries the query's MaDinhDanhDV as agency code"
        return None, f"no unit has the code, agency code, name or alias {value!r}"


async def sync_records(
    session: AsyncSession, key: Principal, records: list[Any], sender_agency: str | None = None
) -> SyncResult:
    """Apply national records in arrival order; each is applied, a duplicate, or rejected."""
    outcome = _Outcome()
    accepted, outcome.rejected = await map_records(session, key, records, sender_agency)
    if not accepted:
        return outcome.result(len(records))

    codes = [a.dossier.code for a in accepted]
    await dossiers.lock_dossiers(session, codes)
    now = await repository.clock(session)
    current = {
        code: _Current(state.snapshot, f"log:{state.last_event_id}", state.occurred_at)
        for code, state in (await dossiers.current_states(session, codes)).items()
    }
    events: list[dict[str, Any]] = []
    following: list[str] = []
    origin: list[tuple[int, str]] = []
    last = now - _TICK
    for a in accepted:
        code = a.dossier.code
        state = current.get(code)
        if state is not None and state.snapshot == a.snapshot:
            outcome.duplicates += 1
            continue
        # Strictly increasing along the body, and newer than what the dossier holds.
        occurred_at = max(now + dt.timedelta(microseconds=a.index), last + _TICK)
        if state is not None:
            occurred_at = max(occurred_at, state.occurred_at + _TICK)
        last = occurred_at
        event_id = derived_event_id(code, state.chain if state else "new", a.snapshot)
        events.append(
            {"event_id": event_id, "occurred_at": occurred_at, "dossier": a.dossier.model_dump()}
        )
        if a.follows_procedure_level:
            following.append(event_id)
        origin.append((a.index, code))
        current[code] = _Current(a.snapshot, event_id, occurred_at)
    if events:
        result = await ingest.ingest_events(session, key, events, following=following)
        if result.stale:
            # Impossible while the locks are held and every occurred_at is the newest.
            raise RuntimeError(f"national sync produced {result.stale} stale events")
        outcome.merge(result, origin, NATIONAL_FIELD)
    return outcome.result(len(records))


async def map_records(
    session: AsyncSession, key: Principal, records: list[Any], sender_agency: str | None = None
) -> tuple[list[MappedRecord], list[RejectedRecord]]:
    """Map and check every record: the ones that pass as snapshots, the others with reasons.
    Takes the shared locks of the records' procedures (whose level and eligibility ingest
    reads), until commit."""
    outcome = _Outcome()
    parsed = _parse(NationalRecord, records, outcome)
    if not parsed:
        return [], outcome.rejected

    # Before any dossier lock, as every writer orders them.
    await dossiers.lock_procedures(session, [r.procedure_code for _, r in parsed], shared=True)
    levels = await repository.procedure_levels(session, [r.procedure_code for _, r in parsed])
    units = await UnitResolver.load(
        session, [r.handling_unit for _, r in parsed if r.handling_unit], sender_agency
    )
    allowed = (
        await catalog.unit_subtree(session, key.unit_code) if key.unit_code is not None else None
    )
    accepted: list[MappedRecord] = []
    for index, record in parsed:
        unit_code, why = units.resolve(record.handling_unit)
        if unit_code is None:
            outcome.reject_field(index, record.code, "DonViXuLy", why, "unit_unknown")
            continue
        if allowed is not None and unit_code not in allowed:
            outcome.reject_field(
                index,
                record.code,
                "DonViXuLy",
                f"this key may only send dossiers of unit {key.unit_code} or of units below it",
                "unit_not_allowed",
            )
            continue
        follows = record.service_level is None
        level = record.service_level or levels.get(record.procedure_code, DEFAULT_LEVEL)
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
                [
                    field_error(_national_loc(index, e["loc"], NATIONAL_FIELD), e["msg"], e["code"])
                    for e in errors
                ],
            )
            continue
        # What the catalog will say once this record is in: the first level seen stands.
        levels.setdefault(record.procedure_code, level)
        accepted.append(MappedRecord(index, dossier, _snapshot(dossier, follows), follows))
    return accepted, outcome.rejected


def _procedures(states: Mapping[str, dossiers.StoredState]) -> set[str]:
    return {s.snapshot["procedure_code"] for s in states.values()}


async def sync_steps(session: AsyncSession, key: Principal, records: list[Any]) -> SyncResult:
    """Store progress steps (`CapNhatTienDoHoSoMC`) as snapshots of their dossiers."""
    outcome = _Outcome()
    parsed = _parse(ProgressStep, records, outcome)
    if not parsed:
        return outcome.result(len(records))

    # A step sent before (same dossier, status and time) is a duplicate, whatever came since.
    ids = {index: step_event_id(step) for index, step in parsed}
    logged = await dossiers.stored_event_hashes(session, key.source, list(set(ids.values())))
    seen: set[str] = set()
    fresh: list[tuple[int, ProgressStep]] = []
    for index, step in parsed:
        if ids[index] in logged or ids[index] in seen:
            outcome.duplicates += 1
        else:
            seen.add(ids[index])
            fresh.append((index, step))
    if not fresh:
        return outcome.result(len(records))

    codes = sorted({step.code for _, step in fresh})
    # The dossiers' procedures are locked first (shared), so that a catalog change (level,
    # eligibility) cannot slip between reading the stored state and writing it back.
    locked = _procedures(await dossiers.current_states(session, codes))
    await dossiers.lock_procedures(session, locked, shared=True)
    await dossiers.lock_dossiers(session, codes)
    stored = await dossiers.current_states(session, codes)
    # A dossier moved to another procedure meanwhile: that one too (a catalog change takes no
    # dossier lock, so this late lock cannot close a cycle with it).
    await dossiers.lock_procedures(session, _procedures(stored) - locked, shared=True)

    events: list[dict[str, Any]] = []
    following: list[str] = []
    origin: list[tuple[int, str]] = []
    for index, step in fresh:
        state = stored.get(step.code)
        if state is None:
            outcome.reject_field(
                index,
                step.code,
                "MaHoSo",
                f"dossier {step.code!r} is unknown; send it with DongBoHoSoMC first",
                "dossier_unknown",
            )
            continue
        snapshot = {k: v for k, v in state.snapshot.items() if k != "follows_procedure_level"}
        dossier = {**snapshot, "code": step.code, "status": step.status}
        events.append({"event_id": ids[index], "occurred_at": step.occurred_at, "dossier": dossier})
        if state.snapshot["follows_procedure_level"]:
            following.append(ids[index])
        origin.append((index, step.code))
    if events:
        result = await ingest.ingest_events(session, key, events, following=following)
        outcome.merge(result, origin, STEP_FIELD)
    return outcome.result(len(records))
