"""The dossiers behind a figure (contract section 13): which figure, which page, and the files.

Which dossiers a figure counts is said once, in `app.dossiers.figures`; this module checks the
query, counts the figure the cheapest exact way (the summary tables where they keep it), pages
through the dossiers in code byte order, and writes the CSV (streamed, no row limit) and the
XLSX (up to `XLSX_MAX_ROWS`, built in a worker process).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.problems import ValidationFailed, field_error, validation_failed
from app.core.workers import WorkerPool
from app.dossiers import repository
from app.dossiers.figures import DOSSIERS, FIGURES, Figure, Window
from app.dossiers.schemas import DossierList, DossierOut
from app.dossiers.service import dossier_out
from app.localtime import REPORT_TIMEZONE, REPORT_TIMEZONE_NAME
from app.models import Dossier
from app.stats import repository as stats_repository
from app.stats.formats.exports import (
    UTF8_BOM,
    Column,
    Sheet,
    csv_lines,
    download_name,
    period_label,
    xlsx_workbook,
)
from app.stats.repository import Filters
from app.stats.service import check_known, check_range

# Beyond this many dossiers a workbook is refused (422, asking for CSV): a sheet of more rows is
# slow to build and to open, and Excel's own limit is near (1,048,576 rows).
XLSX_MAX_ROWS = 100_000
# Dossiers read per statement while a file is written.
CHUNK_ROWS = 5_000
_CURSOR_PREFIX = b"k1:"


@dataclass(frozen=True)
class FigureQuery:
    """A figure and the filters it is opened with (already checked)."""

    figure: Figure
    window: Window
    unit: str | None
    domain: str | None
    unit_exact: str | None
    unit_level: str | None

    def filters(self, subtree: Sequence[str] | None = None) -> Filters:
        return Filters(
            self.unit,
            self.domain,
            unit_exact=self.unit_exact,
            unit_level=self.unit_level,
            subtree=subtree,
        )

    def conditions(self, subtree: Sequence[str] | None = None) -> list[ColumnElement[bool]]:
        """The figure's condition and the filters, on `dossiers` (with the unit filter's
        subtree as a list of codes, when `subtree` gives it: see `page_conditions`)."""
        return [
            self.figure.condition(DOSSIERS, self.window),
            *self.filters(subtree).conditions(DOSSIERS),
        ]


def encode_cursor(code: str) -> str:
    """An opaque cursor that resumes after `code`."""
    return base64.urlsafe_b64encode(_CURSOR_PREFIX + code.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> str:
    """The code a cursor resumes after; 422 naming `cursor` when it is not one of ours."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        if not raw.startswith(_CURSOR_PREFIX):
            raise ValueError("not a cursor")
        code = raw[len(_CURSOR_PREFIX) :].decode()
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise validation_failed(
            ["query", "cursor"], "not a cursor this service gave out", "invalid_cursor"
        ) from None
    if not code or any(ord(ch) < 32 or ord(ch) == 127 for ch in code):
        raise validation_failed(
            ["query", "cursor"], "not a cursor this service gave out", "invalid_cursor"
        )
    return code


async def figure_query(
    session: AsyncSession,
    *,
    figure: str,
    date_from: dt.date,
    date_to: dt.date,
    basis: str,
    unit: str | None,
    domain: str | None,
    unit_exact: str | None,
    unit_level: str | None,
) -> FigureQuery:
    """The query, checked: a known figure, `from` <= `to`, units and domain in the catalog."""
    found = FIGURES.get(figure)
    if found is None:
        raise ValidationFailed(
            f"unknown figure {figure!r}",
            errors=[
                field_error(
                    ["query", "figure"],
                    "must be one of: " + ", ".join(FIGURES),
                    "unknown_figure",
                )
            ],
        )
    check_range(date_from, date_to)
    unit_known, domain_known = await stats_repository.filters_known(session, unit, domain)
    check_known(unit, unit_known, domain, domain_known)
    if unit_exact is not None:
        exact_known, _ = await stats_repository.filters_known(session, unit_exact, None)
        if not exact_known:
            raise validation_failed(
                ["query", "unit_exact"],
                f"unit {unit_exact!r} is not in the catalog",
                "unknown_unit",
            )
    return FigureQuery(
        found, Window(date_from, date_to, basis), unit, domain, unit_exact, unit_level
    )


