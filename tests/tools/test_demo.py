"""`dossier-stats demo`: a small realistic year, through the ingest path, safe to rerun."""

from __future__ import annotations

import httpx

from app.tools.demo.generator import PROCEDURES, online_share
from tests.tools.test_cli import run_cli


def test_online_shares_differ_by_domain_and_grow() -> None:
    assert online_share("TP", 12) > online_share("TP", 1)
    assert online_share("DKKD", 6) != online_share("XD", 6)
    assert {p.domain_code for p in PROCEDURES} >= {"TP", "DKKD", "DD", "XD"}


async def test_demo_loads_a_year_for_my_duc_and_a_rerun_adds_nothing(
    api: httpx.AsyncClient, database_url: str
) -> None:
    code, _, err = await run_cli(database_url, "demo", "--dossiers", "120", "--year", "2017")
    assert code == 0, err
    assert "rejected 0" in err
    report = (
        await api.get(
            "/v1/stats/online-ratio",
            params={"from": "2017-01-01", "to": "2017-12-31", "unit": "282", "group_by": "unit"},
        )
    ).json()
    units = {row["unit_code"] for row in report["rows"]}
    assert "282" in units and len(units) > 3
    assert report["overall"]["total"] > 50
    by_domain = (
        await api.get(
            "/v1/stats/online-ratio",
            params={"from": "2017-01-01", "to": "2017-12-31", "basis": "all"},
        )
    ).json()
    assert len(by_domain["rows"]) >= 4

    code, _, err = await run_cli(database_url, "demo", "--dossiers", "120", "--year", "2017")
    assert code == 0
    assert "applied 0" in err and "rejected 0" in err


async def test_demo_of_another_year_adds_to_the_first(
    api: httpx.AsyncClient, database_url: str
) -> None:
    for year in ("2017", "2018"):
        code, _, err = await run_cli(database_url, "demo", "--dossiers", "40", "--year", year)
        assert code == 0, err
        assert "rejected 0" in err
    for year in ("2017", "2018"):
        report = (
            await api.get(
                "/v1/stats/online-ratio",
                params={"from": f"{year}-01-01", "to": f"{year}-12-31", "basis": "all"},
            )
        ).json()
        assert report["overall"]["total"] > 20, year
