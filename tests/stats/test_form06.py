"""Report 06 as the official form (Biểu số 06/VPCP/KSTT), read back with openpyxl: the builder fed
directly (sections by level, merges, print set-up) and the form served over HTTP."""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from typing import Any

import httpx
from openpyxl import load_workbook
from openpyxl.worksheet.worksheet import Worksheet

from app.stats.formats.form06 import COUNT_COLUMNS, Form06, build_form06
from tests.conftest import event
from tests.stats.test_reports import Q1, mixed_quarter, send


def counts(**given: int) -> dict[str, int]:
    """The eleven columns, with the totals summed from the parts given."""
    values = {key: 0 for key in COUNT_COLUMNS} | given
    values["received_total"] = (
        values["received_online"] + values["received_offline"] + values["carried_over"]
    )
    values["finished_total"] = (
        values["finished_early"] + values["finished_on_time"] + values["finished_late"]
    )
    values["pending_total"] = values["pending_on_time"] + values["pending_overdue"]
    return values


def summed(rows: list[dict[str, Any]]) -> dict[str, int]:
    return {key: sum(r[key] for r in rows) for key in COUNT_COLUMNS}


def form(rows: list[dict[str, Any]], **options: Any) -> Form06:
    return Form06(
        date_from=dt.date(2017, 1, 1),
        date_to=dt.date(2017, 3, 31),
        reporting_unit=options.pop("reporting_unit", "Huyện Mỹ Đức"),
        recipient=options.pop("recipient", "Văn phòng UBND thành phố Hà Nội"),
        rows=rows,
        totals=summed(rows),
        **options,
    )


def sheet_of(data: bytes) -> Worksheet:
    sheet = load_workbook(io.BytesIO(data)).active
    assert isinstance(sheet, Worksheet)
    return sheet


def values(sheet: Worksheet, row: int) -> list[Any]:
    return [sheet.cell(row, col).value for col in range(1, 14)]


def body(sheet: Worksheet) -> list[list[Any]]:
    """The table's rows after the (1)…(13) row, through the total row."""
    rows = []
    for row in range(9, sheet.max_row + 1):
        rows.append(values(sheet, row))
        if rows[-1][1] == "Tổng cộng":
            return rows
    raise AssertionError("no total row")


ROMAN = {"I", "II", "III", "IV"}


def test_group_headings_are_merged_on_the_row_above_their_sub_headings() -> None:
    rows = [
        {"name": "Tư pháp", **counts(received_online=3, finished_early=1, pending_on_time=2)},
        {"name": "Đất đai", **counts(carried_over=2, finished_late=2)},
    ]
    sheet = sheet_of(build_form06(form(rows)))
    merged = {str(r) for r in sheet.merged_cells.ranges}
    # STT and the label span the three heading rows; each group spans its columns on row 5 only.
    assert {"A5:A7", "B5:B7", "C5:F5", "G5:J5", "K5:M5"} <= merged
    # "Trong đó" spans the three kinds of received dossiers on row 6, above their headings.
    assert "D6:F6" in merged
    assert {f"{c}6:{c}7" for c in "CGHIJKLM"} <= merged
    assert values(sheet, 5) == [
        "STT",
        "Lĩnh vực, công việc giải quyết theo cấp",
        "Số hồ sơ nhận giải quyết",
        None,
        None,
        None,
        "Số hồ sơ đã giải quyết",
        None,
        None,
        None,
        "Số hồ sơ đang giải quyết",
        None,
        None,
    ]
    assert values(sheet, 6)[2:] == [
        "Tổng số",
        "Trong đó",
        None,
        None,
        "Tổng số",
        "Trước hạn",
        "Đúng hạn",
        "Quá hạn",
        "Tổng số",
        "Trong hạn",
        "Quá hạn",
    ]
    assert values(sheet, 7)[3:6] == ["Trực tuyến", "Trực tiếp, dịch vụ bưu chính", "Từ kỳ trước"]
    # No group heading is repeated under itself (the old layout's fault).
    assert "Số hồ sơ nhận giải quyết" not in values(sheet, 6) + values(sheet, 7)
    assert values(sheet, 8) == [f"({i})" for i in range(1, 14)]
    # Plain rows (no unit_level): numbered 1…n, then the total row.
    assert body(sheet) == [
        [1, "Tư pháp", 3, 3, 0, 0, 1, 1, 0, 0, 2, 2, 0],
        [2, "Đất đai", 2, 0, 0, 2, 2, 0, 0, 2, 0, 0, 0],
        [None, "Tổng cộng", 5, 3, 0, 2, 3, 1, 0, 2, 2, 2, 0],
    ]


