"""Exports never fail on stored text, and no cell becomes a formula (contract section 2, v2).

The names are written by SQL directly, as data stored before the API refused control characters
(or written by hand) would be."""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile

import httpx
import pytest
from openpyxl import load_workbook
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.stats.formats.exports import csv_table, download_name, period_label
from tests.conftest import csv_body
from tests.stats.test_reports import Q1, mixed_quarter

# Control characters XML cannot hold, DEL, and the four formula starters.
DOMAIN_NAMES = {
    "TP": "Tư\x01pháp\x1f\x7f",
    "DD": '=HYPERLINK("http://evil.example","Đất đai")',
}
UNIT_NAMES = {"10441": "@SUM(1+1)\x0b", "10444": "-2+3"}

FILES = [
    ("/v1/stats/report-06", {"format": "xlsx"}),
    ("/v1/stats/report-06", {"format": "xlsx", "group_by": "unit"}),
    ("/v1/stats/online-ratio", {"format": "xlsx"}),
    ("/v1/stats/online-ratio", {"format": "xlsx", "group_by": "unit", "period": "month"}),
    ("/v1/stats/report-06", {"format": "csv"}),
    ("/v1/stats/report-06", {"format": "csv", "group_by": "unit"}),
    ("/v1/stats/online-ratio", {"format": "csv"}),
    ("/v1/stats/online-ratio", {"format": "csv", "group_by": "unit"}),
    ("/v1/stats/procedure-coverage", {"format": "csv"}),
]


async def store_hostile_names(session: AsyncSession) -> None:
    async with session.begin():
        for code, name in DOMAIN_NAMES.items():
            await session.execute(
                text("UPDATE domains SET name = :name WHERE code = :code"),
                {"name": name, "code": code},
            )
        for code, name in UNIT_NAMES.items():
            await session.execute(
                text("UPDATE units SET name = :name WHERE code = :code"),
                {"name": name, "code": code},
            )


def xlsx_texts(data: bytes) -> set[str]:
    sheet = load_workbook(io.BytesIO(data)).active
    assert sheet is not None
    return {c.value for row in sheet.iter_rows() for c in row if isinstance(c.value, str)}


@pytest.mark.parametrize(("path", "params"), FILES)
async def test_exports_answer_whatever_names_are_stored(
    api: httpx.AsyncClient, session: AsyncSession, path: str, params: dict[str, str]
) -> None:
    await mixed_quarter(api)
    await store_hostile_names(session)
    response = await api.get(path, params={**Q1, **params})
    assert response.status_code == 200, response.text
    if params["format"] == "xlsx":
        archive = zipfile.ZipFile(io.BytesIO(response.content))
        sheet_xml = archive.read("xl/worksheets/sheet1.xml").decode()
        assert "<f>" not in sheet_xml and 't="e"' not in sheet_xml  # no formula, no error value
        texts = xlsx_texts(response.content)
        shown = texts if "group_by" in params else {t for t in texts if "pháp" in t}
        assert shown  # the stored names are in the file, not dropped
        for value in texts:
            assert not any(ord(ch) < 32 and ch not in "\t\n\r" for ch in value), value
    else:
        for row in csv.reader(io.StringIO(csv_body(response))):
            for field in row:
                assert not field.startswith(("=", "+", "-", "@")), field


async def test_xlsx_shows_hostile_names_as_text(
    api: httpx.AsyncClient, session: AsyncSession
) -> None:
    await mixed_quarter(api)
    await store_hostile_names(session)
    domains = await api.get("/v1/stats/report-06", params={**Q1, "format": "xlsx"})
    texts = xlsx_texts(domains.content)
    assert "Tư\ufffdpháp\ufffd\x7f" in texts  # XML-illegal characters replaced, DEL is legal
    assert DOMAIN_NAMES["DD"] in texts  # the formula text, as a string cell
    units = await api.get(
        "/v1/stats/online-ratio", params={**Q1, "format": "xlsx", "group_by": "unit"}
    )
    assert "@SUM(1+1)\ufffd" in xlsx_texts(units.content)


