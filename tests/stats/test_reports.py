"""Report 06, procedure coverage, exports (CSV, XLSX) and HTTP caching."""

from __future__ import annotations

import csv
import io
import zipfile

import httpx
import pytest
from openpyxl import load_workbook

from tests.conftest import csv_body, event

Q1 = {"from": "2017-01-01", "to": "2017-03-31"}


async def send(api: httpx.AsyncClient, *events: dict) -> None:
    response = await api.post("/v1/events", json={"events": list(events)})
    assert response.status_code == 200 and not response.json()["rejected"], response.text


async def mixed_quarter(api: httpx.AsyncClient) -> None:
    """One dossier per column of report 06, in Mỹ Đức, Q1 2017."""
    await send(
        api,
        # received in Q1, online, still processing, due after the quarter: pending on time
        event(
            "a",
            code="A",
            channel="online",
            received_at="2017-02-01T08:00:00+07:00",
            due_at="2017-04-10T17:00:00+07:00",
        ),
        # received in Q1 in person, finished before its due date: early
        event(
            "b",
            code="B",
            channel="in_person",
            status="finished",
            received_at="2017-02-01T08:00:00+07:00",
            due_at="2017-02-10T17:00:00+07:00",
            finished_at="2017-02-08T10:00:00+07:00",
        ),
        # carried over from 2016, returned on its due date in Q1: on time
        event(
            "c",
            code="C",
            channel="postal",
            status="returned",
            received_at="2016-12-20T08:00:00+07:00",
            due_at="2017-01-05T17:00:00+07:00",
            finished_at="2017-01-05T09:00:00+07:00",
        ),
        # carried over, finished late in Q1
        event(
            "d",
            code="D",
            channel="online",
            status="finished",
            received_at="2016-12-28T08:00:00+07:00",
            due_at="2017-01-02T17:00:00+07:00",
            finished_at="2017-01-09T09:00:00+07:00",
        ),
        # received in Q1, overdue at the end of the quarter
        event(
            "e",
            code="E",
            channel="online",
            received_at="2017-03-01T08:00:00+07:00",
            due_at="2017-03-10T17:00:00+07:00",
            domain_code="DD",
        ),
        # withdrawn: counts as received but never carried over or pending
        event(
            "f",
            code="F",
            channel="in_person",
            status="withdrawn",
            received_at="2017-03-02T08:00:00+07:00",
            domain_code="DD",
        ),
        # finished in 2016: not carried over
        event(
            "g",
            code="G",
            status="finished",
            received_at="2016-11-01T08:00:00+07:00",
            finished_at="2016-11-05T08:00:00+07:00",
        ),
        # refused: never counts
        event("h", code="H", status="refused", received_at=None),
    )


async def test_report06_counts_each_column(api: httpx.AsyncClient) -> None:
    await mixed_quarter(api)
    response = await api.get("/v1/stats/report-06", params={**Q1, "unit": "282"})
    assert response.status_code == 200
    body = response.json()
    rows = {r["domain_code"]: r for r in body["rows"]}
    assert rows["TP"] == {
        "unit_level": "commune",
        "domain_code": "TP",
        "domain_name": "Tư pháp",
        "unit_code": None,
        "unit_name": None,
        "received_total": 4,
        "received_online": 1,
        "received_offline": 1,
        "carried_over": 2,
        "finished_total": 3,
        "finished_early": 1,
        "finished_on_time": 1,
        "finished_late": 1,
        "pending_total": 1,
        "pending_on_time": 1,
        "pending_overdue": 0,
    }
    assert rows["DD"]["received_online"] == 1 and rows["DD"]["received_offline"] == 1
    assert rows["DD"]["pending_overdue"] == 1 and rows["DD"]["pending_on_time"] == 0
    # v2: the withdrawn dossier ended (on the date of its snapshot) and counts as on time.
    assert rows["DD"]["finished_on_time"] == 1 and rows["DD"]["finished_total"] == 1
    assert body["overall"]["received_total"] == 6
    assert body["overall"]["pending_total"] == 2


async def test_report06_domain_rows_come_in_sections_by_unit_level(
    api: httpx.AsyncClient,
) -> None:
    received = "2017-02-01T08:00:00+07:00"
    await send(
        api,
        event("c1", code="C1", unit_code="10441", domain_code="TP", received_at=received),
        event("c2", code="C2", unit_code="10444", domain_code="DD", received_at=received),
        event("d1", code="D1", unit_code="282", domain_code="TP", received_at=received),
        event("p1", code="P1", unit_code="01", domain_code="XD", received_at=received),
        event("n1", code="N1", unit_code="77777", domain_code="DD", received_at=received),
    )
    body = (await api.get("/v1/stats/report-06", params=Q1)).json()
    assert [(r["unit_level"], r["domain_code"], r["received_total"]) for r in body["rows"]] == [
        ("province", "XD", 1),
        ("district", "TP", 1),
        ("commune", "DD", 1),
        ("commune", "TP", 1),
        (None, "DD", 1),
    ]
    response = await api.get("/v1/stats/report-06", params={**Q1, "format": "csv"})
    rows = list(csv.DictReader(io.StringIO(csv_body(response))))
    assert [(r["unit_level"], r["domain_code"]) for r in rows] == [
        ("province", "XD"),
        ("district", "TP"),
        ("commune", "DD"),
        ("commune", "TP"),
        ("", "DD"),
    ]