def test_header_block_and_print_setup() -> None:
    data = build_form06(form([{"name": "Tư pháp", **counts(received_online=1)}]))
    sheet = sheet_of(data)
    assert sheet["A1"].value == "Biểu số 06/VPCP/KSTT"
    assert "01/2020/TT-VPCP" in sheet["A2"].value
    assert sheet["D1"].value == (
        "TÌNH HÌNH, KẾT QUẢ GIẢI QUYẾT TTHC TẠI CƠ QUAN, ĐƠN VỊ TRỰC TIẾP GIẢI QUYẾT TTHC"
    )
    assert sheet["D2"].value == "(Từ ngày 01/01/2017 đến ngày 31/03/2017)"
    assert sheet["K1"].value == "Đơn vị báo cáo: Huyện Mỹ Đức"
    assert sheet["K2"].value == "Đơn vị nhận báo cáo: Văn phòng UBND thành phố Hà Nội"
    assert sheet["K4"].value == "Đơn vị tính: Số hồ sơ TTHC"
    assert sheet.page_setup.orientation == "landscape"
    assert int(sheet.page_setup.paperSize or 0) == 9  # A4
    assert sheet.page_setup.fitToWidth == 1 and sheet.page_setup.fitToHeight == 0
    assert sheet.sheet_properties.pageSetUpPr is not None
    assert sheet.sheet_properties.pageSetUpPr.fitToPage
    assert sheet.print_title_rows == "$5:$8"
    assert sheet.freeze_panes == "C9"
    # The same form gives the same bytes: no clock inside.
    assert build_form06(form([{"name": "Tư pháp", **counts(received_online=1)}])) == data


def test_rows_with_unit_level_come_in_sections_by_level_with_subtotals() -> None:
    rows: list[dict[str, Any]] = [
        {"name": "Tư pháp", "unit_level": "commune", **counts(received_online=2)},
        {"name": "Xây dựng", "unit_level": "province", **counts(received_offline=4)},
        {"name": "Đất đai", "unit_level": None, **counts(carried_over=1)},
        {"name": "Tư pháp", "unit_level": "district", **counts(pending_overdue=3)},
        {"name": "Y tế", "unit_level": "commune", **counts(finished_early=5)},
    ]
    table = body(sheet_of(build_form06(form(rows))))
    assert [(r[0], r[1]) for r in table] == [
        ("I", "Cấp tỉnh"),
        (1, "Xây dựng"),
        ("II", "Cấp huyện"),
        (1, "Tư pháp"),
        ("III", "Cấp xã"),
        (1, "Tư pháp"),
        (2, "Y tế"),
        ("IV", "Chưa xác định cấp"),
        (1, "Đất đai"),
        (None, "Tổng cộng"),
    ]
    commune = table[4]
    assert commune[2:] == [2, 2, 0, 0, 5, 5, 0, 0, 0, 0, 0]  # the section's subtotal
    total = table[-1]
    assert total[2:] == [7, 2, 4, 1, 5, 5, 0, 0, 3, 0, 3]
    # The total is the sum of the sections, not of sections and rows together.
    sections = [r for r in table if r[0] in ROMAN]
    assert [sum(r[col] for r in sections) for col in range(2, 13)] == total[2:]


def test_an_empty_report_still_has_its_headings_and_a_zero_total() -> None:
    sheet = sheet_of(build_form06(form([], recipient=None)))
    assert body(sheet) == [[None, "Tổng cộng", *[0] * 11]]
    assert sheet["K2"].value.startswith("Đơn vị nhận báo cáo: …")


def test_hostile_names_are_text_and_control_characters_do_not_break_the_file() -> None:
    names = ['=HYPERLINK("http://x","y")', "+1", "-2", "@SUM(A1)", "#N/A", "Tư\x01pháp\x1f"]
    rows = [{"name": n, **counts(received_online=1)} for n in names]
    data = build_form06(form(rows, recipient="=cmd|' /C calc'!A0", reporting_unit="Xã\x0bA"))
    xml = zipfile.ZipFile(io.BytesIO(data)).read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in xml and 't="e"' not in xml  # no formula, no error cell
    table = body(sheet_of(data))
    assert [r[1] for r in table[:-1]] == [*names[:5], "Tư\ufffdpháp\ufffd"]
    sheet = sheet_of(data)
    assert sheet["K1"].value == "Đơn vị báo cáo: Xã\ufffdA"
    assert sheet["K2"].value == "Đơn vị nhận báo cáo: =cmd|' /C calc'!A0"


