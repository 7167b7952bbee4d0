"""GET /v1/stats/online-ratio: hand-checked cases of each rule."""

from __future__ import annotations

import csv
import io

import httpx
import pytest

from tests.conftest import csv_body, event

YEAR = {"from": "2017-01-01", "to": "2017-12-31"}


async def send(api: httpx.AsyncClient, *events: dict) -> None:
    response = await api.post("/v1/events", json={"events": list(events)})
    assert response.status_code == 200 and not response.json()["rejected"], response.text


async def ratio(api: httpx.AsyncClient, **params: str) -> dict:
    response = await api.get("/v1/stats/online-ratio", params={**YEAR, **params})
    assert response.status_code == 200, response.text
    return response.json()


async def test_receipt_after_17h_utc_counts_on_the_next_local_day(api: httpx.AsyncClient) -> None:
    await send(
        api,
        event("e1", received_at="2017-03-31T17:30:00Z"),
        event("e2", code="D2", received_at="2017-03-31T16:59:59Z"),
    )
    body = await ratio(api, period="month")
    assert [(r["period"], r["total"]) for r in body["rows"]] == [("2017-03", 1), ("2017-04", 1)]
    assert body["timezone"] == "Asia/Ho_Chi_Minh"


async def test_bases_count_different_numerators_and_denominators(api: httpx.AsyncClient) -> None:
    await send(
        api,
        event("a", code="A", channel="online", service_level=4),
        event("b", code="B", channel="online", service_level=3),
        event("c", code="C", channel="in_person", service_level=3),
        event("d", code="D", channel="online", service_level=2),
        event("e", code="E", channel="postal", service_level=2),
    )
    capable = (await ratio(api, basis="online_capable", group_by="none"))["overall"]
    everything = (await ratio(api, basis="all", group_by="none"))["overall"]
    full = (await ratio(api, basis="full_online", group_by="none"))["overall"]
    assert (capable["online"], capable["total"]) == (2, 3)
    assert (everything["online"], everything["total"]) == (3, 5)
    assert (full["online"], full["total"]) == (1, 5)


async def test_submitted_and_refused_dossiers_do_not_count(api: httpx.AsyncClient) -> None:
    await send(
        api,
        event("a", code="A", status="submitted"),
        event("b", code="B", status="refused"),
        event("c", code="C", status="withdrawn"),
    )
    assert (await ratio(api, group_by="none"))["overall"]["total"] == 1


async def test_target_and_meets_target_per_domain(api: httpx.AsyncClient) -> None:
    # TP: 3 of 5 online = 0.6, exactly the 60% target.
    for i, channel in enumerate(["online"] * 3 + ["in_person"] * 2):
        await send(api, event(f"tp{i}", code=f"TP{i}", channel=channel))
    await send(api, event("dd", code="DD1", domain_code="DD", channel="in_person"))
    rows = (await ratio(api))["rows"]
    assert rows == [
        {
            "period": None,
            "domain_code": "DD",
            "domain_name": "Đất đai",
            "online": 0,
            "total": 1,
            "ratio": 0.0,
            "target": 0.2,
            "meets_target": False,
        },
        {
            "period": None,
            "domain_code": "TP",
            "domain_name": "Tư pháp",
            "online": 3,
            "total": 5,
            "ratio": 0.6,
            "target": 0.6,
            "meets_target": True,
        },
    ]


async def test_group_by_unit_has_unit_fields_and_no_target(api: httpx.AsyncClient) -> None:
    await send(
        api, event("a", code="A", unit_code="10444"), event("b", code="B", unit_code="10441")
    )
    rows = (await ratio(api, group_by="unit"))["rows"]
    assert [r["unit_code"] for r in rows] == ["10441", "10444"]
    assert rows[1]["unit_name"] == "Xã Đồng Tâm"
    assert all(r["target"] is None and r["meets_target"] is None for r in rows)
    assert all("domain_code" not in r for r in rows)