async def figure_value(session: AsyncSession, query: FigureQuery) -> int:
    """The figure's value for the filters: from the summary tables when they keep it (what the
    statistics endpoints answer), else counted over the dossiers."""
    summaries = query.figure.summaries
    if summaries is None:
        return await repository.figure_count(session, query.conditions())
    totals = await stats_repository.figure_totals(
        session,
        date_from=query.window.date_from,
        date_to=query.window.date_to,
        filters=query.filters(),
        parts=summaries.parts,
    )
    value = summaries.value(totals, query.window)
    if summaries.minus is not None:
        left_out = [summaries.minus(DOSSIERS, query.window), *query.filters().conditions(DOSSIERS)]
        value -= await repository.figure_count(session, left_out)
    return value


async def page_conditions(session: AsyncSession, query: FigureQuery) -> list[ColumnElement[bool]]:
    """The figure's conditions for reading its dossiers, the unit filter's subtree read first as
    a list of codes: the planner then knows how many dossiers those units hold, and reads a
    commune's dossiers from its own (index `ix_dossiers_unit_code`, migration 0012) instead of
    walking every code of the city."""
    subtree = None if query.unit is None else await repository.subtree_units(session, query.unit)
    return query.conditions(subtree)


async def figure_dossiers(
    session: AsyncSession, query: FigureQuery, *, cursor: str | None, limit: int
) -> DossierList:
    """One page of the figure's dossiers in code byte order, its `count`, the next cursor."""
    after = decode_cursor(cursor) if cursor is not None else None
    count = await figure_value(session, query)
    conditions = await page_conditions(session, query)
    rows = await repository.figure_page(session, conditions, after=after, limit=limit + 1)
    page = rows[:limit]
    next_cursor = encode_cursor(page[-1].code) if len(rows) > limit else None
    return DossierList(
        figure=query.figure.name,
        count=count,
        items=[dossier_out(d) for d in page],
        next_cursor=next_cursor,
    )


# --- files ------------------------------------------------------------------------------

CSV_COLUMNS: list[str] = list(DossierOut.model_fields)


def file_name(query: FigureQuery, extension: str) -> str:
    """`ho-so_<figure>_<unit>[_<level>][_<domain>]_<period>.<ext>`, e.g.
    `ho-so_pending_overdue_10444_2024-Q1.csv`; `online` and `total` also name their basis."""
    figure = query.figure.name
    if figure in ("online", "total"):
        figure += "-" + query.window.basis
    return download_name(
        "ho-so",
        figure,
        query.unit_exact or query.unit,
        *(part for part in (query.unit_level, query.domain) if part),
        period_label(query.window.date_from, query.window.date_to),
        extension=extension,
    )


async def csv_chunks(
    sessionmaker: async_sessionmaker[AsyncSession], query: FigureQuery
) -> AsyncIterator[bytes]:
    """Every dossier of the figure as CSV (BOM, header, one line each), a chunk at a time.

    Its own session, read in one REPEATABLE READ snapshot: the request's session has ended by
    the time the body streams, and every chunk sees the same dossiers. Keyset chunks keep
    memory flat and each statement short, whatever the number of rows."""
    yield UTF8_BOM + csv_lines(CSV_COLUMNS, [], header=True)
    async with sessionmaker() as session:
        await session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        async for rows in _chunks(session, query):
            dumped = [dossier_out(d).model_dump(mode="json") for d in rows]
            yield csv_lines(CSV_COLUMNS, dumped, header=False)


async def _chunks(session: AsyncSession, query: FigureQuery) -> AsyncIterator[list[Dossier]]:
    """Every dossier of the figure, `CHUNK_ROWS` at a time (keyset chunks: memory stays flat
    and each statement short, whatever the number of rows)."""
    conditions = await page_conditions(session, query)
    after: str | None = None
    while True:
        rows = await repository.figure_page(session, conditions, after=after, limit=CHUNK_ROWS)
        if rows:
            yield rows
        if len(rows) < CHUNK_ROWS:
            return
        after = rows[-1].code


def _local(moment: dt.datetime | None) -> dt.datetime | None:
    """A timestamp as local wall time (a spreadsheet cell has no time zone)."""
    return None if moment is None else moment.astimezone(REPORT_TIMEZONE).replace(tzinfo=None)