async def test_report06_by_unit(api: httpx.AsyncClient) -> None:
    await mixed_quarter(api)
    await send(
        api, event("z", code="Z", unit_code="10444", received_at="2017-01-03T08:00:00+07:00")
    )
    body = (await api.get("/v1/stats/report-06", params={**Q1, "group_by": "unit"})).json()
    assert [(r["unit_code"], r["unit_name"]) for r in body["rows"]] == [
        ("10441", "Thị trấn Đại Nghĩa"),
        ("10444", "Xã Đồng Tâm"),
    ]
    counts = {r["unit_code"]: r for r in body["rows"]}
    # Đại Nghĩa holds the whole mixed quarter: TP and DD of report_06_counts_each_column added.
    assert counts["10441"] == {
        "unit_level": None,
        "domain_code": None,
        "domain_name": None,
        "unit_code": "10441",
        "unit_name": "Thị trấn Đại Nghĩa",
        "received_total": 6,
        "received_online": 2,
        "received_offline": 2,
        "carried_over": 2,
        "finished_total": 4,
        "finished_early": 1,
        "finished_on_time": 2,
        "finished_late": 1,
        "pending_total": 2,
        "pending_on_time": 1,
        "pending_overdue": 1,
    }
    # Z: received online on 3 January, still processing, due 14 February: overdue at the end.
    assert {k: v for k, v in counts["10444"].items() if isinstance(v, int) and v} == {
        "received_total": 1,
        "received_online": 1,
        "pending_total": 1,
        "pending_overdue": 1,
    }
    assert body["overall"]["received_total"] == 7 and body["overall"]["pending_overdue"] == 2


async def test_online_ratio_xlsx_has_percentages_and_basis(api: httpx.AsyncClient) -> None:
    await mixed_quarter(api)
    response = await api.get(
        "/v1/stats/online-ratio", params={**Q1, "basis": "all", "format": "xlsx"}
    )
    sheet = load_workbook(io.BytesIO(response.content)).active
    assert sheet is not None
    assert sheet["A1"].value == "TỶ LỆ HỒ SƠ NỘP TRỰC TUYẾN"
    assert "Cách tính (all)" in sheet["A4"].value
    headings = [c.value for c in sheet[6]]
    assert headings[:6] == [
        "Kỳ",
        "Mã lĩnh vực",
        "Lĩnh vực",
        "Hồ sơ trực tuyến",
        "Tổng số hồ sơ",
        "Tỷ lệ",
    ]
    tp_row = next(r for r in sheet.iter_rows(min_row=8) if r[1].value == "TP")
    assert tp_row[3].value == 1 and tp_row[4].value == 2
    assert tp_row[5].value == 0.5 and tp_row[5].number_format == "0.00%"
    assert tp_row[7].value == "Chưa đạt"


async def test_report06_csv(api: httpx.AsyncClient) -> None:
    await mixed_quarter(api)
    response = await api.get("/v1/stats/report-06", params={**Q1, "format": "csv"})
    rows = list(csv.DictReader(io.StringIO(csv_body(response))))
    assert [r["domain_code"] for r in rows] == ["DD", "TP"]
    assert rows[1]["carried_over"] == "2"


