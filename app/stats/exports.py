"""File forms of the statistics: CSV for every table, XLSX workbooks a clerk can print."""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.properties import PageSetupProperties
from openpyxl.writer.excel import ExcelWriter

CSV_MEDIA_TYPE = "text/csv; charset=utf-8"
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PERCENT = "0.00%"
# Fixed times inside the file: the same figures always give the same bytes (and ETag).
_FIXED_TIME = dt.datetime(2017, 1, 1)


def csv_table(columns: Sequence[str], rows: Sequence[dict[str, Any]]) -> bytes:
    """Rows as UTF-8 CSV with a header line; None becomes an empty field."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow(["" if row.get(c) is None else row[c] for c in columns])
    return out.getvalue().encode("utf-8")


@dataclass
class Column:
    """One column of a printed table."""

    key: str
    heading: str
    width: float = 12
    number_format: str | None = None
    group: str | None = None  # a heading spanning neighbouring columns with the same group


@dataclass
class Sheet:
    """A titled table, with an optional totals line."""

    title: str
    subtitle_lines: list[str]
    columns: list[Column]
    rows: list[dict[str, Any]]
    totals: dict[str, Any] | None = None
    note: str | None = None
    landscape: bool = True
    sheet_name: str = "Báo cáo"
    number_columns: bool = field(default=True)


_THIN = Side(style="thin")
_BOX = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
_CENTER = Alignment(horizontal="center", vertical="center", wrap_text=True)


def xlsx_workbook(sheet: Sheet) -> bytes:
    """A one-sheet workbook: title, period and unit lines, boxed table, ready to print."""
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = sheet.sheet_name
    width = len(sheet.columns)
    last = get_column_letter(width)

    ws.append([sheet.title])
    ws.merge_cells(f"A1:{last}1")
    ws["A1"].font = Font(bold=True, size=14)
    ws["A1"].alignment = _CENTER
    for line in sheet.subtitle_lines:
        ws.append([line])
        r = ws.max_row
        ws.merge_cells(f"A{r}:{last}{r}")
        ws[f"A{r}"].alignment = Alignment(horizontal="center")
    ws.append([])

    grouped = any(c.group for c in sheet.columns)
    header_top = ws.max_row + 1
    if grouped:
        ws.append([c.group or c.heading for c in sheet.columns])
        ws.append([c.heading for c in sheet.columns])
        _merge_header_groups(ws, sheet.columns, header_top)
    else:
        ws.append([c.heading for c in sheet.columns])
    header_bottom = ws.max_row
    if sheet.number_columns:
        ws.append([f"({i})" for i in range(1, width + 1)])
        header_bottom = ws.max_row
    for row in ws.iter_rows(min_row=header_top, max_row=header_bottom, max_col=width):
        for cell in row:
            cell.font = Font(bold=True)
            cell.alignment = _CENTER
            cell.border = _BOX

    body = [*sheet.rows, *([sheet.totals] if sheet.totals is not None else [])]
    for values in body:
        ws.append([values.get(c.key) for c in sheet.columns])
        for column, cell in zip(sheet.columns, ws[ws.max_row], strict=False):
            cell.border = _BOX
            if column.number_format:
                cell.number_format = column.number_format
    if sheet.totals is not None:
        for cell in ws[ws.max_row]:
            cell.font = Font(bold=True)
    if sheet.note:
        ws.append([])
        ws.append([sheet.note])
        ws[f"A{ws.max_row}"].font = Font(italic=True, size=9)

    for index, column in enumerate(sheet.columns, start=1):
        ws.column_dimensions[get_column_letter(index)].width = column.width
    ws.print_title_rows = f"{header_top}:{header_bottom}"
    ws.page_setup.orientation = "landscape" if sheet.landscape else "portrait"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=True)
    ws.print_options.horizontalCentered = True
    ws.freeze_panes = f"A{header_bottom + 1}"

    wb.properties.creator = "dossier-stats"
    wb.properties.created = _FIXED_TIME
    wb.properties.modified = _FIXED_TIME
    buffer = io.BytesIO()
    # Not wb.save(): openpyxl's save_workbook stamps `modified` with the clock, so the bytes
    # (and the ETag) would change from one second to the next.
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        ExcelWriter(wb, archive).save()
    return _with_fixed_zip_times(buffer.getvalue())


def _merge_header_groups(ws: Any, columns: list[Column], top: int) -> None:
    """Merge group headings across their columns, and single headings across both rows."""
    index = 0
    while index < len(columns):
        group = columns[index].group
        end = index
        while group and end + 1 < len(columns) and columns[end + 1].group == group:
            end += 1
        first, last = get_column_letter(index + 1), get_column_letter(end + 1)
        if group:
            if end > index:
                ws.merge_cells(f"{first}{top}:{last}{top}")
        else:
            ws.merge_cells(f"{first}{top}:{first}{top + 1}")
        index = end + 1


def _with_fixed_zip_times(data: bytes) -> bytes:
    """Rewrite the zip container with fixed entry times, so the bytes depend only on content."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=(1980, 1, 1, 0, 0, 0))
            fixed.compress_type = zipfile.ZIP_DEFLATED
            target.writestr(fixed, source.read(info.filename))
    return out.getvalue()
