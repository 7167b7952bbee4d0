"""`dossier-stats import FILE`: CSV and JSON Lines, native and national, idempotent."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import httpx
import orjson

from tests.conftest import event
from tests.test_cli import run_cli
from tests.test_compat import record


def read_rejected(path: Path) -> list[dict]:
    return [json.loads(line) for line in Path(f"{path}.rejected.jsonl").read_text().splitlines()]


def write_jsonl(path: Path, rows: list) -> Path:
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in rows))
    return path


async def test_jsonl_of_native_and_national_rows_is_imported_and_rerun_adds_nothing(
    api: httpx.AsyncClient, database_url: str, tmp_path: Path
) -> None:
    rows = [
        event("n1", code="N1"),
        event("n2", code="N1", occurred_at="2017-02-11T09:00:00+07:00", status="fees_due"),
        record("H1", TrangThaiHoSo=2),
        record("H1", TrangThaiHoSo=4),
        record("H1", TrangThaiHoSo=9, NgayKetThucXuLy="20170213100000"),
        record("H2", KenhThucHien=9),
    ]
    path = write_jsonl(tmp_path / "export.jsonl", rows)
    path.write_bytes(path.read_bytes() + b"{broken\n")
    code, _, err = await run_cli(database_url, "import", str(path))
    assert code == 0, err
    assert (await api.get("/v1/dossiers/N1")).json()["status"] == "fees_due"
    assert (await api.get("/v1/dossiers/H1")).json()["status"] == "finished"

    rejected = read_rejected(path)
    assert [r["line"] for r in rejected] == [6, 7]
    assert rejected[0]["errors"][0]["loc"] == ["row", "KenhThucHien"]
    assert rejected[1]["errors"][0]["code"] == "json_invalid"

    code, _, err = await run_cli(database_url, "import", str(path))
    assert code == 0
    assert (await api.get("/v1/dossiers/H1")).json()["events"] == 3
    assert (await api.get("/v1/dossiers/N1")).json()["events"] == 2


async def test_flat_native_csv_is_imported(
    api: httpx.AsyncClient, database_url: str, tmp_path: Path
) -> None:
    path = tmp_path / "export.csv"
    flat = {"event_id": "c1", "occurred_at": "2017-03-01T10:00:00+07:00"}
    flat |= {k: ("" if v is None else v) for k, v in event("c1", code="C1")["dossier"].items()}
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(flat))
        writer.writeheader()
        writer.writerow(flat)
        writer.writerow({**flat, "event_id": "c2", "code": "C2", "channel": "fax"})
    code, _, err = await run_cli(database_url, "import", str(path))
    assert code == 0, err
    dossier = (await api.get("/v1/dossiers/C1")).json()
    assert dossier["service_level"] == 3 and dossier["finished_at"] is None
    rejected = read_rejected(path)
    assert [r["line"] for r in rejected] == [3]