_DATE = "dd/mm/yyyy"
_TIME = "dd/mm/yyyy hh:mm"
XLSX_COLUMNS = [
    Column("number", "STT", 5),
    Column("code", "Mã hồ sơ", 24),
    Column("procedure_code", "Mã TTHC", 10),
    Column("procedure_name", "Tên thủ tục", 26),
    Column("domain_code", "Mã lĩnh vực", 9),
    Column("domain_name", "Lĩnh vực", 14),
    Column("unit_code", "Mã đơn vị", 8),
    Column("channel", "Kênh nộp", 10),
    Column("service_level", "Mức độ", 6),
    Column("status", "Trạng thái", 13),
    Column("received_at", "Ngày tiếp nhận", 15, _TIME),
    Column("due_at", "Ngày hẹn trả", 15, _TIME),
    Column("finished_at", "Ngày kết thúc xử lý", 15, _TIME),
    Column("returned_at", "Ngày trả kết quả", 15, _TIME),
    Column("paused_days", "Số ngày tạm dừng", 10),
    Column("effective_due_on", "Hạn xử lý", 11, _DATE),
    Column("ended_on", "Ngày kết thúc", 12, _DATE),
]
_LEVEL_NAMES = {"province": "tỉnh", "district": "huyện", "commune": "xã"}
_CHANNEL_NAMES = {"online": "Trực tuyến", "in_person": "Trực tiếp", "postal": "Bưu chính"}
_STATUS_NAMES = {
    "submitted": "Mới đăng ký",
    "received": "Được tiếp nhận",
    "refused": "Không được tiếp nhận",
    "processing": "Đang xử lý",
    "supplement_requested": "Yêu cầu bổ sung",
    "fees_due": "Thực hiện nghĩa vụ tài chính",
    "withdrawn": "Rút hồ sơ",
    "stopped": "Dừng xử lý",
    "finished": "Đã xử lý xong",
    "returned": "Đã trả kết quả",
}


def _xlsx_row(number: int, d: Any) -> dict[str, Any]:
    return {
        "number": number,
        "code": d.code,
        "procedure_code": d.procedure_code,
        "procedure_name": d.procedure_name,
        "domain_code": d.domain_code,
        "domain_name": d.domain_name,
        "unit_code": d.unit_code,
        "channel": _CHANNEL_NAMES.get(d.channel, d.channel),
        "service_level": d.service_level,
        "status": _STATUS_NAMES.get(d.status, d.status),
        "received_at": _local(d.received_at),
        "due_at": _local(d.due_at),
        "finished_at": _local(d.finished_at),
        "returned_at": _local(d.returned_at),
        "paused_days": d.paused_days,
        "effective_due_on": d.effective_due_on,
        "ended_on": d.ended_on,
    }


async def figure_xlsx(
    session: AsyncSession, pool: WorkerPool, query: FigureQuery, scope_line: str
) -> bytes:
    """The figure's dossiers as a printable workbook (422 beyond `XLSX_MAX_ROWS`, asking for
    CSV), built in a worker process."""
    count = await figure_value(session, query)
    if count > XLSX_MAX_ROWS:
        raise validation_failed(
            ["query", "format"],
            f"{count} dossiers are more than an XLSX file takes ({XLSX_MAX_ROWS}):"
            " ask for format=csv, which has no row limit",
            "too_many_rows",
        )
    rows: list[dict[str, Any]] = []
    async for chunk in _chunks(session, query):
        rows.extend(_xlsx_row(n, d) for n, d in enumerate(chunk, start=len(rows) + 1))
    window = query.window
    level = f" — Cấp: {_LEVEL_NAMES[query.unit_level]}" if query.unit_level else ""
    subtitle = [
        f"Từ ngày {window.date_from:%d/%m/%Y} đến ngày {window.date_to:%d/%m/%Y}",
        scope_line + level,
        f"Chỉ tiêu: {query.figure.name}"
        + (f" (cách tính {window.basis})" if query.figure.name in ("online", "total") else "")
        + f" — {len(rows)} hồ sơ",
    ]
    sheet = Sheet(
        title=f"DANH SÁCH {query.figure.label.upper()}",
        subtitle_lines=subtitle,
        columns=XLSX_COLUMNS,
        rows=rows,
        note=f"Thời gian theo múi giờ {REPORT_TIMEZONE_NAME}; hồ sơ xếp theo mã hồ sơ. Hạn xử lý:"
        " ngày hẹn trả cộng số ngày dừng chờ bổ sung hồ sơ, thực hiện nghĩa vụ tài chính.",
        sheet_name="Danh sách hồ sơ",
        number_columns=False,
    )
    return await pool.run(xlsx_workbook, sheet)
