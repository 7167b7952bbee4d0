"""File forms of the statistics: CSV for every table, XLSX workbooks a clerk can print.

Whatever text is stored, a file is still written: characters XML cannot hold are replaced, and no
text becomes a formula (contract section 2). Workbooks are streamed (openpyxl write-only mode),
so building one is linear in its rows; callers run the build off the event loop (`app.core.workers`).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
import re
import zipfile
from collections.abc import Iterable, Sequence
from copy import copy
from dataclasses import dataclass, field
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import Cell, WriteOnlyCell
from openpyxl.styles import Alignment, Border, Font, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.properties import PageSetupProperties
from openpyxl.worksheet.worksheet import Worksheet
from openpyxl.writer.excel import ExcelWriter

CSV_MEDIA_TYPE = "text/csv; charset=utf-8"
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PERCENT = "0.00%"
# Fixed times inside the file: the same figures always give the same bytes (and ETag).
_FIXED_TIME = dt.datetime(2017, 1, 1)

# Text a spreadsheet would run as a formula (or DDE command) when it opens the file.
FORMULA_STARTS = ("=", "+", "-", "@")
# Characters XML 1.0 cannot carry (openpyxl refuses them with IllegalCharacterError).
_XML_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
REPLACEMENT = "\ufffd"


def csv_text(value: Any) -> str:
    """One CSV field: None is empty, and text that a spreadsheet would run as a formula gets a
    leading `'` so it is shown as text."""
    if value is None:
        return ""
    if isinstance(value, str):
        return "'" + value if value.startswith(FORMULA_STARTS) else value
    return str(value)


# Excel reads a CSV as UTF-8 only when it starts with a byte-order mark; without one,
# Vietnamese names open garbled.
UTF8_BOM = "\ufeff".encode()


def csv_lines(columns: Sequence[str], rows: Iterable[dict[str, Any]], *, header: bool) -> bytes:
    """Rows as UTF-8 CSV lines (with the header line when asked), no byte-order mark: the body
    of one chunk of a streamed file."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    if header:
        writer.writerow(columns)
    for row in rows:
        writer.writerow([csv_text(row.get(c)) for c in columns])
    return out.getvalue().encode("utf-8")


def csv_table(columns: Sequence[str], rows: Iterable[dict[str, Any]]) -> bytes:
    """Rows as UTF-8 CSV with a byte-order mark and a header line; None becomes an empty field."""
    return UTF8_BOM + csv_lines(columns, rows, header=True)


def period_label(date_from: dt.date, date_to: dt.date) -> str:
    """A whole year, quarter or month as its label (`2024`, `2024-Q2`, `2024-03`), any other
    range as its two dates."""
    after = date_to + dt.timedelta(days=1)
    if date_from.day == 1 and after.day == 1:
        months = (after.year - date_from.year) * 12 + after.month - date_from.month
        if months == 12 and date_from.month == 1:
            return f"{date_from.year}"
        if months == 3 and date_from.month % 3 == 1:
            return f"{date_from.year}-Q{(date_from.month - 1) // 3 + 1}"
        if months == 1:
            return f"{date_from:%Y-%m}"
    return f"{date_from.isoformat()}_{date_to.isoformat()}"


_UNSAFE_IN_NAME = re.compile(r"[^A-Za-z0-9._-]+")


def download_name(*parts: str | None, extension: str) -> str:
    """A file name that says what the file holds, e.g. `bieu-06_282_2024-Q2.xlsx`: the parts
    joined by `_`, each ASCII letters, digits, `.`, `_` and `-` only (anything else becomes `-`), an
    absent part `all`."""
    safe = [_UNSAFE_IN_NAME.sub("-", part).strip("-") or "x" if part else "all" for part in parts]
    return "_".join(safe) + "." + extension


def xml_safe(text: str) -> str:
    """The text with every character XML cannot hold replaced by U+FFFD."""
    return _XML_ILLEGAL.sub(REPLACEMENT, text)


# --- cells and styles --------------------------------------------------------------------

