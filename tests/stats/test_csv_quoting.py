"""CSV files quote what needs quoting: a name holding a comma, a quote or a line break comes
back whole through any CSV reader, and the row keeps its number of fields.

The names are written by SQL, as data stored before the API refused control characters would be."""

from __future__ import annotations

import csv
import io

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.stats.formats.exports import csv_table
from tests.conftest import event

NAMES = {
    "TP": 'Tư pháp, "hộ tịch"',
    "DD": "Đất đai\nvà môi trường",
    "XD": "Xây dựng;\r\nquy hoạch, kiến trúc",
}
UNIT_NAME = 'Xã "Đồng Tâm", huyện Mỹ Đức\nHà Nội'
YEAR = {"from": "2017-01-01", "to": "2017-12-31", "format": "csv"}


def read(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


@pytest.mark.parametrize("name", [*NAMES.values(), UNIT_NAME, "a,b", '"', "\n", ""])
def test_a_field_round_trips_through_csv_reader(name: str) -> None:
    data = csv_table(["name", "n"], [{"name": name, "n": 1}]).decode("utf-8-sig")
    assert read(data) == [["name", "n"], [name, "1"]]


async def named_catalog(api: httpx.AsyncClient, session: AsyncSession) -> None:
    async with session.begin():
        for code, name in NAMES.items():
            await session.execute(
                text("UPDATE domains SET name = :name WHERE code = :code"),
                {"name": name, "code": code},
            )
        await session.execute(
            text("UPDATE units SET name = :name WHERE code = '10444'"), {"name": UNIT_NAME}
        )
    events = [
        event(f"e{code}", code=f"D{code}", domain_code=code, domain_name=None, unit_code="10444")
        for code in NAMES
    ]
    response = await api.post("/v1/events", json={"events": events})
    assert response.status_code == 200 and response.json()["applied"] == 3, response.text


@pytest.mark.parametrize("path", ["/v1/stats/online-ratio", "/v1/stats/report-06"])
async def test_domain_names_with_commas_quotes_and_line_breaks_round_trip(
    api: httpx.AsyncClient, session: AsyncSession, path: str
) -> None:
    await named_catalog(api, session)
    response = await api.get(path, params=YEAR)
    assert response.status_code == 200
    header, *rows = read(response.content.decode("utf-8-sig"))
    assert all(len(row) == len(header) for row in rows), rows
    names = {
        r["domain_code"]: r["domain_name"]
        for r in (dict(zip(header, r, strict=True)) for r in rows)
    }
    assert names == NAMES


@pytest.mark.parametrize("path", ["/v1/stats/online-ratio", "/v1/stats/report-06"])
async def test_unit_names_with_commas_quotes_and_line_breaks_round_trip(
    api: httpx.AsyncClient, session: AsyncSession, path: str
) -> None:
    await named_catalog(api, session)
    response = await api.get(path, params={**YEAR, "group_by": "unit"})
    assert response.status_code == 200
    header, *rows = read(response.content.decode("utf-8-sig"))
    assert all(len(row) == len(header) for row in rows), rows
    [row] = [dict(zip(header, r, strict=True)) for r in rows]
    assert (
        row["unit_code"],
        row["unit_name"],
        row["received_total" if "report" in path else "total"],
    ) == (
        "10444",
        UNIT_NAME,
        "3",
    )


async def test_procedure_coverage_names_round_trip(
    api: httpx.AsyncClient, session: AsyncSession
) -> None:
    await named_catalog(api, session)
    for domain in ("DD", "XD"):
        put = await api.put(
            f"/v1/procedures/P{domain}",
            json={"name": "Thủ tục", "domain_code": domain, "service_level": 4},
        )
        assert put.status_code == 201, put.text
    response = await api.get("/v1/stats/procedure-coverage", params={"format": "csv"})
    assert response.status_code == 200
    header, *rows = read(response.content.decode("utf-8-sig"))
    assert all(len(row) == len(header) for row in rows), rows
    names = {
        r["domain_code"]: r["domain_name"]
        for r in (dict(zip(header, r, strict=True)) for r in rows)
    }
    assert {code: names[code] for code in NAMES} == NAMES
