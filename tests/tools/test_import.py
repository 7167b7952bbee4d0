"""`dossier-stats import FILE`: CSV and JSON Lines, native and national, idempotent."""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import re
import sys
from pathlib import Path
from typing import Any

import httpx
import orjson

from tests.conftest import event
from tests.ingest.national.test_national import record
from tests.support.terminal import plain, read_until, start_on_terminal
from tests.tools.test_cli import run_cli, run_wide_cli


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
    assert code == 1, err  # rows were rejected
    assert "2 rows rejected" in err
    assert (await api.get("/v1/dossiers/N1")).json()["status"] == "fees_due"
    assert (await api.get("/v1/dossiers/H1")).json()["status"] == "finished"

    rejected = read_rejected(path)
    assert [r["line"] for r in rejected] == [6, 7]
    assert rejected[0]["errors"][0]["loc"] == ["row", "KenhThucHien"]
    assert rejected[1]["errors"][0]["code"] == "json_invalid"

    code, _, err = await run_cli(database_url, "import", str(path), "--allow-rejects")
    assert code == 0, err
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
    code, _, err = await run_cli(database_url, "import", str(path), "--allow-rejects")
    assert code == 0, err
    dossier = (await api.get("/v1/dossiers/C1")).json()
    assert dossier["service_level"] == 3 and dossier["finished_at"] is None
    rejected = read_rejected(path)
    assert [r["line"] for r in rejected] == [3]


def write_csv(path: Path, rows: list[dict[str, Any]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def flat_row(event_id: str, occurred_at: str, **dossier: Any) -> dict[str, Any]:
    """A flat CSV row as a legacy export writes it: blanks for nothing."""
    fields = event(event_id, code=event_id.upper(), **dossier)["dossier"]
    flat = {"event_id": event_id, "occurred_at": occurred_at}
    return flat | {k: ("" if v is None else v) for k, v in fields.items()}


async def received_at(api: httpx.AsyncClient, code: str) -> dt.datetime:
    response = await api.get(f"/v1/dossiers/{code}")
    assert response.status_code == 200, response.text
    return dt.datetime.fromisoformat(response.json()["received_at"])


async def test_timestamps_without_offset_are_read_as_vietnam_time(
    api: httpx.AsyncClient, database_url: str, tmp_path: Path
) -> None:
    path = write_csv(
        tmp_path / "legacy.csv",
        [
            flat_row("l1", "2017-03-31 23:45:00", received_at="2017-03-31 23:30:00"),
            # An offset that is written is kept.
            flat_row("l2", "2017-04-01T00:00:00Z", received_at="2017-03-31T17:30:00+00:00"),
        ],
    )
    code, _, err = await run_cli(database_url, "import", str(path))
    assert code == 0, err
    assert await received_at(api, "L1") == dt.datetime(2017, 3, 31, 16, 30, tzinfo=dt.UTC)
    assert await received_at(api, "L2") == dt.datetime(2017, 3, 31, 17, 30, tzinfo=dt.UTC)
    # Counted on the local date: L1 in March, L2 (00:30 on 1 April in Vietnam) in April.
    stats = await api.get(
        "/v1/stats/online-ratio",
        params={"from": "2017-03-01", "to": "2017-04-30", "period": "month", "group_by": "none"},
    )
    assert [(r["period"], r["total"]) for r in stats.json()["rows"]] == [
        ("2017-03", 1),
        ("2017-04", 1),
    ]


async def test_timezone_option_reads_offset_less_timestamps_in_that_zone(
    api: httpx.AsyncClient, database_url: str, tmp_path: Path
) -> None:
    native = write_csv(
        tmp_path / "utc.csv",
        [flat_row("u1", "2017-03-31T18:00:00", received_at="2017-03-31T17:30:00")],
    )
    national = write_jsonl(
        tmp_path / "utc.jsonl",
        [record("U2", NgayTiepNhan="20170331173000", NgayNopHoSo="20170331170000")],
    )
    for path in (native, national):
        code, _, err = await run_cli(database_url, "import", str(path), "--timezone", "UTC")
        assert code == 0, err
    expected = dt.datetime(2017, 3, 31, 17, 30, tzinfo=dt.UTC)
    assert await received_at(api, "U1") == expected
    assert await received_at(api, "U2") == expected

    code, _, err = await run_cli(database_url, "import", str(native), "--timezone", "Mars/Base")
    assert code == 2 and "Mars/Base" in err


async def test_rejected_rows_fail_the_import_unless_allowed(
    api: httpx.AsyncClient, database_url: str, tmp_path: Path
) -> None:
    path = write_jsonl(tmp_path / "bad.jsonl", [event("b1", code="B1"), event("b2", channel="fax")])
    code, _, err = await run_cli(database_url, "import", str(path))
    assert code == 1
    assert "1 rows rejected" in err
    assert (await api.get("/v1/dossiers/B1")).status_code == 200  # the good row is kept
    code, _, err = await run_cli(database_url, "import", str(path), "--allow-rejects")
    assert code == 0, err

    clean = write_jsonl(tmp_path / "good.jsonl", [event("g1", code="G1")])
    code, _, err = await run_cli(database_url, "import", str(clean))
    assert code == 0, err


async def test_summary_lists_the_catalog_entries_the_import_added(
    database_url: str, tmp_path: Path
) -> None:
    known = write_jsonl(tmp_path / "known.jsonl", [event("t0", code="T0")])
    code, _, err = run_wide_cli(database_url, "import", str(known))
    assert code == 0 and "added to the catalog, procedures (1): 1.001193" in err, err
    path = write_jsonl(
        tmp_path / "typo.jsonl",
        [
            event("t1", code="T1"),  # all known now: adds nothing
            event("t2", code="T2", procedure_code="1.0O1193", unit_code="10441"),
            event("t3", code="T3", domain_code="TPX", unit_code="99999"),
        ],
    )
    code, _, err = run_wide_cli(database_url, "import", str(path))
    assert code == 0, err
    added = {
        line.split(":")[0].strip(): line.split(":", 1)[1]
        for line in err.splitlines()
        if line.startswith("added to the catalog")
    }
    assert set(added) == {
        "added to the catalog, domains (1)",
        "added to the catalog, units (1)",
        "added to the catalog, procedures (1)",
    }, err
    assert "TPX" in added["added to the catalog, domains (1)"]
    assert "99999" in added["added to the catalog, units (1)"]
    assert "1.0O1193" in added["added to the catalog, procedures (1)"]

    code, _, err = run_wide_cli(database_url, "import", str(path))
    assert code == 0 and "added to the catalog: nothing" in err


def test_progress_bar_knows_the_number_of_rows(database_url: str, tmp_path: Path) -> None:
    rows = [event(f"p{i}", code=f"P{i}") for i in range(7)]
    path = write_jsonl(tmp_path / "progress.jsonl", rows)
    path.write_bytes(path.read_bytes() + b"\n\n")  # blank lines are not rows
    process, terminal = start_on_terminal(
        [sys.executable, "-m", "app", "import", str(path)],
        {**os.environ, "DATABASE_URL": database_url},
    )
    try:
        shown = read_until(terminal, lambda _: False, timeout=60)
    finally:
        process.wait(60)
        os.close(terminal)
    assert process.returncode == 0, shown
    counts = set(re.findall(r"\b(\d+)/(\d+|\?)", plain(shown)))
    assert counts and {total for _, total in counts} == {"7"}, shown