THIN = Side(style="thin")
BOX = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
CENTER = Alignment(horizontal="center", vertical="center", wrap_text=True)
# The typeface of Vietnamese administrative documents (Nghị định 30/2020/NĐ-CP); every cell
# names it, so a viewer without the workbook's default (Calibri) does not mix substitutes.
FONT_NAME = "Times New Roman"


def font(*, bold: bool = False, italic: bool = False, size: float = 11) -> Font:
    """A font of the document typeface."""
    return Font(name=FONT_NAME, bold=bold, italic=italic, size=size)


PLAIN = font()
BOLD = font(bold=True)


class StreamedSheet:
    """One sheet of a write-only workbook, with the few operations the layouts need.

    Rows are written as they are appended, so the layout never walks the sheet: time and memory
    are linear in rows. Column widths, panes and page properties are streamed at the top of the
    sheet's XML and a row's height with the row, so set them before the rows they concern."""

    def __init__(self, title: str) -> None:
        self.workbook = Workbook(write_only=True)
        # openpyxl's stubs do not know the attributes a write-only sheet shares with a normal one.
        self._ws: Any = self.workbook.create_sheet(xml_safe(title)[:31])
        self.rows = 0
        # Style combinations already registered with the workbook: hashing style objects into
        # the workbook's tables for every cell would cost more than writing the cell.
        self._styles: dict[tuple[Any, ...], tuple[Any, tuple[Any, ...]]] = {}

    def cell(
        self,
        value: Any = None,
        *,
        font: Font | None = None,
        alignment: Alignment | None = None,
        border: Border | None = None,
        number_format: str | None = None,
    ) -> Cell:
        """A styled cell. Text is always a string cell, never a formula or an error value, and
        characters XML cannot hold are replaced: no stored name can break or arm the file."""
        if isinstance(value, str):
            c = WriteOnlyCell(self._ws, xml_safe(value))
            c.data_type = "s"  # openpyxl would make "=..." a formula and "#N/A" an error
        else:
            c = WriteOnlyCell(self._ws, value)
        font = font or PLAIN
        key = (id(font), id(alignment), id(border), number_format)
        known = self._styles.get(key)
        if known is None:
            styled = WriteOnlyCell(self._ws)
            if font is not None:
                styled.font = font
            if alignment is not None:
                styled.alignment = alignment
            if border is not None:
                styled.border = border
            if number_format is not None:
                styled.number_format = number_format
            # The style objects are kept with their ids so no other object can take an id.
            known = self._styles[key] = (_style_of(styled), (font, alignment, border))
        streamed: Any = c  # the style array is openpyxl's own (StyleableObject._style)
        streamed._style = copy(known[0])
        return c

    def append(self, cells: Sequence[Cell | None] = ()) -> int:
        """Write the next row; its number."""
        self._ws.append(list(cells))
        self.rows += 1
        return self.rows

    def merge(self, cell_range: str) -> None:
        """Merge a range (written at the end of the sheet, so any time before saving)."""
        self._ws.merged_cells.add(cell_range)

    def column_width(self, letter: str, width: float) -> None:
        self._ws.column_dimensions[letter].width = width

    def row_height(self, row: int, height: float) -> None:
        self._ws.row_dimensions[row].height = height

    def freeze(self, top_left_cell: str) -> None:
        self._ws.freeze_panes = top_left_cell

    def print_setup(self, *, landscape: bool, title_rows: tuple[int, int]) -> None:
        """A4, fitted to the page width, heading rows repeated on every printed page."""
        ws = self._ws
        ws.print_title_rows = f"{title_rows[0]}:{title_rows[1]}"
        ws.page_setup.orientation = "landscape" if landscape else "portrait"
        ws.page_setup.paperSize = Worksheet.PAPERSIZE_A4
        ws.page_setup.fitToWidth = 1
        ws.page_setup.fitToHeight = 0
        ws.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=True)
        ws.print_options.horizontalCentered = True
        ws.page_margins.left = ws.page_margins.right = 0.4
        ws.page_margins.top = ws.page_margins.bottom = 0.5

    def to_bytes(self) -> bytes:
        """The workbook's bytes, which depend only on its content (no clock inside)."""
        wb = self.workbook
        wb.properties.creator = "dossier-stats"
        wb.properties.created = _FIXED_TIME
        wb.properties.modified = _FIXED_TIME
        buffer = io.BytesIO()
        # Not wb.save(): openpyxl's save_workbook stamps `modified` with the clock, so the bytes
        # (and the ETag) would change from one second to the next.
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            ExcelWriter(wb, archive).save()
        return _with_fixed_zip_times(buffer.getvalue())


