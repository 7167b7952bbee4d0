"""The scorecard (issue 10): the scorecard fields of events in both formats, and the eight
indicators of `GET /v1/stats/indicators` on a small data set counted by hand, with the scoring
table, procedure eligibility, CSV and the printable XLSX."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from openpyxl import load_workbook
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import MakeKey, bearer, event

Q1 = {"from": "2017-01-01", "to": "2017-03-31"}
SCORECARD = ("fee_amount", "paid_online", "digitized", "reused_data", "e_result")
CODES = (
    "on_time",
    "online_filing",
    "full_online",
    "online_payment",
    "e_result",
    "digitized",
    "reused_data",
    "online_on_time",
)
FIELDS = ("indicator", "name", "numerator", "denominator", "ratio", "full_marks_at", "max_points")


@pytest.fixture(autouse=True)
async def default_scoring(engine: AsyncEngine) -> AsyncIterator[None]:
    """The scoring table as the contract seeds it, before and after each test: the shared
    clean-up (tests/conftest.py DATA_TABLES) does not reset the `indicators` table, so a PUT
    would otherwise leak into every later test of the session."""

    async def reset() -> None:
        async with engine.begin() as conn:
            for code, (max_points, full_marks_at) in SCORING.items():
                await conn.execute(
                    text(
                        "UPDATE indicators SET max_points = :p, full_marks_at = :f"
                        " WHERE indicator = :i"
                    ),
                    {"p": max_points, "f": full_marks_at, "i": code},
                )

    await reset()
    yield
    await reset()


async def post(api: httpx.AsyncClient, *events: dict[str, Any]) -> dict[str, Any]:
    response = await api.post("/v1/events", json={"events": list(events)})
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


async def send(api: httpx.AsyncClient, *events: dict[str, Any]) -> None:
    result = await post(api, *events)
    assert not result["rejected"] and result["applied"] == len(events), result


async def dossier(api: httpx.AsyncClient, code: str) -> dict[str, Any]:
    response = await api.get(f"/v1/dossiers/{code}")
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


def fee(value: Any) -> float:
    """`fee_amount` as answered (a JSON number or a decimal string) as a number."""
    assert isinstance(value, (int, float, str)), value
    return float(value)


# --- 1. native events ---------------------------------------------------------------------


async def test_native_scorecard_fields_are_stored_and_shown(api: httpx.AsyncClient) -> None:
    await send(
        api,
        event(
            "e1",
            code="S1",
            fee_amount=50000.5,
            paid_online="local_gateway",
            digitized=True,
            reused_data=True,
            e_result=True,
        ),
    )
    shown = await dossier(api, "S1")
    assert shown["fee_amount"] == 50000.5  # a JSON number, as sent
    assert shown["paid_online"] == "local_gateway"
    assert shown["digitized"] is True
    assert shown["reused_data"] is True
    assert shown["e_result"] is True


async def test_absent_or_null_scorecard_fields_take_their_defaults(api: httpx.AsyncClient) -> None:
    nulls: dict[str, Any] = dict.fromkeys(SCORECARD)
    await send(api, event("e1", code="ABSENT"), event("e2", code="NULLS", **nulls))
    for code in ("ABSENT", "NULLS"):
        shown = await dossier(api, code)
        assert fee(shown["fee_amount"]) == 0, code
        assert shown["paid_online"] == "no", code
        assert (shown["digitized"], shown["reused_data"], shown["e_result"]) == (
            False,
            False,
            False,
        ), code


@pytest.mark.parametrize(("name", "number"), [("offline", 2), ("partial", 3), ("full", 4)])
async def test_service_level_names_are_stored_as_numbers(
    api: httpx.AsyncClient, name: str, number: int
) -> None:
    await send(api, event("e1", code="L", service_level=name))
    assert (await dossier(api, "L"))["service_level"] == number


async def test_bad_scorecard_values_are_rejected_item_by_item_naming_the_field(
    api: httpx.AsyncClient,
) -> None:
    bad: list[tuple[str, Any]] = [
        ("fee_amount", -1),
        ("fee_amount", "abc"),
        ("fee_amount", 12.345),
        ("paid_online", "cash"),
        ("digitized", "x"),
        ("reused_data", "x"),
        ("e_result", "x"),
        ("service_level", "total"),
    ]
    events = [
        event(f"bad{i}", code=f"B{i}", **{field: value}) for i, (field, value) in enumerate(bad)
    ]
    events.append(event("good", code="GOOD", fee_amount=1.25))
    result = await post(api, *events)
    assert result["applied"] == 1
    rejected = {r["index"]: r for r in result["rejected"]}
    assert sorted(rejected) == list(range(len(bad)))
    for i, (field, value) in enumerate(bad):
        assert rejected[i]["event_id"] == f"bad{i}"
        locs = [e["loc"] for e in rejected[i]["errors"]]
        assert ["events", i, "dossier", field] in locs, (field, value, rejected[i])
        assert all(e["msg"] and e["code"] for e in rejected[i]["errors"])
    for i in range(len(bad)):
        assert (await api.get(f"/v1/dossiers/B{i}")).status_code == 404
    assert fee((await dossier(api, "GOOD"))["fee_amount"]) == 1.25


# --- 2. hash stability --------------------------------------------------------------------


async def test_scorecard_defaults_sent_explicitly_are_a_duplicate(api: httpx.AsyncClient) -> None:
    await send(api, event("e1", code="H"))
    defaults: dict[str, Any] = {
        "fee_amount": 0,
        "paid_online": "no",
        "digitized": False,
        "reused_data": False,
        "e_result": False,
    }
    result = await post(api, event("e1", code="H", **defaults))
    assert (result["duplicates"], result["applied"], result["rejected"]) == (1, 0, []), result
    # and nulls are the defaults too
    nulls: dict[str, Any] = dict.fromkeys(SCORECARD)
    result = await post(api, event("e1", code="H", **nulls))
    assert (result["duplicates"], result["applied"], result["rejected"]) == (1, 0, []), result
    assert (await dossier(api, "H"))["events"] == 1


async def test_equal_fee_amounts_written_differently_are_a_duplicate(
    api: httpx.AsyncClient,
) -> None:
    await send(api, event("e1", code="H", fee_amount=50000))
    for same in (50000.0, "50000", 50000.00):
        result = await post(api, event("e1", code="H", fee_amount=same))
        assert (result["duplicates"], result["rejected"]) == (1, []), (same, result)


@pytest.mark.parametrize(
    "change",
    [
        {"fee_amount": 50000.01},
        {"paid_online": "national_portal"},
        {"digitized": True},
        {"reused_data": True},
        {"e_result": True},
    ],
)
async def test_a_real_scorecard_difference_is_an_event_id_conflict(
    api: httpx.AsyncClient, change: dict[str, Any]
) -> None:
    await send(api, event("e1", code="H", fee_amount=50000))
    result = await post(api, event("e1", code="H", **{"fee_amount": 50000, **change}))
    assert result["applied"] == 0 and result["duplicates"] == 0
    assert [e["code"] for e in result["rejected"][0]["errors"]] == ["event_id_conflict"]
    shown = await dossier(api, "H")
    assert fee(shown["fee_amount"]) == 50000 and shown["paid_online"] == "no"


# --- 3. national records ------------------------------------------------------------------


def record(code: str, **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "MaHoSo": code,
        "MaTTHC": "1.001193",
        "TenTTHC": "Đăng ký khai sinh",
        "MaLinhVuc": "TP",
        "KenhThucHien": 2,
        "TrangThaiHoSo": "4",
        "NgayTiepNhan": "20170209140000",
        "NgayHenTra": "20170214170000",
        "DonViXuLy": 10441,
        "MucDo": "3",
    }
    body.update(fields)
    return body


async def sync(api: httpx.AsyncClient, *records: dict[str, Any]) -> dict[str, Any]:
    body = {"service": "DongBoHoSoMC", "isUpdating": False, "data": list(records)}
    response = await api.post("/v1/compat/dvcqg", json=body)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


async def test_national_scorecard_fields_are_mapped(api: httpx.AsyncClient) -> None:
    result = await sync(
        api,
        record(
            "N1",
            DanhSachLePhi=[{"Gia": "20000"}, {"Gia": 30000}],
            DuocThanhToanTrucTuyen="1",
            HoSoCoThanhPhanSoHoa=1,
            TaiLieuNop=[{"DuocLayTuKhoDMQG": 0}, {"DuocLayTuKhoDMQG": "1"}],
            DanhSachGiayToKetQua=[
                {"DuongDanTepTinKetQua": ""},
                {"DuongDanTepTinKetQua": "/kq.pdf"},
            ],
        ),
        record("N2"),
        record(
            "N3",
            DuocThanhToanTrucTuyen=2,
            HoSoCoThanhPhanSoHoa="0",
            TaiLieuNop=[{"DuocLayTuKhoDMQG": 0}],
            DanhSachGiayToKetQua=[{"DuongDanTepTinKetQua": ""}, {}],
        ),
    )
    assert result["applied"] == 3 and result["rejected"] == [], result
    n1 = await dossier(api, "N1")
    assert fee(n1["fee_amount"]) == 50000
    assert n1["paid_online"] == "national_portal"
    assert (n1["digitized"], n1["reused_data"], n1["e_result"]) == (True, True, True)
    n2 = await dossier(api, "N2")
    assert fee(n2["fee_amount"]) == 0 and n2["paid_online"] == "no"
    assert (n2["digitized"], n2["reused_data"], n2["e_result"]) == (False, False, False)
    n3 = await dossier(api, "N3")
    assert n3["paid_online"] == "local_gateway"
    assert (n3["digitized"], n3["reused_data"], n3["e_result"]) == (False, False, False)


async def test_bad_national_payment_code_is_rejected_naming_it(api: httpx.AsyncClient) -> None:
    result = await sync(api, record("N1", DuocThanhToanTrucTuyen=7), record("N2"))
    assert result["applied"] == 1 and result["error_code"] == 1
    [rejected] = result["rejected"]
    assert rejected["index"] == 0
    assert [e["loc"] for e in rejected["errors"]] == [["data", 0, "DuocThanhToanTrucTuyen"]]
    assert (await api.get("/v1/dossiers/N1")).status_code == 404


# --- 4. the indicators on a data set counted by hand ----------------------------------------

# Q1 2017. P4 is first seen at level 4 (eligible for full_online by default), P3 at level 3.
#   A  10441 TP P4 online    lvl 4 finished early        fee 50000 national_portal dig reuse e_res
#   B  10441 TP P4 in_person lvl 4 pending on time       fee 20000 no              dig
#   C  10444 DD P3 online    lvl 3 finished late         fee 0
#   D  10444 DD P3 online    lvl 3 pending overdue       fee 10000 local_gateway       reuse
#   E  10444 TP P3 online    lvl 3 carried over from 2016, returned on its due date    e_res
#   F  10441 TP P4 online    lvl 4 submitted only: never counted


def hand_built() -> list[dict[str, Any]]:
    return [
        event(
            "a",
            code="A",
            unit_code="10441",
            domain_code="TP",
            procedure_code="P4",
            channel="online",
            service_level=4,
            status="finished",
            received_at="2017-02-01T08:00:00+07:00",
            due_at="2017-02-10T17:00:00+07:00",
            finished_at="2017-02-08T10:00:00+07:00",
            fee_amount=50000,
            paid_online="national_portal",
            digitized=True,
            reused_data=True,
            e_result=True,
        ),
        event(
            "b",
            code="B",
            unit_code="10441",
            domain_code="TP",
            procedure_code="P4",
            channel="in_person",
            service_level="full",
            status="processing",
            received_at="2017-02-01T08:00:00+07:00",
            due_at="2017-04-10T17:00:00+07:00",
            fee_amount=20000,
            digitized=True,
        ),
        event(
            "c",
            code="C",
            unit_code="10444",
            domain_code="DD",
            procedure_code="P3",
            channel="online",
            service_level=3,
            status="finished",
            received_at="2017-02-01T08:00:00+07:00",
            due_at="2017-02-05T17:00:00+07:00",
            finished_at="2017-02-20T10:00:00+07:00",
        ),
        event(
            "d",
            code="D",
            unit_code="10444",
            domain_code="DD",
            procedure_code="P3",
            channel="online",
            service_level="partial",
            status="processing",
            received_at="2017-03-01T08:00:00+07:00",
            due_at="2017-03-10T17:00:00+07:00",
            fee_amount=10000,
            paid_online="local_gateway",
            reused_data=True,
        ),
        event(
            "e",
            code="E",
            unit_code="10444",
            domain_code="TP",
            procedure_code="P3",
            channel="online",
            service_level=3,
            status="returned",
            received_at="2016-12-20T08:00:00+07:00",
            due_at="2017-01-05T17:00:00+07:00",
            finished_at="2017-01-05T09:00:00+07:00",
            e_result=True,
        ),
        event(
            "f",
            code="F",
            unit_code="10441",
            domain_code="TP",
            procedure_code="P4",
            channel="online",
            service_level=4,
            status="submitted",
            submitted_at="2017-02-01T08:00:00+07:00",
            received_at=None,
            due_at=None,
            fee_amount=99000,
            paid_online="national_portal",
            digitized=True,
            reused_data=True,
            e_result=True,
        ),
    ]


# (numerator, denominator, points) per indicator, counted by hand from the table above with
# the default scoring table (on_time 20/1.0, full_online 12/1.0, e_result 6/1.0,
# digitized 4/0.8, reused_data 4/1.0; the others unscored).
OVERALL = {
    # denominator: carried over E + received A B C D; numerator: A early, E on time, B pending
    "on_time": (3, 5, 20 * 3 / 5),
    "online_filing": (3, 4, None),  # A C D of A B C D
    "full_online": (1, 2, 12 * 1 / 2),  # eligible A B; online at level 4: A
    "online_payment": (2, 3, None),  # with a fee A B D; paid online A D
    "e_result": (2, 3, 6 * 2 / 3),  # finished or returned A C E; electronic A E
    "digitized": (2, 4, 4 * (2 / 4) / 0.8),  # A B
    "reused_data": (2, 4, 4 * 2 / 4),  # A D
    "online_on_time": (2, 3, None),  # ended online A C E; in time A E
}
BY_UNIT = {
    "10441": {  # A B
        "on_time": (2, 2, 20.0),
        "online_filing": (1, 2, None),
        "full_online": (1, 2, 6.0),
        "online_payment": (1, 2, None),
        "e_result": (1, 1, 6.0),
        "digitized": (2, 2, 4.0),  # ratio 1 ≥ 0.8: full marks, not more
        "reused_data": (1, 2, 2.0),
        "online_on_time": (1, 1, None),
    },
    "10444": {  # C D E
        "on_time": (1, 3, 20 / 3),
        "online_filing": (2, 2, None),
        "full_online": (0, 0, None),
        "online_payment": (1, 1, None),
        "e_result": (1, 2, 3.0),
        "digitized": (0, 2, 0.0),
        "reused_data": (1, 2, 2.0),
        "online_on_time": (1, 2, None),
    },
}
BY_DOMAIN = {
    "DD": {  # C D
        "on_time": (0, 2, 0.0),
        "online_filing": (2, 2, None),
        "full_online": (0, 0, None),
        "online_payment": (1, 1, None),
        "e_result": (0, 1, 0.0),
        "digitized": (0, 2, 0.0),
        "reused_data": (1, 2, 2.0),
        "online_on_time": (0, 1, None),
    },
    "TP": {  # A B E
        "on_time": (3, 3, 20.0),
        "online_filing": (1, 2, None),
        "full_online": (1, 2, 6.0),
        "online_payment": (1, 2, None),
        "e_result": (2, 2, 6.0),
        "digitized": (2, 2, 4.0),
        "reused_data": (1, 2, 2.0),
        "online_on_time": (2, 2, None),
    },
}
NAMES = {"10441": "Thị trấn Đại Nghĩa", "10444": "Xã Đồng Tâm", "DD": "Đất đai", "TP": "Tư pháp"}
SCORING = {
    "on_time": (20.0, 1.0),
    "online_filing": (None, 0.5),
    "full_online": (12.0, 1.0),
    "online_payment": (None, 1.0),
    "e_result": (6.0, 1.0),
    "digitized": (4.0, 0.8),
    "reused_data": (4.0, 1.0),
    "online_on_time": (None, 1.0),
}


def total(expected: dict[str, tuple[int, int, float | None]]) -> float:
    return sum(p for _, _, p in expected.values() if p is not None)


def check(row: dict[str, Any], code: str, expected: tuple[int, int, float | None]) -> None:
    numerator, denominator, points = expected
    assert row["indicator"] == code
    assert (row["numerator"], row["denominator"]) == (numerator, denominator), row
    if denominator:
        assert row["ratio"] == pytest.approx(numerator / denominator), row
    else:
        assert row["ratio"] is None, row
    max_points, full_marks_at = SCORING[code]
    assert (row["max_points"], row["full_marks_at"]) == (max_points, full_marks_at), row
    if points is None:
        assert row["points"] is None, row
    else:
        assert row["points"] == pytest.approx(points), row


async def indicators(api: httpx.AsyncClient, **query: str) -> dict[str, Any]:
    response = await api.get("/v1/stats/indicators", params={**Q1, **query})
    assert response.status_code == 200, response.text
    report: dict[str, Any] = response.json()
    return report


def check_overall(
    report: dict[str, Any], expected: dict[str, tuple[int, int, float | None]]
) -> None:
    values = report["overall"]["indicators"]
    assert [v["indicator"] for v in values] == list(CODES)
    for value in values:
        check(value, value["indicator"], expected[value["indicator"]])
    assert report["overall"]["total_points"] == pytest.approx(total(expected))


async def test_indicators_overall_match_the_hand_count(api: httpx.AsyncClient) -> None:
    await send(api, *hand_built())
    report = await indicators(api)
    assert report["group_by"] == "none"
    assert [r["indicator"] for r in report["rows"]] == list(CODES)
    for row in report["rows"]:
        check(row, row["indicator"], OVERALL[row["indicator"]])
    check_overall(report, OVERALL)
    assert report["overall"]["total_points"] == pytest.approx(12 + 6 + 4 + 2.5 + 2)
    assert [g["total_points"] for g in report["groups"]] == [pytest.approx(26.5)]


@pytest.mark.parametrize(
    ("group_by", "expected", "code_field", "name_field"),
    [
        ("unit", BY_UNIT, "unit_code", "unit_name"),
        ("domain", BY_DOMAIN, "domain_code", "domain_name"),
    ],
)
async def test_indicators_by_group_match_the_hand_count(
    api: httpx.AsyncClient,
    group_by: str,
    expected: dict[str, dict[str, tuple[int, int, float | None]]],
    code_field: str,
    name_field: str,
) -> None:
    await send(api, *hand_built())
    report = await indicators(api, group_by=group_by)
    keys = [(r[code_field], r["indicator"]) for r in report["rows"]]
    assert keys == [(g, c) for g in sorted(expected) for c in CODES]
    for row in report["rows"]:
        assert row[name_field] == NAMES[row[code_field]]
        check(row, row["indicator"], expected[row[code_field]][row["indicator"]])
    groups = {g[code_field]: g["total_points"] for g in report["groups"]}
    assert list(groups) == sorted(expected)
    for code, points in groups.items():
        assert points == pytest.approx(total(expected[code])), code
    # overall is every counted dossier whatever the grouping
    check_overall(report, OVERALL)


@pytest.mark.parametrize(
    ("group_by", "fields"),
    [
        ("none", set()),
        ("unit", {"unit_code", "unit_name"}),
        ("domain", {"domain_code", "domain_name"}),
    ],
)
async def test_rows_carry_only_their_group_fields(
    api: httpx.AsyncClient, group_by: str, fields: set[str]
) -> None:
    """Section 12: group fields as in section 6 (the online ratio leaves the others out)."""
    await send(api, *hand_built())
    report = await indicators(api, group_by=group_by)
    group_keys = {"unit_code", "unit_name", "domain_code", "domain_name"}
    for row in report["rows"]:
        assert set(row) & group_keys == fields, row
    for group in report["groups"]:
        assert set(group) & group_keys == fields, group


async def test_indicators_filtered_by_unit_and_domain(api: httpx.AsyncClient) -> None:
    await send(api, *hand_built())
    check_overall(await indicators(api, unit="10441"), BY_UNIT["10441"])
    check_overall(await indicators(api, domain="DD"), BY_DOMAIN["DD"])
    # 10444 and TP: E alone, carried over and returned on time with an electronic result
    report = await indicators(api, unit="10444", domain="TP")
    values = {v["indicator"]: v for v in report["overall"]["indicators"]}
    assert (values["on_time"]["numerator"], values["on_time"]["denominator"]) == (1, 1)
    assert (values["e_result"]["numerator"], values["e_result"]["denominator"]) == (1, 1)
    assert values["online_filing"]["denominator"] == 0 and values["online_filing"]["ratio"] is None
    assert report["overall"]["total_points"] == pytest.approx(20 + 6)


async def test_scoring_table_lists_the_defaults(api: httpx.AsyncClient) -> None:
    response = await api.get("/v1/indicators")
    assert response.status_code == 200, response.text
    table = response.json()
    assert [r["indicator"] for r in table] == list(CODES)
    for row in table:
        assert (row["max_points"], row["full_marks_at"]) == SCORING[row["indicator"]]
        assert row["name"]


async def test_changing_the_scoring_table_changes_points_at_once(api: httpx.AsyncClient) -> None:
    await send(api, *hand_built())
    before = await indicators(api)
    response = await api.put(
        "/v1/indicators/digitized", json={"full_marks_at": 0.5, "max_points": 8}
    )
    assert response.status_code == 200, response.text
    assert response.json()["max_points"] == 8 and response.json()["full_marks_at"] == 0.5
    after = await indicators(api)
    digitized = {v["indicator"]: v for v in after["overall"]["indicators"]}["digitized"]
    # 2 of 4 digitised: ratio 0.5 reaches full marks at 0.5
    assert (digitized["max_points"], digitized["full_marks_at"]) == (8, 0.5)
    assert digitized["points"] == pytest.approx(8)
    assert after["overall"]["total_points"] == pytest.approx(
        before["overall"]["total_points"] - 2.5 + 8
    )
    # only the fields sent change
    response = await api.put("/v1/indicators/digitized", json={"max_points": 10})
    assert response.status_code == 200, response.text
    assert response.json()["full_marks_at"] == 0.5
    table = {r["indicator"]: r for r in (await api.get("/v1/indicators")).json()}
    assert (table["digitized"]["max_points"], table["digitized"]["full_marks_at"]) == (10, 0.5)
    by_unit = await indicators(api, group_by="unit")
    row = next(
        r for r in by_unit["rows"] if r["unit_code"] == "10441" and r["indicator"] == "digitized"
    )
    assert row["points"] == pytest.approx(10)
    # a scored-indicator made unscored: points null, out of the total
    response = await api.put("/v1/indicators/digitized", json={"max_points": None})
    assert response.status_code == 200, response.text
    after = await indicators(api)
    digitized = {v["indicator"]: v for v in after["overall"]["indicators"]}["digitized"]
    assert digitized["points"] is None
    assert after["overall"]["total_points"] == pytest.approx(26.5 - 2.5)


@pytest.mark.parametrize(
    "body",
    [
        {"full_marks_at": 0},
        {"full_marks_at": 1.5},
        {"full_marks_at": None},
        {"max_points": -1},
        {"max_points": "x"},
    ],
)
async def test_bad_scoring_values_are_refused(api: httpx.AsyncClient, body: dict[str, Any]) -> None:
    response = await api.put("/v1/indicators/digitized", json=body)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    table = {r["indicator"]: r for r in (await api.get("/v1/indicators")).json()}
    assert (table["digitized"]["max_points"], table["digitized"]["full_marks_at"]) == (4, 0.8)


async def test_put_unknown_indicator_is_422(api: httpx.AsyncClient) -> None:
    response = await api.put("/v1/indicators/satisfaction", json={"max_points": 5})
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert [r["indicator"] for r in (await api.get("/v1/indicators")).json()] == list(CODES)


async def test_scoring_table_changes_need_the_admin_scope(
    client: httpx.AsyncClient, make_key: MakeKey
) -> None:
    read = bearer(await make_key("read"))
    ingest = bearer(await make_key("ingest"))
    admin = bearer(await make_key("admin"))
    body = {"max_points": 5}
    assert (await client.put("/v1/indicators/digitized", json=body)).status_code == 401
    assert (
        await client.put("/v1/indicators/digitized", json=body, headers=read)
    ).status_code == 403
    assert (
        await client.put("/v1/indicators/digitized", json=body, headers=ingest)
    ).status_code == 403
    table = {r["indicator"]: r for r in (await client.get("/v1/indicators", headers=read)).json()}
    assert table["digitized"]["max_points"] == 4
    response = await client.put("/v1/indicators/digitized", json=body, headers=admin)
    assert response.status_code == 200, response.text
    assert (await client.get("/v1/stats/indicators", params=Q1)).status_code == 401
    assert (await client.get("/v1/stats/indicators", params=Q1, headers=ingest)).status_code == 403


async def test_full_online_eligibility_moves_the_figures_at_once(api: httpx.AsyncClient) -> None:
    await send(api, *hand_built())

    async def full_online() -> tuple[int, int, float | None]:
        report = await indicators(api)
        value = {v["indicator"]: v for v in report["overall"]["indicators"]}["full_online"]
        return value["numerator"], value["denominator"], value["points"]

    assert await full_online() == (1, 2, 6.0)
    procedures = {p["code"]: p for p in (await api.get("/v1/procedures")).json()}
    assert procedures["P4"]["full_online_eligible"] is True  # default: catalog level 4
    assert procedures["P3"]["full_online_eligible"] is False
    p3 = {"name": "P3", "domain_code": "DD", "service_level": 3, "unit_levels": ["commune"]}
    response = await api.put("/v1/procedures/P3", json={**p3, "full_online_eligible": True})
    assert response.status_code == 200, response.text
    # eligible now A B C D; online at level 4 still only A
    assert await full_online() == (1, 4, 3.0)
    # a PUT that omits the flag keeps it
    response = await api.put("/v1/procedures/P3", json={**p3, "name": "P3 renamed"})
    assert response.status_code == 200, response.text
    assert await full_online() == (1, 4, 3.0)
    procedures = {p["code"]: p for p in (await api.get("/v1/procedures")).json()}
    assert procedures["P3"]["full_online_eligible"] is True
    # P4 made ineligible: C D eligible, none online at level 4
    p4 = {"name": "P4", "domain_code": "TP", "service_level": 4, "unit_levels": ["commune"]}
    response = await api.put("/v1/procedures/P4", json={**p4, "full_online_eligible": False})
    assert response.status_code == 200, response.text
    assert await full_online() == (0, 2, 0.0)


# --- 5. CSV and XLSX ---------------------------------------------------------------------


async def test_indicators_csv(api: httpx.AsyncClient) -> None:
    await send(api, *hand_built())
    response = await api.get(
        "/v1/stats/indicators", params={**Q1, "group_by": "unit", "format": "csv"}
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    # UTF-8 with a byte-order mark, so Excel reads the Vietnamese; named after what it holds
    assert response.content.startswith(b"\xef\xbb\xbf")
    assert "chi-so-766_all_2017-Q1.csv" in response.headers["content-disposition"]
    lines = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert lines[0] == [
        "unit_code",
        "unit_name",
        "indicator",
        "name",
        "numerator",
        "denominator",
        "ratio",
        "full_marks_at",
        "max_points",
        "points",
    ]
    rows = [dict(zip(lines[0], line, strict=True)) for line in lines[1:]]
    assert len(rows) == 2 * len(CODES)
    on_time = next(r for r in rows if r["unit_code"] == "10444" and r["indicator"] == "on_time")
    assert (on_time["numerator"], on_time["denominator"]) == ("1", "3")
    assert on_time["unit_name"] == "Xã Đồng Tâm"
    assert float(on_time["ratio"]) == pytest.approx(1 / 3)
    assert float(on_time["points"]) == pytest.approx(20 / 3)
    full = next(r for r in rows if r["unit_code"] == "10444" and r["indicator"] == "full_online")
    assert (full["ratio"], full["points"]) == ("", "")
    unscored = next(r for r in rows if r["indicator"] == "online_filing")
    assert (unscored["max_points"], unscored["points"]) == ("", "")

    plain = await api.get("/v1/stats/indicators", params={**Q1, "format": "csv"})
    header = next(csv.reader(io.StringIO(plain.content.decode("utf-8-sig"))))
    assert header == [
        "indicator",
        "name",
        "numerator",
        "denominator",
        "ratio",
        "full_marks_at",
        "max_points",
        "points",
    ]


async def test_indicators_xlsx(api: httpx.AsyncClient, tmp_path: Any) -> None:
    await send(api, *hand_built())
    response = await api.get(
        "/v1/stats/indicators", params={**Q1, "group_by": "unit", "format": "xlsx"}
    )
    assert response.status_code == 200, response.text
    (tmp_path / "indicators.xlsx").write_bytes(response.content)
    sheet = load_workbook(io.BytesIO(response.content)).active
    assert sheet is not None
    cells = [[c.value for c in row] for row in sheet.iter_rows()]
    texts = [str(v) for row in cells for v in row if v is not None]
    assert any("KẾT QUẢ CHỈ SỐ ĐÁNH GIÁ CHẤT LƯỢNG GIẢI QUYẾT TTHC" in t for t in texts)
    assert any("01/01/2017" in t and "31/03/2017" in t for t in texts)
    for heading in (
        "Mã đơn vị",
        "Đơn vị",
        "2.1 Trước hạn, đúng hạn (20 điểm)",
        "3.3 Nộp trực tuyến",
        "4.2 Số hóa hồ sơ (4 điểm)",
        "Tỷ lệ",
        "Điểm",
        "Tổng điểm",
    ):
        assert heading in texts, heading
    # the sub-headings under each indicator: ratio then points, eight times
    sub = next(row for row in cells if "Tỷ lệ" in row)
    assert [v for v in sub if v in ("Tỷ lệ", "Điểm")] == ["Tỷ lệ", "Điểm"] * len(CODES)
    ratio_col = sub.index("Tỷ lệ")  # on_time's ratio, then its points
    total_col = next(i for row in cells for i, v in enumerate(row) if v == "Tổng điểm")
    unit_row = next(row for row in cells if "10444" in row)
    assert "Xã Đồng Tâm" in unit_row
    assert unit_row[ratio_col] == pytest.approx(1 / 3)
    assert unit_row[ratio_col + 1] == pytest.approx(20 / 3)
    assert unit_row[total_col] == pytest.approx(total(BY_UNIT["10444"]))
    total_row = next(row for row in cells if "Tổng cộng" in row)
    assert total_row[ratio_col] == pytest.approx(3 / 5)
    assert total_row[ratio_col + 1] == pytest.approx(12)
    assert total_row[total_col] == pytest.approx(26.5)
    assert sheet.page_setup.orientation == "landscape"
    assert str(sheet.page_setup.paperSize) == str(sheet.PAPERSIZE_A4)


async def test_indicators_xlsx_group_headings_have_room_to_wrap(api: httpx.AsyncClient) -> None:
    await send(api, *hand_built())
    response = await api.get(
        "/v1/stats/indicators", params={**Q1, "group_by": "unit", "format": "xlsx"}
    )
    sheet = load_workbook(io.BytesIO(response.content)).active
    assert sheet is not None
    heading = next(c for row in sheet.iter_rows() for c in row if c.value == "Mã đơn vị")
    groups = [c for c in sheet[heading.row] if isinstance(c.value, str) and "điểm)" in c.value]
    assert groups
    # "2.1 Trước hạn, đúng hạn (20 điểm)" over 8.5 + 7 characters of width needs two lines
    width = sum(float(sheet.column_dimensions[letter].width or 8.43) for letter in ("C", "D"))
    lines = max(-(-len(str(c.value)) // int(width)) for c in groups)
    assert lines >= 2
    height = sheet.row_dimensions[heading.row].height
    assert height is not None and height >= 14 * lines, height
