"""`GET /v1/dossiers`: the dossiers behind a figure, paged, streamed as CSV, as XLSX."""

from __future__ import annotations

import asyncio
import csv
import io
import os
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest
from openpyxl import load_workbook

from app.dossiers import listing
from app.dossiers.figures import FIGURES
from tests.conftest import MakeKey, bearer, event

Q1 = {"from": "2017-01-01", "to": "2017-03-31"}


async def send(api: httpx.AsyncClient, *events: dict[str, Any]) -> None:
    response = await api.post("/v1/events", json={"events": list(events)})
    assert response.status_code == 200, response.text
    assert response.json()["rejected"] == [], response.text


async def overdue_dossiers(api: httpx.AsyncClient, codes: list[str]) -> None:
    """Dossiers received in February 2017 at Đồng Tâm (10444), due 14 February, still open."""
    await send(
        api,
        *(event(f"e-{code}", code, unit_code="10444", status="processing") for code in codes),
    )


def page_codes(body: dict[str, Any]) -> list[str]:
    return [item["code"] for item in body["items"]]


async def test_first_page_lists_the_dossiers_of_the_figure_with_its_count(
    api: httpx.AsyncClient,
) -> None:
    await overdue_dossiers(api, ["D2", "D1", "D3"])
    await send(api, event("f-1", "F1", status="finished", finished_at="2017-02-12T10:00:00+07:00"))
    response = await api.get("/v1/dossiers", params={"figure": "pending_overdue", **Q1})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["figure"] == "pending_overdue"
    assert body["count"] == 3
    assert page_codes(body) == ["D1", "D2", "D3"]
    assert body["next_cursor"] is None
    lookup = (await api.get("/v1/dossiers/D1")).json()
    assert body["items"][0] == lookup


async def test_cursor_pages_follow_code_byte_order_without_repeats(api: httpx.AsyncClient) -> None:
    # Byte order: digits, upper case, lower case, then non-ASCII (UTF-8 lead bytes >= 0xC3).
    codes = ["a-1", "B-1", "Đ-1", "0-1", "b-0", "Z-9", "á-1", "A-2"]
    await overdue_dossiers(api, codes)
    seen: list[str] = []
    params: dict[str, Any] = {"figure": "pending_total", "limit": 3, **Q1}
    while True:
        body = (await api.get("/v1/dossiers", params=params)).json()
        assert body["count"] == len(codes)
        seen += page_codes(body)
        if body["next_cursor"] is None:
            break
        params["cursor"] = body["next_cursor"]
    assert seen == sorted(codes, key=lambda c: c.encode())


async def test_unit_exact_excludes_units_below_and_unit_level_selects_a_section(
    api: httpx.AsyncClient,
) -> None:
    await send(
        api,
        event("e-1", "AT-DISTRICT", unit_code="282"),
        event("e-2", "AT-COMMUNE", unit_code="10444"),
    )
    base = {"figure": "received_online", **Q1}
    subtree = (await api.get("/v1/dossiers", params={**base, "unit": "282"})).json()
    exact = (await api.get("/v1/dossiers", params={**base, "unit_exact": "282"})).json()
    communes = (await api.get("/v1/dossiers", params={**base, "unit_level": "commune"})).json()
    assert page_codes(subtree) == ["AT-COMMUNE", "AT-DISTRICT"]
    assert (exact["count"], page_codes(exact)) == (1, ["AT-DISTRICT"])
    assert (communes["count"], page_codes(communes)) == (1, ["AT-COMMUNE"])


async def test_online_and_total_follow_the_basis(api: httpx.AsyncClient) -> None:
    await send(
        api,
        event("e-1", "L2-ONLINE", service_level=2),
        event("e-2", "L4-ONLINE", service_level=4),
        event("e-3", "L3-IN-PERSON", channel="in_person"),
    )

    async def codes(figure: str, basis: str) -> list[str]:
        params = {"figure": figure, "basis": basis, **Q1}
        return page_codes((await api.get("/v1/dossiers", params=params)).json())

    assert await codes("online", "online_capable") == ["L4-ONLINE"]
    assert await codes("total", "online_capable") == ["L3-IN-PERSON", "L4-ONLINE"]
    assert await codes("online", "all") == ["L2-ONLINE", "L4-ONLINE"]
    assert await codes("total", "all") == ["L2-ONLINE", "L3-IN-PERSON", "L4-ONLINE"]
    assert await codes("online", "full_online") == ["L4-ONLINE"]


