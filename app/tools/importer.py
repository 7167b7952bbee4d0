"""Bulk import of dossier-history exports (CSV or JSON Lines, native or national field names)
through the one ingest path, in chunks of one transaction each.

* Native rows are events: `{"event_id", "occurred_at", "dossier": {...}}`, or flat with the
  dossier fields beside `event_id` and `occurred_at` (CSV headers are these names).
* National rows (`MaHoSo`, `MaTTHC`, … as in `POST /v1/compat/dvcqg`) carry no event id or
  time. A file is history, not live arrival, so unlike the live endpoint each row becomes an
  event whose `occurred_at` is the latest date the row carries (NgayTra, NgayKetThucXuLy,
  NgayTiepNhan, NgayNopHoSo, NgayHenTra excluded: it is a promise, not an event), ties going to
  the later row, and whose `event_id` is hashed from the dossier code, the snapshot and how many
  identical snapshots of that dossier came before it in the file. A rerun therefore finds only
  duplicates, and a status that returns (4 → 5 → 4) is still a new event.

Legacy exports write local time without an offset. Such timestamps (ISO in native rows; every
`yyyyMMddHHmmss` date in national rows) are read in the file's time zone, Vietnam time unless
the caller names another one; a timestamp that carries its offset is taken as it is.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.catalog import repository as catalog
from app.ingest import service as ingest
from app.ingest.national import service as national_service
from app.ingest.national.schemas import NATIONAL_DATE_FORMAT
from app.ingest.schemas import DossierIn
from app.keys.service import tool_principal
from app.localtime import REPORT_TIMEZONE, REPORT_TIMEZONE_NAME

NATIVE_INTS = ("service_level",)
DOSSIER_FIELDS = tuple(DossierIn.model_fields)
_EVENT_TIME_FIELDS = ("returned_at", "finished_at", "received_at", "submitted_at")
NATIVE_TIME_FIELDS = ("submitted_at", "received_at", "due_at", "finished_at", "returned_at")
NATIONAL_TIME_FIELDS = ("NgayNopHoSo", "NgayTiepNhan", "NgayHenTra", "NgayKetThucXuLy", "NgayTra")


@dataclass
class Row:
    """One row of the file: its line number and content (or why it could not be read)."""

    line: int
    content: Any
    error: str | None = None


@dataclass
class ImportSummary:
    """What happened to the rows of a file."""

    rows: int = 0
    applied: int = 0
    stale: int = 0
    duplicates: int = 0
    rejected: list[dict[str, Any]] = field(default_factory=list)
    added: dict[str, list[str]] = field(default_factory=dict)
    """Catalog entries that did not exist before the import: "domains", "units", "procedures"."""


def read_rows(path: Path) -> Iterator[Row]:
    """Rows of a CSV file (by its `.csv` suffix) or of a JSON Lines file."""
    if path.suffix.lower() == ".csv":
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            for row in reader:
                yield Row(reader.line_num, {k: v for k, v in row.items() if k})
        return
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            if not raw.strip():
                continue
            try:
                yield Row(number, orjson.loads(raw))
            except orjson.JSONDecodeError as exc:
                yield Row(
                    number, raw.decode("utf-8", "replace").rstrip("\n"), f"invalid JSON: {exc}"
                )


def count_rows(path: Path) -> int:
    """How many rows `read_rows` will yield (a CSV record may span lines), for a progress bar."""
    if path.suffix.lower() == ".csv":
        with path.open(newline="", encoding="utf-8-sig") as handle:
            return sum(1 for _ in csv.DictReader(handle))
    with path.open("rb") as handle:
        return sum(1 for raw in handle if raw.strip())


def localize(value: Any, zone: dt.tzinfo) -> Any:
    """An ISO timestamp without offset as the same wall-clock time in `zone`, with the offset
    written out; anything else (with an offset, not a timestamp) as it is."""
    if not isinstance(value, str):
        return value
    try:
        moment = dt.datetime.fromisoformat(value.strip())
    except ValueError:
        return value
    if moment.tzinfo is not None:
        return value
    return moment.replace(tzinfo=zone).isoformat()


def _national_in_vietnam_time(value: Any, zone: dt.tzinfo) -> Any:
    """A national `yyyyMMddHHmmss` date written in `zone`, rewritten in Vietnam time (the
    national format's own zone)."""
    text = str(value).strip() if isinstance(value, str | int) else ""
    if len(text) != 14 or not text.isdigit():
        return value
    try:
        local = dt.datetime.strptime(text, NATIONAL_DATE_FORMAT)
    except ValueError:
        return value
    moment = local.replace(tzinfo=zone).astimezone(REPORT_TIMEZONE)
    return moment.strftime(NATIONAL_DATE_FORMAT)


def national_row(content: dict[str, Any], zone: dt.tzinfo) -> dict[str, Any]:
    """A national row with its dates in Vietnam time."""
    if getattr(zone, "key", None) == REPORT_TIMEZONE_NAME:
        return content
    return {
        k: _national_in_vietnam_time(v, zone) if k in NATIONAL_TIME_FIELDS else v
        for k, v in content.items()
    }


def is_national(content: Any) -> bool:
    """Whether a row uses the national field names."""
    return isinstance(content, dict) and "MaHoSo" in content


def native_event(content: Any, zone: dt.tzinfo = REPORT_TIMEZONE) -> Any:
    """A native row as an event: nested rows as they are, flat ones gathered; timestamps
    without an offset read in `zone`."""
    if not isinstance(content, dict):
        return content
    if "dossier" in content:
        event = dict(content)
    else:
        flat = {k: (None if v == "" else v) for k, v in content.items()}
        for name in NATIVE_INTS:
            value = flat.get(name)
            if isinstance(value, str) and value.strip().isdigit():
                flat[name] = int(value)
        dossier = {k: flat.pop(k) for k in DOSSIER_FIELDS if k in flat}
        event = {**flat, "dossier": dossier}
    if "occurred_at" in event:
        event["occurred_at"] = localize(event["occurred_at"], zone)
    if isinstance(event["dossier"], dict):
        event["dossier"] = {
            k: localize(v, zone) if k in NATIVE_TIME_FIELDS else v
            for k, v in event["dossier"].items()
        }
    return event


async def import_file(
    sessionmaker: async_sessionmaker[AsyncSession],
    path: Path,
    *,
    source: str = "import",
    chunk_size: int = 2000,
    progress: Callable[[int], None] | None = None,
    zone: dt.tzinfo = REPORT_TIMEZONE,
) -> ImportSummary:
    """Import every row of `path`; rejected rows come back with their reasons, and the catalog
    entries the import added are listed."""
    summary = ImportSummary()
    seen: Counter[str] = Counter()
    chunk: list[Row] = []
    before = await _catalog_codes(sessionmaker)
    for row in read_rows(path):
        chunk.append(row)
        if len(chunk) >= chunk_size:
            await _import_chunk(sessionmaker, source, chunk, seen, summary, zone)
            if progress is not None:
                progress(len(chunk))
            chunk = []
    if chunk:
        await _import_chunk(sessionmaker, source, chunk, seen, summary, zone)
        if progress is not None:
            progress(len(chunk))
    summary.rejected.sort(key=lambda r: r["line"])
    after = await _catalog_codes(sessionmaker)
    # Whatever another writer added meanwhile is listed too: the list is for a person to check.
    summary.added = {kind: sorted(after[kind] - before[kind]) for kind in after}
    return summary


async def _catalog_codes(sessionmaker: async_sessionmaker[AsyncSession]) -> dict[str, set[str]]:
    async with sessionmaker() as session:
        return {
            "domains": {d.code for d in await catalog.list_domains(session)},
            "units": {u.code for u in await catalog.list_units(session)},
            "procedures": {p.code for p in await catalog.list_procedures(session)},
        }


async def _import_chunk(
    sessionmaker: async_sessionmaker[AsyncSession],
    source: str,
    rows: list[Row],
    seen: Counter[str],
    summary: ImportSummary,
    zone: dt.tzinfo,
) -> None:
    summary.rows += len(rows)
    events: list[Any] = []
    origin: list[Row] = []

    def reject(row: Row, errors: list[dict[str, Any]]) -> None:
        # ["data", i, "KenhThucHien"] / ["events", j, "dossier", "channel"] → ["row", ...]
        for error in errors:
            loc = error["loc"]
            if len(loc) >= 2 and loc[0] in ("data", "events") and isinstance(loc[1], int):
                error["loc"] = ["row", *loc[2:]]
        summary.rejected.append({"line": row.line, "row": row.content, "errors": errors})

    async with sessionmaker() as session, session.begin():
        key = await tool_principal(session, source)
        national = [r for r in rows if r.error is None and is_national(r.content)]
        mapped, refused = await national_service.map_records(
            session, key, [national_row(r.content, zone) for r in national]
        )
        for rejected in refused:
            reject(national[rejected.index], rejected.errors)
        national_events = {id(national[m.index]): _national_event(m, seen) for m in mapped}
        # Rows without MucDo keep following their procedure's catalog level, as over HTTP.
        following = [
            national_events[id(national[m.index])]["event_id"]
            for m in mapped
            if m.follows_procedure_level
        ]
        for row in rows:
            if row.error is not None:
                reject(row, [{"loc": ["line"], "msg": row.error, "code": "json_invalid"}])
            elif is_national(row.content):
                if id(row) in national_events:
                    events.append(national_events[id(row)])
                    origin.append(row)
            else:
                events.append(native_event(row.content, zone))
                origin.append(row)
        if events:
            result = await ingest.ingest_events(session, key, events, following=following)
            summary.applied += result.applied
            summary.stale += result.stale
            summary.duplicates += result.duplicates
            for r in result.rejected:
                reject(origin[r.index], r.errors)


def _national_event(mapped: national_service.MappedRecord, seen: Counter[str]) -> dict[str, Any]:
    dossier = mapped.dossier
    content = ingest.canonical_json(
        {"code": dossier.code, "state": national_service.digest_state(mapped.snapshot)}
    )
    fingerprint = hashlib.sha256(content).hexdigest()
    occurrence = seen[fingerprint]
    seen[fingerprint] += 1
    event_id = "import-" + hashlib.sha256(f"{fingerprint}:{occurrence}".encode()).hexdigest()
    times = [t for name in _EVENT_TIME_FIELDS if (t := getattr(dossier, name)) is not None]
    if not times and dossier.due_at is not None:
        times = [dossier.due_at]
    if not times:
        return {"event_id": event_id, "occurred_at": None, "dossier": dossier.model_dump()}
    return {"event_id": event_id, "occurred_at": max(times), "dossier": dossier.model_dump()}


def rejected_path(path: Path) -> Path:
    """Where the rejected rows of `path` are written: `FILE.rejected.jsonl`."""
    return path.with_name(path.name + ".rejected.jsonl")


def write_rejected(path: Path, rejected: list[dict[str, Any]]) -> Path:
    """Write rejected rows with their reasons, one JSON object per line; returns the file."""
    target = rejected_path(path)
    with target.open("wb") as handle:
        for entry in rejected:
            handle.write(orjson.dumps(entry, default=str) + b"\n")
    return target
