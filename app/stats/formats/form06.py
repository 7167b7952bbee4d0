"""Report 06 as the official form a clerk files: Biểu số 06/VPCP/KSTT (Thông tư 01/2020/TT-VPCP).

Layout (13 columns, A…M):

    rows 1-3  form code | title, period line | reporting and receiving units
    row  4    "Đơn vị tính: Số hồ sơ TTHC" on the right
    rows 5-7  headings: each group heading merged over its columns on the row above its
              sub-headings ("Trong đó" over the three kinds of received dossiers)
    row  8    column numbers (1)…(13)
    then      section rows by level of the handling unit (when rows carry `unit_level`) with
              their subtotals, the rows numbered within their section, the total row, the
              signature block

Streamed with openpyxl's write-only mode (linear in rows); plain data in, bytes out, so it can
run in a worker process.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from openpyxl.cell import Cell
from openpyxl.styles import Alignment

from app.stats.formats.exports import BOLD, BOX, CENTER, StreamedSheet, font

FORM_CODE = "Biểu số 06/VPCP/KSTT"
FORM_BASIS = "Ban hành kèm theo Thông tư số 01/2020/TT-VPCP"
TITLE = "TÌNH HÌNH, KẾT QUẢ GIẢI QUYẾT TTHC TẠI CƠ QUAN, ĐƠN VỊ TRỰC TIẾP GIẢI QUYẾT TTHC"
UNIT_OF_COUNT = "Đơn vị tính: Số hồ sơ TTHC"
TOTAL_LABEL = "Tổng cộng"

# The eleven count columns, C…M, in the form's order.
COUNT_COLUMNS = [
    "received_total",
    "received_online",
    "received_offline",
    "carried_over",
    "finished_total",
    "finished_early",
    "finished_on_time",
    "finished_late",
    "pending_total",
    "pending_on_time",
    "pending_overdue",
]
RECEIVED = "Số hồ sơ nhận giải quyết"
FINISHED = "Số hồ sơ đã giải quyết"
PENDING = "Số hồ sơ đang giải quyết"
OF_WHICH = "Trong đó"
SUB_HEADINGS = {
    "received_total": "Tổng số",
    "received_online": "Trực tuyến",
    "received_offline": "Trực tiếp, dịch vụ bưu chính",
    "carried_over": "Từ kỳ trước",
    "finished_total": "Tổng số",
    "finished_early": "Trước hạn",
    "finished_on_time": "Đúng hạn",
    "finished_late": "Quá hạn",
    "pending_total": "Tổng số",
    "pending_on_time": "Trong hạn",
    "pending_overdue": "Quá hạn",
}
LABEL_BY_DOMAIN = "Lĩnh vực, công việc giải quyết theo cấp"
LABEL_BY_UNIT = "Đơn vị giải quyết"

# Sections by level of the handling unit, in the form's order; null last.
LEVELS: list[str | None] = ["province", "district", "commune", None]
SECTION_LABELS: dict[str | None, str] = {
    "province": "Cấp tỉnh",
    "district": "Cấp huyện",
    "commune": "Cấp xã",
    None: "Chưa xác định cấp",
}
_ROMAN = ["I", "II", "III", "IV"]

NOTE = (
    "Ghi chú: (3) = (4) + (5) + (6); (7) = (8) + (9) + (10); (11) = (12) + (13). Ngày theo múi giờ "
    "Asia/Ho_Chi_Minh; không tính hồ sơ mới đăng ký và hồ sơ không được tiếp nhận."
)

HEADING_TOP = 5  # first heading row
NUMBER_ROW = 8  # the (1)…(13) row
FIRST_BODY_ROW = 9
_WIDTHS = {"A": 6, "B": 38, **{letter: 10.5 for letter in "CDEFGHIJKLM"}}
_LEFT = Alignment(horizontal="left", vertical="center", wrap_text=True)
_RIGHT = Alignment(horizontal="right", vertical="center")
_TOP_CENTER = Alignment(horizontal="center", vertical="top", wrap_text=True)


@dataclass
class Form06:
    """What the form shows. Rows are dicts with `name`, the eleven counts and, optionally,
    `unit_level`: when any row carries that key the rows are printed in sections by level."""

    date_from: dt.date
    date_to: dt.date
    reporting_unit: str
    recipient: str | None
    rows: list[dict[str, Any]]
    totals: dict[str, Any]
    by_unit: bool = False
    scope_note: str | None = None  # e.g. the domain filter, printed under the period line


def period_line(date_from: dt.date, date_to: dt.date) -> str:
    """The form's period line."""
    return f"(Từ ngày {date_from:%d/%m/%Y} đến ngày {date_to:%d/%m/%Y})"


def sections(rows: list[dict[str, Any]]) -> list[tuple[str | None, list[dict[str, Any]]]]:
    """Rows grouped by level in the form's order (province, district, commune, unknown), each
    group keeping the order the rows came in; one unnamed group when no row carries a level."""
    if not any("unit_level" in row for row in rows):
        return [(None, rows)] if rows else []
    grouped: dict[str | None, list[dict[str, Any]]] = {level: [] for level in LEVELS}
    for row in rows:
        level = row.get("unit_level")
        grouped[level if level in grouped else None].append(row)
    return [(level, grouped[level]) for level in LEVELS if grouped[level]]