@pytest.mark.parametrize(
    ("params", "field", "code"),
    [
        ({"figure": "overdue"}, "figure", "unknown_figure"),
        ({"figure": "pending_total", "cursor": "not-a-cursor"}, "cursor", "invalid_cursor"),
        ({"figure": "pending_total", "cursor": "azE6"}, "cursor", "invalid_cursor"),
        ({"figure": "pending_total", "limit": "0"}, "limit", "greater_than_equal"),
        ({"figure": "pending_total", "limit": "1001"}, "limit", "less_than_equal"),
        ({"figure": "pending_total", "unit": "99999"}, "unit", "unknown_unit"),
        ({"figure": "pending_total", "unit_exact": "99999"}, "unit_exact", "unknown_unit"),
        ({"figure": "pending_total", "domain": "NOPE"}, "domain", "unknown_domain"),
        ({"figure": "pending_total", "unit_level": "ward"}, "unit_level", "literal_error"),
        ({"figure": "pending_total", "basis": "some"}, "basis", "literal_error"),
        ({"figure": "pending_total", "from": "2017-04-01"}, "from", "date_range"),
    ],
)
async def test_bad_query_is_a_422_naming_the_field(
    api: httpx.AsyncClient, params: dict[str, str], field: str, code: str
) -> None:
    response = await api.get("/v1/dossiers", params={**Q1, **params})
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    errors = response.json()["errors"]
    assert [(e["loc"], e["code"]) for e in errors] == [(["query", field], code)]


async def test_figure_is_required(api: httpx.AsyncClient) -> None:
    response = await api.get("/v1/dossiers", params=Q1)
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["query", "figure"]


async def test_list_needs_the_read_scope(client: httpx.AsyncClient, make_key: MakeKey) -> None:
    params = {"figure": "pending_total", **Q1}
    assert (await client.get("/v1/dossiers", params=params)).status_code == 401
    ingest_only = bearer(await make_key("ingest"))
    assert (await client.get("/v1/dossiers", params=params, headers=ingest_only)).status_code == 403


def read_csv(body: bytes) -> list[dict[str, str]]:
    assert body.startswith(b"\xef\xbb\xbf"), body[:10]
    return list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))


