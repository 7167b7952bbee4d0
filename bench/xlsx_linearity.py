"""How building an XLSX grows with its rows (issue 13): the online-ratio workbook and the
report 06 form, built in this process from synthetic rows, no database.

    python -m bench.xlsx_linearity [--rows 2000 4000 8000] [--repeat 3]

Prints seconds per build (best of `--repeat`) and seconds per 1,000 rows: a linear build keeps
the last column flat as rows double. Works on any checkout that has `app.stats.formats.exports`
(`xlsx_workbook`, `Sheet`, `Column`), so the same script measures the code before a change.
"""

from __future__ import annotations

import argparse
import datetime as dt
import time
from collections.abc import Callable
from functools import partial
from typing import Any

from app.stats.formats.exports import Column, Sheet, xlsx_workbook


def ratio_sheet(rows: int) -> Sheet:
    """An online-ratio workbook by unit and month, as `group_by=unit&period=month` gives it."""
    body = [
        {
            "period": f"{2000 + i // 1200}-{i // 100 % 12 + 1:02d}",
            "unit_code": f"U{i % 100:03d}",
            "unit_name": f"Xã thứ {i % 100}",
            "online": i % 37,
            "total": 40,
            "ratio": (i % 37) / 40,
        }
        for i in range(rows)
    ]
    return Sheet(
        title="TỶ LỆ HỒ SƠ NỘP TRỰC TUYẾN",
        subtitle_lines=["Kỳ báo cáo", "Đơn vị", "Cách tính"],
        columns=[
            Column("period", "Kỳ", 10),
            Column("unit_code", "Mã đơn vị", 12),
            Column("unit_name", "Đơn vị", 34),
            Column("online", "Hồ sơ trực tuyến", 14, "#,##0"),
            Column("total", "Tổng số hồ sơ", 14, "#,##0"),
            Column("ratio", "Tỷ lệ", 11, "0.00%"),
        ],
        rows=body,
        totals={"period": "Tổng cộng", "online": 1, "total": 2, "ratio": 0.5},
        note="ghi chú",
        sheet_name="Tỷ lệ trực tuyến",
    )


def ratio_workbook(rows: int) -> bytes:
    """The online-ratio workbook of `rows` rows."""
    return xlsx_workbook(ratio_sheet(rows))


def form06_builder() -> Callable[[int], bytes] | None:
    """The report 06 form's builder, where the checkout has one."""
    try:
        from app.stats.formats.form06 import COUNT_COLUMNS, Form06, build_form06
    except ImportError:
        return None

    def build(rows: int) -> bytes:
        levels = ["province", "district", "commune", None]
        body: list[dict[str, Any]] = [
            {"name": f"Lĩnh vực {i}", "unit_level": levels[i % 4]}
            | {key: i % 7 for key in COUNT_COLUMNS}
            for i in range(rows)
        ]
        totals = {key: sum(r[key] for r in body) for key in COUNT_COLUMNS}
        form = Form06(dt.date(2017, 1, 1), dt.date(2017, 12, 31), "Huyện", None, body, totals)
        return build_form06(form)

    return build


def best_of(repeat: int, build: Callable[[], bytes]) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        build()
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[2000, 4000, 8000])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    form06 = form06_builder()
    print(f"{'workbook':<14}{'rows':>8}{'seconds':>10}{'s / 1k rows':>14}")
    for rows in args.rows:
        seconds = best_of(args.repeat, partial(ratio_workbook, rows))
        print(f"{'online-ratio':<14}{rows:>8}{seconds:>10.3f}{seconds / rows * 1000:>14.4f}")
    if form06 is not None:
        for rows in args.rows:
            seconds = best_of(args.repeat, partial(form06, rows))
            print(f"{'report-06':<14}{rows:>8}{seconds:>10.3f}{seconds / rows * 1000:>14.4f}")


if __name__ == "__main__":
    main()