def build_form06(form: Form06) -> bytes:
    """The workbook of the form, ready to print."""
    out = StreamedSheet("Biểu số 06")
    for letter, width in _WIDTHS.items():
        out.column_width(letter, width)
    out.freeze(f"C{FIRST_BODY_ROW}")
    out.print_setup(landscape=True, title_rows=(HEADING_TOP, NUMBER_ROW))
    _write_header(out, form)
    _write_headings(out, form.by_unit)
    sectioned = any("unit_level" in r for r in form.rows)
    for number, (level, members) in enumerate(sections(form.rows)):
        if sectioned:
            subtotal = {key: sum(int(r.get(key) or 0) for r in members) for key in COUNT_COLUMNS}
            _write_counts(out, _ROMAN[number], SECTION_LABELS[level], subtotal, bold=True)
        for index, member in enumerate(members, start=1):
            _write_counts(out, index, member.get("name"), member)
    _write_counts(out, None, TOTAL_LABEL, form.totals, bold=True)
    _write_footer(out)
    return out.to_bytes()


def _write_header(out: StreamedSheet, form: Form06) -> None:
    recipient = form.recipient or "…………………………"
    lines = [
        (
            (FORM_CODE, BOLD),
            (TITLE, font(bold=True, size=12)),
            (f"Đơn vị báo cáo: {form.reporting_unit}", None),
            48,
        ),
        (
            (FORM_BASIS, font(italic=True, size=9)),
            (period_line(form.date_from, form.date_to), font(italic=True)),
            (f"Đơn vị nhận báo cáo: {recipient}", None),
            36,
        ),
        ((None, None), (form.scope_note, font(italic=True, size=10)), (None, None), 18),
    ]
    for row, ((left, left_font), (middle, middle_font), (right, right_font), height) in enumerate(
        lines, start=1
    ):
        out.row_height(row, height)
        out.append(
            [
                out.cell(left, font=left_font, alignment=_TOP_CENTER),
                None,
                None,
                out.cell(middle, font=middle_font, alignment=_TOP_CENTER),
                *[None] * 6,
                out.cell(right, font=right_font, alignment=_LEFT),
            ]
        )
        out.merge(f"A{row}:C{row}")
        out.merge(f"D{row}:J{row}")
        out.merge(f"K{row}:M{row}")
    row = out.append(
        [*[None] * 10, out.cell(UNIT_OF_COUNT, font=font(italic=True), alignment=_RIGHT)]
    )
    out.merge(f"K{row}:M{row}")


def _write_headings(out: StreamedSheet, by_unit: bool) -> None:
    top, middle, bottom = HEADING_TOP, HEADING_TOP + 1, HEADING_TOP + 2

    def h(text: str | None = None) -> Cell:
        return out.cell(text, font=BOLD, alignment=CENTER, border=BOX)

    out.row_height(top, 30)
    out.row_height(middle, 22)
    out.row_height(bottom, 48)
    label = LABEL_BY_UNIT if by_unit else LABEL_BY_DOMAIN
    # Row 1: STT and the label span all three rows; each group spans its columns.
    out.append(
        [
            h("STT"),
            h(label),
            h(RECEIVED),
            h(),
            h(),
            h(),
            h(FINISHED),
            h(),
            h(),
            h(),
            h(PENDING),
            h(),
            h(),
        ]
    )
    for span in (
        f"A{top}:A{bottom}",
        f"B{top}:B{bottom}",
        f"C{top}:F{top}",
        f"G{top}:J{top}",
        f"K{top}:M{top}",
    ):
        out.merge(span)
    # Row 2: each total and the finished / pending sub-headings span rows 2-3; "Trong đó" spans
    # the three kinds of received dossiers, whose own headings are on row 3.
    out.append(
        [
            h(),
            h(),
            h(SUB_HEADINGS["received_total"]),
            h(OF_WHICH),
            h(),
            h(),
            *(h(SUB_HEADINGS[key]) for key in COUNT_COLUMNS[4:]),
        ]
    )
    out.merge(f"D{middle}:F{middle}")
    for letter in "CGHIJKLM":
        out.merge(f"{letter}{middle}:{letter}{bottom}")
    out.append(
        [
            h(),
            h(),
            h(),
            *(h(SUB_HEADINGS[key]) for key in COUNT_COLUMNS[1:4]),
            *(h() for _ in range(7)),
        ]
    )
    out.append([h(f"({i})") for i in range(1, 14)])


def _write_counts(
    out: StreamedSheet, number: Any, label: Any, counts: dict[str, Any], *, bold: bool = False
) -> None:
    weight = BOLD if bold else None
    out.append(
        [
            out.cell(number, font=weight, alignment=CENTER, border=BOX),
            out.cell(label, font=weight, alignment=_LEFT, border=BOX),
            *(
                out.cell(counts.get(key, 0), font=weight, border=BOX, number_format="#,##0")
                for key in COUNT_COLUMNS
            ),
        ]
    )


def _write_footer(out: StreamedSheet) -> None:
    out.append()
    row = out.append([out.cell(NOTE, font=font(italic=True, size=9), alignment=_LEFT)])
    out.merge(f"A{row}:M{row}")
    out.append()
    italic = font(italic=True)
    signatures = [
        (None, "……, ngày …… tháng …… năm ……", italic),
        ("NGƯỜI LẬP BIỂU", "THỦ TRƯỞNG ĐƠN VỊ", BOLD),
        ("(Ký, ghi rõ họ tên)", "(Ký tên, đóng dấu)", italic),
    ]
    for left, right, style in signatures:
        row = out.append(
            [
                None,
                out.cell(left, font=style, alignment=CENTER),
                *[None] * 7,
                out.cell(right, font=style, alignment=CENTER),
            ]
        )
        out.merge(f"J{row}:M{row}")