def _style_of(styled: Any) -> Any:
    return styled._style


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


# --- a titled table ----------------------------------------------------------------------


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
    """A titled table, with an optional totals line. Plain data: it crosses to a worker process."""

    title: str
    subtitle_lines: list[str]
    columns: list[Column]
    rows: list[dict[str, Any]]
    totals: dict[str, Any] | None = None
    note: str | None = None
    landscape: bool = True
    sheet_name: str = "Báo cáo"
    number_columns: bool = field(default=True)


def xlsx_workbook(sheet: Sheet) -> bytes:
    """A one-sheet workbook: title, period and unit lines, boxed table, ready to print.

    Streamed row by row: time and memory grow linearly with the rows."""
    out = StreamedSheet(sheet.sheet_name)
    width = len(sheet.columns)
    last = get_column_letter(width)
    grouped = any(c.group for c in sheet.columns)
    header_top = 1 + 1 + len(sheet.subtitle_lines) + 1
    header_bottom = header_top + (1 if grouped else 0) + (1 if sheet.number_columns else 0)
    for index, column in enumerate(sheet.columns, start=1):
        out.column_width(get_column_letter(index), column.width)
    out.freeze(f"A{header_bottom + 1}")
    out.print_setup(landscape=sheet.landscape, title_rows=(header_top, header_bottom))

    row = out.append([out.cell(sheet.title, font=font(bold=True, size=14), alignment=CENTER)])
    out.merge(f"A{row}:{last}{row}")
    for line in sheet.subtitle_lines:
        row = out.append([out.cell(line, alignment=Alignment(horizontal="center"))])
        out.merge(f"A{row}:{last}{row}")
    out.append()

    def heading(text: str | None) -> Cell:
        return out.cell(text, font=BOLD, alignment=CENTER, border=BOX)

    if grouped:
        # Room for a group heading to wrap onto a second line over its narrow columns.
        out.row_height(header_top, 44)  # three lines
        top: list[Cell] = []
        for index, column in enumerate(sheet.columns):
            letter = get_column_letter(index + 1)
            if column.group is None:  # a heading without a group spans both heading rows
                top.append(heading(column.heading))
                out.merge(f"{letter}{header_top}:{letter}{header_top + 1}")
            elif index == 0 or sheet.columns[index - 1].group != column.group:
                end = index
                while end + 1 < width and sheet.columns[end + 1].group == column.group:
                    end += 1
                top.append(heading(column.group))
                if end > index:
                    out.merge(f"{letter}{header_top}:{get_column_letter(end + 1)}{header_top}")
            else:
                top.append(heading(None))
        out.append(top)
        out.append([heading(None if c.group is None else c.heading) for c in sheet.columns])
    else:
        # A row written by a program keeps its height when opened: give a heading that wraps in
        # its narrow column the lines it needs (about one character per width unit), set before
        # the row is written (the sheet is write-only).
        lines = max(math.ceil(len(c.heading) / max(c.width - 1, 1)) for c in sheet.columns)
        if lines > 1:
            out.row_height(header_top, 15 * lines)
        out.append([heading(c.heading) for c in sheet.columns])
    if sheet.number_columns:
        out.append([heading(f"({i})") for i in range(1, width + 1)])

    for values in sheet.rows:
        out.append(
            [
                out.cell(values.get(c.key), border=BOX, number_format=c.number_format)
                for c in sheet.columns
            ]
        )
    if sheet.totals is not None:
        totals = sheet.totals
        out.append(
            [
                out.cell(totals.get(c.key), font=BOLD, border=BOX, number_format=c.number_format)
                for c in sheet.columns
            ]
        )
    if sheet.note:
        out.append()
        out.append([out.cell(sheet.note, font=font(italic=True, size=9))])
    return out.to_bytes()