async def test_unit_filter_takes_the_whole_subtree(api: httpx.AsyncClient) -> None:
    await send(
        api,
        event("a", code="A", unit_code="10444"),
        event("b", code="B", unit_code="282"),
        event("c", code="C", unit_code="99999"),  # unknown: joins the catalog outside the tree
    )
    assert (await ratio(api, unit="282", group_by="none"))["overall"]["total"] == 2
    assert (await ratio(api, unit="10444", group_by="none"))["overall"]["total"] == 1
    assert (await ratio(api, group_by="none"))["overall"]["total"] == 3


async def test_moving_a_unit_moves_its_dossiers_in_reports(api: httpx.AsyncClient) -> None:
    await send(api, event("c", code="C", unit_code="99999"))
    assert (await ratio(api, unit="282", group_by="none"))["overall"]["total"] == 0
    put = await api.put(
        "/v1/units/99999", json={"name": "Xã Mới", "parent_code": "282", "level": "commune"}
    )
    assert put.status_code == 200
    assert (await ratio(api, unit="282", group_by="none"))["overall"]["total"] == 1


@pytest.mark.parametrize(
    ("period", "labels"),
    [("month", ["2017-02", "2017-11"]), ("quarter", ["2017-Q1", "2017-Q4"]), ("year", ["2017"])],
)
async def test_period_labels(api: httpx.AsyncClient, period: str, labels: list[str]) -> None:
    await send(
        api,
        event("a", code="A", received_at="2017-02-09T14:00:00+07:00"),
        event("b", code="B", received_at="2017-11-09T14:00:00+07:00"),
    )
    rows = (await ratio(api, period=period, group_by="none"))["rows"]
    assert [r["period"] for r in rows] == labels


async def test_corrections_move_a_dossier_between_groups(api: httpx.AsyncClient) -> None:
    await send(api, event("v1", occurred_at="2017-02-10T09:00:00+07:00", domain_code="TP"))
    await send(
        api,
        event(
            "v2",
            occurred_at="2017-02-11T09:00:00+07:00",
            domain_code="DD",
            received_at="2017-05-02T10:00:00+07:00",
        ),
    )
    rows = (await ratio(api, period="month"))["rows"]
    assert [(r["period"], r["domain_code"], r["total"]) for r in rows] == [("2017-05", "DD", 1)]


async def test_csv_has_a_header_and_the_same_rows(api: httpx.AsyncClient) -> None:
    await send(api, event("a", code="A"))
    response = await api.get("/v1/stats/online-ratio", params={**YEAR, "format": "csv"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(csv_body(response))))
    assert rows == [
        {
            "period": "",
            "domain_code": "TP",
            "domain_name": "Tư pháp",
            "online": "1",
            "total": "1",
            "ratio": "1.0",
            "target": "0.6",
            "meets_target": "True",
        }
    ]


@pytest.mark.parametrize(
    ("params", "loc", "code"),
    [
        ({"from": "2017-02-01", "to": "2017-01-01"}, ["query", "from"], "date_range"),
        (
            {"from": "2017-13-01", "to": "2017-12-31"},
            ["query", "from"],
            "date_from_datetime_parsing",
        ),
        ({"to": "2017-12-31"}, ["query", "from"], "missing"),
        ({**YEAR, "basis": "weird"}, ["query", "basis"], "literal_error"),
        ({**YEAR, "group_by": "x"}, ["query", "group_by"], "literal_error"),
        ({**YEAR, "unit": "nope"}, ["query", "unit"], "unknown_unit"),
        ({**YEAR, "domain": "nope"}, ["query", "domain"], "unknown_domain"),
    ],
)
async def test_bad_parameters_are_422_naming_the_field(
    api: httpx.AsyncClient, params: dict, loc: list, code: str
) -> None:
    response = await api.get("/v1/stats/online-ratio", params=params)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    error = response.json()["errors"][0]
    assert error["loc"] == loc
    assert error["code"] == code


def test_local_date_matches_the_zone_database_across_its_history() -> None:
    import datetime as dt
    from zoneinfo import ZoneInfo

    from app.localtime import local_date

    zone = ZoneInfo("Asia/Ho_Chi_Minh")
    moment = dt.datetime(1950, 1, 1, tzinfo=dt.UTC)
    while moment.year < 2030:
        assert local_date(moment) == moment.astimezone(zone).date(), moment
        moment += dt.timedelta(days=37, hours=5)