async def test_etag_changes_exactly_when_the_data_does(api: httpx.AsyncClient) -> None:
    await mixed_quarter(api)
    url = "/v1/stats/online-ratio"
    first = await api.get(url, params=Q1)
    etag = first.headers["etag"]
    assert etag.startswith('"') and first.headers["cache-control"] == "private, no-cache"
    again = await api.get(url, params=Q1, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.headers["etag"] == etag and again.content == b""
    # An event outside the range changes nothing in this answer: same ETag.
    await send(api, event("x", code="X", received_at="2019-05-05T08:00:00+07:00"))
    assert (await api.get(url, params=Q1)).headers["etag"] == etag
    # One inside it does.
    await send(api, event("y", code="Y", received_at="2017-02-05T08:00:00+07:00"))
    changed = await api.get(url, params=Q1, headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["etag"] != etag


async def test_xlsx_bytes_are_stable_for_the_same_data(api: httpx.AsyncClient) -> None:
    await mixed_quarter(api)
    params = {**Q1, "format": "xlsx"}
    a = await api.get("/v1/stats/report-06", params=params)
    b = await api.get("/v1/stats/report-06", params=params)
    assert a.content == b.content and a.headers["etag"] == b.headers["etag"]
    # No clock inside: openpyxl's own save would stamp `modified` with the time of the request.
    core = zipfile.ZipFile(io.BytesIO(a.content)).read("docProps/core.xml").decode()
    assert "<dcterms:modified" in core and "2017-01-01T00:00:00Z</dcterms:modified>" in core


async def test_procedures_from_events_and_catalog(api: httpx.AsyncClient) -> None:
    await send(
        api,
        event("a", code="A", procedure_code="1.1", service_level=2, unit_code="10444"),
        event("b", code="B", procedure_code="1.1", service_level=4, unit_code="282"),
    )
    listed = {p["code"]: p for p in (await api.get("/v1/procedures")).json()}
    assert listed["1.1"] == {
        "code": "1.1",
        "name": "Đăng ký khai sinh",
        "domain_code": "TP",
        "service_level": 2,
        "unit_levels": ["commune", "district"],
        "from_catalog": False,
        # Not chosen in the catalog: eligible exactly at level 4.
        "full_online_eligible": False,
        "full_online_eligible_set": False,
    }
    put = await api.put(
        "/v1/procedures/1.1",
        json={
            "name": "Khai sinh",
            "domain_code": "TP",
            "service_level": 3,
            "unit_levels": ["commune"],
        },
    )
    assert put.status_code == 200 and put.json()["from_catalog"] is True
    await send(api, event("c", code="C", procedure_code="1.1", service_level=4, unit_code="01"))
    after = {p["code"]: p for p in (await api.get("/v1/procedures")).json()}["1.1"]
    assert after["service_level"] == 3 and after["unit_levels"] == ["commune"]


async def test_put_procedure_with_unknown_domain_is_422(api: httpx.AsyncClient) -> None:
    response = await api.put(
        "/v1/procedures/9.9", json={"name": "x", "domain_code": "NOPE", "service_level": 3}
    )
    assert response.status_code == 422
    assert response.json()["errors"][0] == {
        "loc": ["body", "domain_code"],
        "msg": "domain 'NOPE' is not in the catalog",
        "code": "unknown_domain",
    }


async def test_procedure_coverage_per_domain_and_level(api: httpx.AsyncClient) -> None:
    procedures = [
        ("p1", "TP", 2, ["commune"]),
        ("p2", "TP", 3, ["commune"]),
        ("p3", "TP", 4, ["district"]),
        ("p4", "DD", 2, ["district", "commune"]),
        ("p5", "DD", 2, ["commune"]),
    ]
    for code, domain, level, levels in procedures:
        r = await api.put(
            f"/v1/procedures/{code}",
            json={
                "name": code,
                "domain_code": domain,
                "service_level": level,
                "unit_levels": levels,
            },
        )
        assert r.status_code == 201
    await api.put("/v1/domains/DD", json={"name": "Đất đai", "coverage_target": 0.0})
    body = (await api.get("/v1/stats/procedure-coverage")).json()
    rows = {r["domain_code"]: r for r in body["rows"]}
    assert rows["TP"] == {
        "domain_code": "TP",
        "domain_name": "Tư pháp",
        "procedures": 3,
        "online_capable": 2,
        "full_online": 1,
        "ratio": 2 / 3,
        "target": 0.4,
        "meets_target": True,
    }
    assert rows["DD"]["ratio"] == 0.0 and rows["DD"]["meets_target"] is True
    assert body["overall"] == {
        "procedures": 5,
        "online_capable": 2,
        "full_online": 1,
        "ratio": 0.4,
        "target": 0.4,
        "meets_target": True,
    }
    commune = (
        await api.get("/v1/stats/procedure-coverage", params={"unit_level": "commune"})
    ).json()
    assert commune["overall"]["procedures"] == 4 and commune["overall"]["online_capable"] == 1
    csv_rows = list(
        csv.DictReader(
            io.StringIO(
                (
                    await api.get(
                        "/v1/stats/procedure-coverage", params={"format": "csv", "domain": "TP"}
                    )
                ).text
            )
        )
    )
    assert [r["procedures"] for r in csv_rows] == ["3"]


@pytest.mark.parametrize(
    ("path", "params", "loc"),
    [
        ("/v1/stats/report-06", {**Q1, "group_by": "none"}, ["query", "group_by"]),
        ("/v1/stats/report-06", {**Q1, "format": "pdf"}, ["query", "format"]),
        ("/v1/stats/procedure-coverage", {"unit_level": "province"}, ["query", "unit_level"]),
        ("/v1/stats/procedure-coverage", {"format": "xlsx"}, ["query", "format"]),
    ],
)
async def test_bad_report_parameters_are_422(
    api: httpx.AsyncClient, path: str, params: dict, loc: list
) -> None:
    response = await api.get(path, params=params)
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == loc