async def test_csv_prefixes_text_that_would_run_as_a_formula(
    api: httpx.AsyncClient, session: AsyncSession
) -> None:
    await mixed_quarter(api)
    await store_hostile_names(session)
    response = await api.get("/v1/stats/report-06", params={**Q1, "format": "csv"})
    rows = {r["domain_code"]: r for r in csv.DictReader(io.StringIO(csv_body(response)))}
    assert rows["DD"]["domain_name"] == "'" + DOMAIN_NAMES["DD"]
    assert rows["TP"]["domain_name"] == DOMAIN_NAMES["TP"]  # CSV carries any character
    by_unit = await api.get(
        "/v1/stats/online-ratio", params={**Q1, "format": "csv", "group_by": "unit"}
    )
    names = {r["unit_code"]: r["unit_name"] for r in csv.DictReader(io.StringIO(csv_body(by_unit)))}
    assert names["10441"] == "'" + UNIT_NAMES["10441"]


def test_csv_numbers_are_not_prefixed() -> None:
    data = csv_table(["a", "b", "c"], [{"a": -1, "b": "-1", "c": None}])
    assert data.decode("utf-8-sig").splitlines() == ["a,b,c", "-1,'-1,"]


@pytest.mark.parametrize(
    ("path", "params", "name"),
    [
        (
            "/v1/stats/online-ratio",
            {"from": "2017-01-01", "to": "2017-03-15", "unit": "282", "format": "csv"},
            "ty-le-truc-tuyen_282_2017-01-01_2017-03-15.csv",
        ),
        (
            "/v1/stats/online-ratio",
            {"from": "2017-01-01", "to": "2017-12-31", "format": "xlsx"},
            "ty-le-truc-tuyen_all_2017.xlsx",
        ),
        (
            "/v1/stats/report-06",
            {"from": "2017-04-01", "to": "2017-06-30", "unit": "282", "format": "xlsx"},
            "bieu-06_282_2017-Q2.xlsx",
        ),
        (
            "/v1/stats/report-06",
            {"from": "2017-02-01", "to": "2017-02-28", "domain": "TP", "format": "csv"},
            "bieu-06_all_TP_2017-02.csv",
        ),
        (
            "/v1/stats/procedure-coverage",
            {"unit_level": "commune", "format": "csv"},
            "ty-le-thu-tuc-truc-tuyen_commune.csv",
        ),
    ],
)
async def test_downloads_are_named_after_what_they_hold(
    api: httpx.AsyncClient, path: str, params: dict[str, str], name: str
) -> None:
    response = await api.get(path, params=params)
    assert response.status_code == 200, response.text
    assert response.headers["content-disposition"] == f'attachment; filename="{name}"'
    if params["format"] == "csv":
        assert response.content.startswith(b"\xef\xbb\xbf")  # Excel reads it as UTF-8


@pytest.mark.parametrize(
    ("date_from", "date_to", "label"),
    [
        ("2024-01-01", "2024-12-31", "2024"),
        ("2024-04-01", "2024-06-30", "2024-Q2"),
        ("2024-02-01", "2024-02-29", "2024-02"),
        ("2024-02-01", "2024-03-31", "2024-02-01_2024-03-31"),
        ("2024-02-01", "2024-04-30", "2024-02-01_2024-04-30"),  # three months, not a quarter
        ("2024-01-02", "2024-12-31", "2024-01-02_2024-12-31"),
        ("2023-01-01", "2024-12-31", "2023-01-01_2024-12-31"),
    ],
)
def test_period_label(date_from: str, date_to: str, label: str) -> None:
    assert period_label(dt.date.fromisoformat(date_from), dt.date.fromisoformat(date_to)) == label


def test_download_name_is_ascii_safe() -> None:
    assert download_name("ho-so", "total", "Xã Đồng/Tâm", "2017", extension="csv") == (
        "ho-so_total_X-ng-T-m_2017.csv"
    )
    assert (
        download_name("ho-so", "total", None, "2017", extension="csv") == "ho-so_total_all_2017.csv"
    )