async def test_csv_streams_every_dossier_with_a_bom_and_a_telling_name(
    api: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(listing, "CHUNK_ROWS", 4)  # several chunks, one of them partial
    codes = [f"D{n:02d}" for n in range(11)]
    await overdue_dossiers(api, codes)
    await send(api, event("x-1", "=cmd", unit_code="10444", procedure_name="@SUM(1)"))
    params: dict[str, str | int] = {
        "figure": "pending_overdue",
        "unit": "10444",
        "format": "csv",
        "limit": 2,
        **Q1,
    }
    async with api.stream("GET", "/v1/dossiers", params=params) as response:
        assert response.status_code == 200
        assert response.headers["content-type"] == "text/csv; charset=utf-8"
        assert response.headers["content-disposition"] == (
            'attachment; filename="ho-so_pending_overdue_10444_2017-Q1.csv"'
        )
        chunks = [chunk async for chunk in response.aiter_raw()]
    rows = read_csv(b"".join(chunks))
    count = (await api.get("/v1/dossiers", params={**params, "format": "json"})).json()["count"]
    assert len(rows) == count == 12
    assert [r["code"] for r in rows] == ["'=cmd", *codes]
    assert rows[0]["procedure_name"] == "'@SUM(1)"
    assert rows[1]["unit_code"] == "10444"
    assert rows[1]["effective_due_on"] == "2017-02-14"
    assert list(rows[0]) == listing.CSV_COLUMNS


async def test_csv_of_an_empty_figure_is_the_header_alone(api: httpx.AsyncClient) -> None:
    params = {"figure": "finished_late", "format": "csv", **Q1}
    response = await api.get("/v1/dossiers", params=params)
    assert response.status_code == 200
    assert read_csv(response.content) == []
    assert response.content.decode("utf-8-sig").startswith("code,procedure_code,")


def render_png(workbook: Path, png_stem: Path) -> None:
    """The workbook as LibreOffice prints it, as a PNG of its first page."""
    out = workbook.parent
    command = ["soffice", "--headless", "--convert-to", "pdf", "--outdir", str(out), str(workbook)]
    subprocess.run(command, check=True, capture_output=True, timeout=120)
    pdf = str(workbook.with_suffix(".pdf"))
    subprocess.run(["pdftoppm", "-png", "-r", "70", "-singlefile", pdf, str(png_stem)], check=True)


async def test_xlsx_holds_every_dossier_and_is_named_for_the_figure(
    api: httpx.AsyncClient, tmp_path: Path
) -> None:
    await overdue_dossiers(api, ["D1", "D2"])
    await send(api, event("x-1", "=cmd", unit_code="10444", procedure_name="Đăng ký kết hôn"))
    params = {"figure": "pending_total", "unit_exact": "10444", "format": "xlsx", **Q1}
    response = await api.get("/v1/dossiers", params=params)
    assert response.status_code == 200, response.text
    assert response.headers["content-disposition"] == (
        'attachment; filename="ho-so_pending_total_10444_2017-Q1.xlsx"'
    )
    path = tmp_path / "list.xlsx"
    path.write_bytes(response.content)
    sheet = load_workbook(path).active
    assert sheet is not None
    values = [[c for c in row] for row in sheet.iter_rows(values_only=True)]
    assert values[0][0] == "DANH SÁCH HỒ SƠ ĐANG GIẢI QUYẾT"
    heading = values.index(next(r for r in values if r[0] == "STT"))
    listed = [r for r in values[heading + 1 :] if isinstance(r[0], int)]
    assert [(r[0], r[1]) for r in listed] == [(1, "=cmd"), (2, "D1"), (3, "D2")]
    assert listed[0][3] == "Đăng ký kết hôn"
    cell = sheet.cell(row=heading + 2, column=2)
    assert cell.data_type == "s"  # a string, never a formula
    # "Số ngày tạm dừng" wraps in its narrow column: the heading row is tall enough for two lines
    # (a printed sheet keeps the height the file gives it; one line clipped the heading).
    assert (sheet.row_dimensions[heading + 1].height or 0) >= 30
    if os.environ.get("RENDER_XLSX"):  # to look at it: RENDER_XLSX=/tmp/list (→ list.png)
        await asyncio.to_thread(render_png, path, Path(os.environ["RENDER_XLSX"]))


async def test_xlsx_beyond_the_row_cap_asks_for_csv(
    api: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(listing, "XLSX_MAX_ROWS", 2)
    await overdue_dossiers(api, ["D1", "D2"])
    params = {"figure": "pending_total", "format": "xlsx", **Q1}
    assert (await api.get("/v1/dossiers", params=params)).status_code == 200
    await overdue_dossiers(api, ["D3"])
    response = await api.get("/v1/dossiers", params=params)
    assert response.status_code == 422
    error = response.json()["errors"][0]
    assert (error["loc"], error["code"]) == (["query", "format"], "too_many_rows")
    assert "format=csv" in error["msg"]
    csv_rows = read_csv((await api.get("/v1/dossiers", params={**params, "format": "csv"})).content)
    assert len(csv_rows) == 3


async def test_every_figure_is_documented_in_the_openapi(api: httpx.AsyncClient) -> None:
    document = (await api.get("/openapi.json")).json()
    operation = document["paths"]["/v1/dossiers"]["get"]
    assert {"200", "401", "403", "422"} <= set(operation["responses"])
    for name in FIGURES:
        assert f"`{name}`" in operation["description"]


async def test_file_name_names_basis_level_domain_and_the_dates(api: httpx.AsyncClient) -> None:
    params = {
        "figure": "online",
        "basis": "all",
        "unit_level": "commune",
        "domain": "TP",
        "from": "2017-01-01",
        "to": "2017-02-10",
        "format": "csv",
    }
    response = await api.get("/v1/dossiers", params=params)
    assert response.headers["content-disposition"] == (
        'attachment; filename="ho-so_online-all_all_commune_TP_2017-01-01_2017-02-10.csv"'
    )


async def test_indicator_figures_list_their_dossiers(api: httpx.AsyncClient) -> None:
    await send(
        api,
        event("e-1", "PAID", fee_amount=20000, paid_online="national_portal", digitized=True),
        event("e-2", "UNPAID", fee_amount=20000, paid_online="no"),
        event("e-3", "FREE", paid_online="national_portal"),
    )

    async def listed(figure: str) -> tuple[int, list[str]]:
        body = (await api.get("/v1/dossiers", params={"figure": figure, **Q1})).json()
        return body["count"], page_codes(body)

    assert await listed("online_payment.numerator") == (1, ["PAID"])
    assert await listed("online_payment.denominator") == (2, ["PAID", "UNPAID"])
    assert await listed("digitized.numerator") == (1, ["PAID"])
    assert await listed("digitized.denominator") == (3, ["FREE", "PAID", "UNPAID"])
