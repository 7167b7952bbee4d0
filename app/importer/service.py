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
"""

from __future__ import annotations

import csv
import hashlib
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.compat import service as compat
from app.dossiers import service as ingest
from app.dossiers.schemas import DossierIn
from app.keys.service import tool_principal

NATIVE_INTS = ("service_level",)
DOSSIER_FIELDS = tuple(DossierIn.model_fields)
_EVENT_TIME_FIELDS = ("returned_at", "finished_at", "received_at", "submitted_at")


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


def is_national(content: Any) -> bool:
    """Whether a row uses the national field names."""
    return isinstance(content, dict) and "MaHoSo" in content


def native_event(content: Any) -> Any:
    """A native row as an event: nested rows as they are, flat ones gathered."""
    if not isinstance(content, dict) or "dossier" in content:
        return content
    flat = {k: (None if v == "" else v) for k, v in content.items()}
    for name in NATIVE_INTS:
        value = flat.get(name)
        if isinstance(value, str) and value.strip().isdigit():
            flat[name] = int(value)
    dossier = {k: flat.pop(k) for k in DOSSIER_FIELDS if k in flat}
    return {**flat, "dossier": dossier}


async def import_file(
    sessionmaker: async_sessionmaker[AsyncSession],
    path: Path,
    *,
    source: str = "import",
    chunk_size: int = 2000,
    progress: Callable[[int], None] | None = None,
) -> ImportSummary:
    """Import every row of `path`; rejected rows come back with their reasons."""
    summary = ImportSummary()
    seen: Counter[str] = Counter()
    chunk: list[Row] = []
    for row in read_rows(path):
        chunk.append(row)
        if len(chunk) >= chunk_size:
            await _import_chunk(sessionmaker, source, chunk, seen, summary)
            if progress is not None:
                progress(len(chunk))
            chunk = []
    if chunk:
        await _import_chunk(sessionmaker, source, chunk, seen, summary)
        if progress is not None:
            progress(len(chunk))
    summary.rejected.sort(key=lambda r: r["line"])
    return summary


async def _import_chunk(
    sessionmaker: async_sessionmaker[AsyncSession],
    source: str,
    rows: list[Row],
    seen: Counter[str],
    summary: ImportSummary,
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
        mapped, refused = await compat.map_records(session, key, [r.content for r in national])
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
                events.append(native_event(row.content))
                origin.append(row)
        if events:
            result = await ingest.ingest_events(session, key, events, following=following)
            summary.applied += result.applied
            summary.stale += result.stale
            summary.duplicates += result.duplicates
            for r in result.rejected:
                reject(origin[r.index], r.errors)


def _national_event(mapped: compat.MappedRecord, seen: Counter[str]) -> dict[str, Any]:
    dossier = mapped.dossier
    content = orjson.dumps(
        {"code": dossier.code, "state": mapped.snapshot},
        option=orjson.OPT_SORT_KEYS | orjson.OPT_UTC_Z,
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