# --- over HTTP ------------------------------------------------------------------------------


async def test_report06_xlsx_over_http_is_the_form_of_the_json(api: httpx.AsyncClient) -> None:
    await mixed_quarter(api)
    await send(api, event("k", code="K", unit_code="282", received_at="2017-02-02T08:00:00+07:00"))
    params = {**Q1, "unit": "282"}
    report = (await api.get("/v1/stats/report-06", params=params)).json()
    response = await api.get(
        "/v1/stats/report-06",
        params={**params, "format": "xlsx", "recipient": "Văn phòng UBND thành phố Hà Nội"},
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    assert 'filename="bieu-06_282_2017-Q1.xlsx"' in response.headers["content-disposition"]
    sheet = sheet_of(response.content)
    assert sheet["A1"].value == "Biểu số 06/VPCP/KSTT"
    assert sheet["D2"].value == "(Từ ngày 01/01/2017 đến ngày 31/03/2017)"
    assert sheet["K1"].value == "Đơn vị báo cáo: Huyện Mỹ Đức"
    assert sheet["K2"].value == "Đơn vị nhận báo cáo: Văn phòng UBND thành phố Hà Nội"
    table = body(sheet)
    # The rows of the JSON answer, in sections by level when its rows carry `unit_level`.
    levels = {"province": "Cấp tỉnh", "district": "Cấp huyện", "commune": "Cấp xã", None: ""}
    rows = report["rows"]
    if rows and "unit_level" in rows[0]:
        order = ["province", "district", "commune", None]
        expected_sections = [
            levels[level] or "Chưa xác định cấp"
            for level in order
            if any(r["unit_level"] == level for r in rows)
        ]
        rows = sorted(rows, key=lambda r: order.index(r["unit_level"]))
    else:
        expected_sections = []
    assert [r[1] for r in table if r[0] in ROMAN] == expected_sections
    assert [r[1:] for r in table if r[0] not in ROMAN][:-1] == [
        [r["domain_name"], *(r[key] for key in COUNT_COLUMNS)] for r in rows
    ]
    assert table[-1][2:] == [report["overall"][key] for key in COUNT_COLUMNS]
    assert sheet.page_setup.orientation == "landscape" and sheet.print_title_rows == "$5:$8"


async def test_report06_xlsx_by_unit_of_the_whole_catalog(api: httpx.AsyncClient) -> None:
    await mixed_quarter(api)
    await send(api, event("k", code="K", unit_code="282", received_at="2017-02-02T08:00:00+07:00"))
    params = {**Q1, "group_by": "unit"}
    report = (await api.get("/v1/stats/report-06", params=params)).json()
    response = await api.get("/v1/stats/report-06", params={**params, "format": "xlsx"})
    sheet = sheet_of(response.content)
    # No unit asked: the catalog's root unit reports; no recipient: a line to fill in by hand.
    assert sheet["K1"].value == "Đơn vị báo cáo: Thành phố Hà Nội"
    assert sheet["K2"].value.startswith("Đơn vị nhận báo cáo: …")
    assert sheet["B5"].value == "Đơn vị giải quyết"
    table = body(sheet)
    assert [r[1] for r in table] == [
        *(r["unit_name"] for r in report["rows"]),
        "Tổng cộng",
    ]
    assert "Huyện Mỹ Đức" in [r[1] for r in table]
    assert not [r for r in table if r[0] in ROMAN]  # units are not split by level


async def test_a_recipient_with_control_characters_is_refused(api: httpx.AsyncClient) -> None:
    response = await api.get(
        "/v1/stats/report-06", params={**Q1, "format": "xlsx", "recipient": "UBND\x07"}
    )
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["errors"][0]["loc"] == ["query", "recipient"]


async def test_a_domain_filter_is_named_under_the_period_line(api: httpx.AsyncClient) -> None:
    await mixed_quarter(api)
    response = await api.get(
        "/v1/stats/report-06", params={**Q1, "domain": "TP", "unit": "10441", "format": "xlsx"}
    )
    sheet = sheet_of(response.content)
    assert sheet["D3"].value == "Lĩnh vực: Tư pháp"
    assert sheet["K1"].value == "Đơn vị báo cáo: Thị trấn Đại Nghĩa"
    assert [r[1] for r in body(sheet)][-1] == "Tổng cộng"
