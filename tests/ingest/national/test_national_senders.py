"""POST /v1/compat/dvcqg with bodies as real one-stop-shop software posts them (contract section
10 v2): bare arrays with query parameters, envelopes with extra fields, blanks, numbers as strings,
no channel, no level (the dossier follows its procedure's catalog level), agencies named by name,
progress steps, and answers that make a sender resend what was rejected.

The bodies under tests/support/fixtures/national/ model two public senders (see the README there):
`opencps_*` VietOpenCPS/opencps-v2 `DVCQGIntegrationActionImpl.java`, `tandan_*`
HuanVu201/DichVuCong_KhoaLuan_PASETO `SyncLocalDataToDVCQGService.cs`.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.db import create_sessionmaker
from app.ingest import repository as dossiers
from tests.conftest import MakeKey, bearer, event
from tests.stats.test_summaries import RECOUNT_RECEIVED, SUMMARY, rows
from tests.tools.test_cli import run_cli

URL = "/v1/compat/dvcqg"
FIXTURES = Path(__file__).resolve().parents[2] / "support" / "fixtures" / "national"
VIETNAM = dt.timezone(dt.timedelta(hours=7))


def fixture(name: str) -> Any:
    """A sender's body, exactly as stored under tests/support/fixtures/national/."""
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def record(code: str | int, **fields: Any) -> dict[str, Any]:
    """A record as OpenCPS builds it: every value a string, no KenhThucHien, no MucDo, the
    agency's name in DonViXuLy (DVCQGIntegrationActionImpl.createSyncDossierBodyRequest)."""
    body: dict[str, Any] = {
        "MaHoSo": code,
        "MaTTHC": "1.001193",
        "TenTTHC": "Đăng ký khai sinh",
        "MaLinhVuc": "TP",
        "TenLinhVuc": "Tư pháp",
        "ChuHoSo": "Nguyễn Văn An",
        "LoaiDoiTuong": "1",
        "MaDoiTuong": "",
        "NgayTiepNhan": "20170209140000",
        "NgayHenTra": "20170214170000",
        "TrangThaiHoSo": "4",
        "NgayTra": "",
        "ThongTinTra": "",
        "HinhThuc": "0",
        "NgayKetThucXuLy": "",
        "DonViXuLy": "Xã Đồng Tâm",
        "GhiChu": "",
        "DanhSachLePhi": [],
        "TaiLieuNop": [],
    }
    body.update(fields)
    return body


def envelope(*records: Any, service: str = "DongBoHoSoMC") -> dict[str, Any]:
    """The OpenCPS envelope: `session` and `madonvi` beside the documented fields."""
    return {
        "session": "3f1b8a6c",
        "madonvi": "000.00.31.H26",
        "isUpdating": "False",
        "service": service,
        "data": list(records),
    }


async def post(
    api: httpx.AsyncClient, body: Any, params: dict[str, str] | None = None
) -> dict[str, Any]:
    response = await api.post(URL, json=body, params=params)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    assert answer["applied"] + answer["duplicates"] + len(answer["rejected"]) == len(
        body["data"] if isinstance(body, dict) else body
    )
    return answer


async def dossier(api: httpx.AsyncClient, code: str) -> dict[str, Any]:
    response = await api.get(f"/v1/dossiers/{code}")
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


async def name_the_agencies(api: httpx.AsyncClient) -> None:
    """The other names the senders' fixtures give Đồng Tâm and Mỹ Đức, and Mỹ Đức's agency id."""
    for code, body in {
        "10444": {
            "name": "Xã Đồng Tâm",
            "parent_code": "282",
            "level": "commune",
            "aliases": ["UBND xã Đồng Tâm", "Bộ phận TN&TKQ xã Đồng Tâm"],
        },
        "282": {
            "name": "Huyện Mỹ Đức",
            "parent_code": "01",
            "level": "district",
            "agency_code": "000.00.31.H26",
            "aliases": ["Bộ phận một cửa huyện Mỹ Đức"],
        },
    }.items():
        response = await api.put(f"/v1/units/{code}", json=body)
        assert response.status_code == 200, response.text


async def online_ratio(api: httpx.AsyncClient, basis: str = "online_capable") -> list[Any]:
    response = await api.get(
        "/v1/stats/online-ratio",
        params={"from": "2017-01-01", "to": "2017-12-31", "basis": basis, "group_by": "none"},
    )
    assert response.status_code == 200, response.text
    return [(r["online"], r["total"]) for r in response.json()["rows"]]


async def put_procedure(api: httpx.AsyncClient, level: int, code: str = "1.001193") -> None:
    response = await api.put(
        f"/v1/procedures/{code}",
        json={"name": "Đăng ký khai sinh", "domain_code": "TP", "service_level": level},
    )
    assert response.status_code in (200, 201), response.text


async def assert_received_summaries_equal_a_recount(engine: AsyncEngine) -> None:
    """The received summaries (where a level counts) equal a recount over the dossiers."""
    for table, period in (
        ("stats_received_daily", "received_on"),
        ("stats_received_monthly", "date_trunc('month', received_on)::date"),
    ):
        expected = await rows(engine, RECOUNT_RECEIVED.format(period=period))
        assert expected
        assert await rows(engine, SUMMARY.format(table=table, nonzero="total <> 0")) == expected


# --- the body as senders post it ------------------------------------------------------------
async def test_scorecard_fields_in_a_bare_array_as_senders_write_them(
    api: httpx.AsyncClient,
) -> None:
    """The scorecard's national fields as a one-stop-shop posts them: a bare array, every value a
    string, "" for what is unknown, no KenhThucHien or MucDo, the agency's name in DonViXuLy."""
    await name_the_agencies(api)
    common = {
        "MaTTHC": "1.001193",
        "TenTTHC": "Đăng ký khai sinh",
        "MaLinhVuc": "TP",
        "TenLinhVuc": "Tư pháp",
        "KenhThucHien": "",
        "MucDo": "",
        "TrangThaiHoSo": "10",
        "NgayNopHoSo": "20170301080000",
        "NgayTiepNhan": "20170301090000",
        "NgayHenTra": "20170310170000",
        "NgayKetThucXuLy": "",
        "NgayTra": "20170305100000",
        "DonViXuLy": "UBND xã Đồng Tâm",
    }
    body = [
        {
            **common,
            "MaHoSo": "000.31.28.H26-170301-0201",
            "DanhSachLePhi": [{"TenPhiLePhi": "Lệ phí", "Gia": "8000"}, {"Gia": ""}],
            "DuocThanhToanTrucTuyen": "2",
            "HoSoCoThanhPhanSoHoa": "1",
            "TaiLieuNop": [
                {"TenTepDinhKem": "Tờ khai", "DuocLayTuKhoDMQG": "0"},
                {"TenTepDinhKem": "CCCD", "DuocLayTuKhoDMQG": "1"},
            ],
            "DanhSachGiayToKetQua": [
                {
                    "TenGiayTo": "Giấy khai sinh",
                    "DuongDanTepTinKetQua": "https://dvc.example.vn/kq.pdf",
                }
            ],
        },
        {
            **common,
            "MaHoSo": "000.31.28.H26-170301-0202",
            "DanhSachLePhi": [],
            "DuocThanhToanTrucTuyen": "0",
            "HoSoCoThanhPhanSoHoa": "0",
            "TaiLieuNop": [],
            "DanhSachGiayToKetQua": [{"DuongDanTepTinKetQua": ""}],
        },
    ]
    params = {"isUpdating": "False", "MaDinhDanhDV": "000.00.31.H26"}
    answer = await post(api, body, params)
    assert (answer["error_code"], answer["applied"]) == (0, 2)
    paid = await dossier(api, "000.31.28.H26-170301-0201")
    assert paid["unit_code"] == "10444" and paid["channel"] == "in_person"
    assert (paid["fee_amount"], paid["paid_online"]) == (8000, "local_gateway")
    assert (paid["digitized"], paid["reused_data"], paid["e_result"]) == (True, True, True)
    plain = await dossier(api, "000.31.28.H26-170301-0202")
    assert (plain["fee_amount"], plain["paid_online"]) == (0, "no")
    assert (plain["digitized"], plain["reused_data"], plain["e_result"]) == (False, False, False)
    # Both were received and returned in March 2017: the scorecard counts them so.
    board = (
        await api.get("/v1/stats/indicators", params={"from": "2017-03-01", "to": "2017-03-31"})
    ).json()
    scored = {
        v["indicator"]: (v["numerator"], v["denominator"]) for v in board["overall"]["indicators"]
    }
    assert scored["online_payment"] == (1, 1)
    assert scored["digitized"] == (1, 2)
    assert scored["reused_data"] == (1, 2)
    assert scored["e_result"] == (1, 2)
    assert scored["online_filing"] == (0, 2)


async def test_opencps_envelope_with_session_and_names_is_stored_whole(
    api: httpx.AsyncClient,
) -> None:
    await name_the_agencies(api)
    answer = await post(api, fixture("opencps_envelope.json"))
    assert answer == {
        "error_code": 0,
        "message": "Thành công",
        "applied": 3,
        "duplicates": 0,
        "stale": 0,
        "rejected": [],
    }
    first = await dossier(api, "000.00.31.H26-170301-0001")
    assert (first["unit_code"], first["channel"], first["status"]) == (
        "10444",
        "in_person",
        "processing",
    )
    # No MucDo and a procedure the catalog lacked: level 2, and the catalog has it at 2.
    assert first["service_level"] == 2
    procedures = {p["code"]: p for p in (await api.get("/v1/procedures")).json()}
    assert procedures["1.001193"]["service_level"] == 2
    # A name with other case and spaces around it still finds the unit.
    second = await dossier(api, "000.00.31.H26-170301-0002")
    assert (second["unit_code"], second["status"]) == ("10444", "returned")
    assert (await dossier(api, "000.00.31.H26-170301-0003"))["unit_code"] == "282"


async def test_tandan_bare_array_with_query_parameters_is_stored(api: httpx.AsyncClient) -> None:
    await name_the_agencies(api)
    params = {"service": "DongBoHoSoMC", "isUpdating": "false", "MaDinhDanhDV": "000.00.31.H26"}
    answer = await post(api, fixture("tandan_bare_array.json"), params)
    assert (answer["error_code"], answer["message"], answer["applied"]) == (0, "Thành công", 3)
    online = await dossier(api, "000.31.28.H26-170302-0101")
    assert (online["channel"], online["unit_code"], online["status"]) == (
        "online",
        "10444",
        "processing",
    )
    # KenhThucHien null: in person; status 9 without any end date is stored as sent.
    no_channel = await dossier(api, "000.31.28.H26-170302-0102")
    assert (no_channel["channel"], no_channel["status"], no_channel["finished_at"]) == (
        "in_person",
        "finished",
        None,
    )
    by_alias = await dossier(api, "000.31.28.H26-170302-0103")
    assert by_alias["unit_code"] == "10444"
    assert by_alias["finished_at"] == "2017-03-02T08:00:00Z"


@pytest.mark.parametrize("updating", ["True", "FALSE", "true", "false", True, False, "", None])
async def test_is_updating_in_the_body_is_a_boolean_or_its_text_in_any_case(
    api: httpx.AsyncClient, updating: Any
) -> None:
    body = envelope(record("H1"))
    body["isUpdating"] = updating
    assert (await post(api, body))["applied"] == 1


@pytest.mark.parametrize("updating", ["TRUE", "False", "true"])
async def test_is_updating_in_the_query_string_in_any_case(
    api: httpx.AsyncClient, updating: str
) -> None:
    answer = await post(api, [record("H1")], {"isUpdating": updating})
    assert answer["applied"] == 1


async def test_a_bad_is_updating_is_a_4xx_naming_it_and_stores_nothing(
    api: httpx.AsyncClient, session: AsyncSession
) -> None:
    body = envelope(record("H1"))
    body["isUpdating"] = "maybe"
    response = await api.post(URL, json=body)
    assert response.status_code == 422
    problem = response.json()
    assert problem["error_code"] == 2
    assert problem["errors"][0]["loc"] == ["body", "isUpdating"]
    response = await api.post(URL, json=[record("H1")], params={"isUpdating": "maybe"})
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"][-1] == "isUpdating"
    assert await session.scalar(text("SELECT count(*) FROM dossiers")) == 0


async def test_an_unsupported_service_in_the_query_is_a_4xx_with_national_code_3(
    api: httpx.AsyncClient,
) -> None:
    response = await api.post(URL, json=[record("H1")], params={"service": "LayDanhMucCoQuan"})
    assert response.status_code == 422
    assert response.json()["error_code"] == 3


async def test_blank_and_null_count_as_absent(api: httpx.AsyncClient) -> None:
    answer = await post(
        api,
        envelope(
            record("H1", KenhThucHien="", NgayHenTra=None, MucDo="", NgayNopHoSo=None),
            record("H2", MaTTHC=""),
            record("H3", TrangThaiHoSo=None),
        ),
    )
    assert answer["applied"] == 1
    stored = await dossier(api, "H1")
    assert (stored["channel"], stored["due_at"], stored["submitted_at"]) == (
        "in_person",
        None,
        None,
    )
    errors = {r["index"]: r["errors"][0] for r in answer["rejected"]}
    assert errors[1]["loc"] == ["data", 1, "MaTTHC"] and errors[1]["code"] == "missing"
    assert errors[2]["loc"] == ["data", 2, "TrangThaiHoSo"] and errors[2]["code"] == "missing"


async def test_codes_may_be_numbers_or_strings(api: httpx.AsyncClient) -> None:
    answer = await post(
        api,
        envelope(
            record(170209001, TrangThaiHoSo=4, KenhThucHien=2, MucDo=3, DonViXuLy=10444),
            record("170209002", TrangThaiHoSo="4", KenhThucHien="2", MucDo="3", DonViXuLy="10444"),
        ),
    )
    assert answer["applied"] == 2
    for code in ("170209001", "170209002"):
        stored = await dossier(api, code)
        assert (stored["channel"], stored["service_level"], stored["unit_code"]) == (
            "online",
            3,
            "10444",
        )


# --- the procedure's level ------------------------------------------------------------------


async def test_procedure_level_change_moves_following_dossiers_and_every_figure(
    api: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    await post(
        api,
        envelope(
            record("F1", KenhThucHien="2"),
            record("F2", KenhThucHien="2"),
            record("F3"),
            record("OWN", KenhThucHien="2", MucDo="2"),  # its own level stays
        ),
    )
    # Level 2: none of them can be filed online, so the online_capable basis counts nothing.
    assert await online_ratio(api) == []
    assert await online_ratio(api, "all") == [(3, 4)]

    await put_procedure(api, 3)
    assert [(await dossier(api, c))["service_level"] for c in ("F1", "F3", "OWN")] == [3, 3, 2]
    assert await online_ratio(api) == [(2, 3)]
    assert await online_ratio(api, "full_online") == [(0, 4)]
    await assert_received_summaries_equal_a_recount(engine)

    await put_procedure(api, 4)
    assert await online_ratio(api) == [(2, 3)]
    assert await online_ratio(api, "full_online") == [(2, 4)]

    await put_procedure(api, 2)
    assert await online_ratio(api) == []
    await assert_received_summaries_equal_a_recount(engine)


async def test_resending_after_a_level_change_is_a_duplicate(api: httpx.AsyncClient) -> None:
    await post(api, envelope(record("F1")))
    await put_procedure(api, 3)
    answer = await post(api, envelope(record("F1")))
    assert (answer["applied"], answer["duplicates"], answer["error_code"]) == (0, 1, 0)
    assert (await dossier(api, "F1"))["service_level"] == 3


async def test_a_record_with_its_own_level_stops_following(api: httpx.AsyncClient) -> None:
    await post(api, envelope(record("F1")))
    answer = await post(api, envelope(record("F1", MucDo="4")))
    assert answer["applied"] == 1  # same fields, but no longer following: not a duplicate
    await put_procedure(api, 3)
    assert (await dossier(api, "F1"))["service_level"] == 4
    # And without MucDo again it follows again, at the catalog's level.
    await post(api, envelope(record("F1")))
    assert (await dossier(api, "F1"))["service_level"] == 3
    await put_procedure(api, 2)
    assert (await dossier(api, "F1"))["service_level"] == 2


async def test_a_level_change_running_with_syncs_leaves_every_follower_at_the_new_level(
    api: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    async def sync_batch(n: int) -> None:
        await post(api, envelope(*(record(f"C{n}-{i}", KenhThucHien="2") for i in range(20))))

    await sync_batch(0)
    await asyncio.wait_for(
        asyncio.gather(*(sync_batch(n) for n in range(1, 6)), put_procedure(api, 4)), timeout=120
    )
    levels = {
        (await dossier(api, f"C{n}-{i}"))["service_level"] for n in range(6) for i in range(20)
    }
    assert levels == {4}
    assert await online_ratio(api, "full_online") == [(120, 120)]
    await assert_received_summaries_equal_a_recount(engine)


async def test_a_level_change_waits_for_a_sync_that_read_the_level(
    api: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    await post(api, envelope(record("F1")))
    # A sync in flight holds its procedure's lock (shared) from reading the level to commit.
    async with create_sessionmaker(engine)() as other, other.begin():
        await dossiers.lock_procedures(other, ["1.001193"], shared=True)
        change = asyncio.create_task(put_procedure(api, 4))
        await asyncio.sleep(0.5)
        assert not change.done()
        assert (await dossier(api, "F1"))["service_level"] == 2
    await asyncio.wait_for(change, timeout=30)
    assert (await dossier(api, "F1"))["service_level"] == 4


# --- unit resolution --------------------------------------------------------------------------


async def test_unit_code_comes_before_agency_code_name_and_alias(api: httpx.AsyncClient) -> None:
    # Another unit carrying "10444" as agency code and as alias does not catch code 10444.
    response = await api.put(
        "/v1/units/10447",
        json={
            "name": "Xã Thượng Lâm",
            "parent_code": "282",
            "level": "commune",
            "agency_code": "10444",
            "aliases": ["10441"],
        },
    )
    assert response.status_code == 200
    await post(api, envelope(record("U1", DonViXuLy="10444"), record("U2", DonViXuLy="10441")))
    assert (await dossier(api, "U1"))["unit_code"] == "10444"
    assert (await dossier(api, "U2"))["unit_code"] == "10441"


@pytest.mark.parametrize(
    ("sent", "unit"),
    [
        ("000.00.31.H26", "282"),  # agency code
        ("Xã Đồng Tâm", "10444"),  # name
        ("  XÃ ĐỒNG   TÂM ", "10444"),  # name, trimmed and case-folded
        ("ubnd xã đồng tâm", "10444"),  # alias
        ("Bộ phận một cửa huyện Mỹ Đức", "282"),  # alias
    ],
)
async def test_agency_code_name_and_alias_find_the_unit(
    api: httpx.AsyncClient, sent: str, unit: str
) -> None:
    await name_the_agencies(api)
    answer = await post(api, envelope(record("U1", DonViXuLy=sent)))
    assert answer["applied"] == 1
    assert (await dossier(api, "U1"))["unit_code"] == unit


async def test_no_match_falls_back_to_the_sender_agency(api: httpx.AsyncClient) -> None:
    await name_the_agencies(api)
    params = {"MaDinhDanhDV": "000.00.31.H26"}
    answer = await post(
        api, [record("U1", DonViXuLy="Phòng Tư pháp"), record("U2", DonViXuLy="")], params
    )
    assert answer["applied"] == 2
    assert (await dossier(api, "U1"))["unit_code"] == "282"
    assert (await dossier(api, "U2"))["unit_code"] == "282"


async def test_no_match_and_no_sender_agency_is_unit_unknown_and_adds_no_unit(
    api: httpx.AsyncClient,
) -> None:
    units_before = (await api.get("/v1/units")).json()
    answer = await post(
        api,
        [record("U1", DonViXuLy="UBND xã Không Có"), record("U2")],
        {"MaDinhDanhDV": "000.99.99.H99"},  # no unit carries it
    )
    assert answer["applied"] == 1 and answer["error_code"] == 1
    [rejected] = answer["rejected"]
    assert rejected["index"] == 0 and rejected["MaHoSo"] == "U1"
    assert rejected["errors"][0]["loc"] == ["data", 0, "DonViXuLy"]
    assert rejected["errors"][0]["code"] == "unit_unknown"
    assert (await api.get("/v1/units")).json() == units_before
    assert (await api.get("/v1/dossiers/U1")).status_code == 404


async def test_a_name_two_units_share_is_unit_unknown(api: httpx.AsyncClient) -> None:
    for code in ("10444", "10447"):
        response = await api.put(
            f"/v1/units/{code}",
            json={
                "name": f"Xã {code}",
                "parent_code": "282",
                "level": "commune",
                "aliases": ["UBND xã"],
            },
        )
        assert response.status_code == 200
    answer = await post(api, envelope(record("U1", DonViXuLy="UBND xã")))
    assert answer["rejected"][0]["errors"][0]["code"] == "unit_unknown"
    assert "2 units" in answer["rejected"][0]["errors"][0]["msg"]


async def test_unit_aliases_are_kept_when_a_put_omits_them(api: httpx.AsyncClient) -> None:
    await name_the_agencies(api)
    response = await api.put(
        "/v1/units/282", json={"name": "Huyện Mỹ Đức", "parent_code": "01", "level": "district"}
    )
    assert response.status_code == 200
    kept = response.json()
    assert kept["aliases"] == ["Bộ phận một cửa huyện Mỹ Đức"]
    assert kept["agency_code"] == "000.00.31.H26"
    listed = {u["code"]: u for u in (await api.get("/v1/units")).json()}
    assert listed["10444"]["aliases"] == ["UBND xã Đồng Tâm", "Bộ phận TN&TKQ xã Đồng Tâm"]
    assert listed["10441"]["aliases"] == []
    # Repeats (as matched) collapse; null clears.
    response = await api.put(
        "/v1/units/282",
        json={
            "name": "Huyện Mỹ Đức",
            "parent_code": "01",
            "level": "district",
            "aliases": [" Một cửa Mỹ Đức ", "MỘT CỬA MỸ ĐỨC"],
        },
    )
    assert response.json()["aliases"] == ["Một cửa Mỹ Đức"]
    response = await api.put(
        "/v1/units/282",
        json={"name": "Huyện Mỹ Đức", "parent_code": "01", "level": "district", "aliases": None},
    )
    assert response.json()["aliases"] == []


@pytest.mark.parametrize("aliases", [[""], ["   "], "UBND", [1], ["a" * 501]])
async def test_bad_aliases_are_a_4xx_naming_the_field(api: httpx.AsyncClient, aliases: Any) -> None:
    response = await api.put(
        "/v1/units/282",
        json={"name": "Huyện Mỹ Đức", "parent_code": "01", "level": "district", "aliases": aliases},
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"][:2] == ["body", "aliases"]
    assert {u["code"]: u for u in (await api.get("/v1/units")).json()}["282"]["aliases"] == []


# --- progress steps ---------------------------------------------------------------------------


async def test_progress_steps_become_current_when_newest(api: httpx.AsyncClient) -> None:
    stored = event("E1", code="000.00.31.H26-170301-0001", occurred_at="2017-03-01T08:30:00+07:00")
    response = await api.post("/v1/events", json={"events": [stored]})
    assert response.json()["applied"] == 1
    body = fixture("opencps_progress.json")
    answer = await post(api, body)
    assert answer == {
        "error_code": 0,
        "message": "Thành công",
        "applied": 2,
        "duplicates": 0,
        "stale": 0,
        "rejected": [],
    }
    current = await dossier(api, "000.00.31.H26-170301-0001")
    assert (current["status"], current["events"]) == ("processing", 3)
    assert current["occurred_at"] == "2017-03-04T01:00:00Z"
    assert current["unit_code"] == stored["dossier"]["unit_code"]
    # The same steps again: duplicates, nothing changes.
    again = await post(api, body)
    assert (again["applied"], again["duplicates"]) == (0, 2)
    assert (await dossier(api, "000.00.31.H26-170301-0001"))["events"] == 3


async def test_a_step_older_than_the_current_state_is_kept_for_the_clock(
    api: httpx.AsyncClient, session: AsyncSession
) -> None:
    await name_the_agencies(api)
    await post(api, fixture("opencps_envelope.json"))  # stored now, after the steps' times
    answer = await post(api, fixture("opencps_progress.json"))
    assert (answer["applied"], answer["stale"], answer["error_code"]) == (2, 2, 0)
    current = await dossier(api, "000.00.31.H26-170301-0001")
    assert (current["status"], current["events"]) == ("processing", 3)
    statuses = (
        await session.execute(
            text(
                "SELECT payload->'dossier'->>'status', stale FROM dossier_events"
                " WHERE dossier_code = '000.00.31.H26-170301-0001' ORDER BY id"
            )
        )
    ).all()
    assert [tuple(r) for r in statuses] == [
        ("processing", False),
        ("supplement_requested", True),
        ("processing", True),
    ]


async def test_tandan_bare_progress_list_with_the_service_in_the_query(
    api: httpx.AsyncClient,
) -> None:
    first = event("E1", code="000.31.28.H26-170302-0101", occurred_at="2017-03-02T08:00:00+07:00")
    await api.post("/v1/events", json={"events": [first]})
    answer = await post(
        api, fixture("tandan_progress_bare.json"), {"service": "CapNhatTienDoHoSoMC"}
    )
    assert (answer["applied"], answer["stale"], answer["error_code"]) == (2, 0, 0)
    assert (await dossier(api, "000.31.28.H26-170302-0101"))["status"] == "finished"


async def test_a_step_of_an_unknown_dossier_is_rejected(api: httpx.AsyncClient) -> None:
    await api.post("/v1/events", json={"events": [event("E1", code="KNOWN")]})
    steps = [
        {"MaHoSo": "UNKNOWN", "TrangThai": "9", "ThoiDiemXuLy": "20170211090000"},
        {"MaHoSo": "KNOWN", "TrangThai": 9, "ThoiDiemXuLy": "20170211090000", "NguoiXuLy": ""},
        {"MaHoSo": "KNOWN", "TrangThai": "9", "ThoiDiemXuLy": "11/02/2017"},
        {"MaHoSo": "KNOWN", "TrangThai": "", "ThoiDiemXuLy": "20170211090000"},
    ]
    answer = await post(api, steps, {"service": "CapNhatTienDoHoSoMC"})
    assert answer["applied"] == 1 and answer["error_code"] == 1
    assert "thành công" not in answer["message"].casefold()
    errors = {r["index"]: r["errors"][0] for r in answer["rejected"]}
    assert errors[0] == {
        "loc": ["data", 0, "MaHoSo"],
        "msg": "dossier 'UNKNOWN' is unknown; send it with DongBoHoSoMC first",
        "code": "dossier_unknown",
    }
    assert errors[2]["loc"] == ["data", 2, "ThoiDiemXuLy"]
    assert errors[2]["code"] == "date_format"
    assert errors[3]["loc"] == ["data", 3, "TrangThai"] and errors[3]["code"] == "missing"
    assert (await dossier(api, "KNOWN"))["status"] == "finished"


async def test_a_unit_bound_key_may_not_step_another_units_dossier(
    client: httpx.AsyncClient, make_key: MakeKey
) -> None:
    admin = bearer(await make_key("ingest", "read", "admin"))
    await client.post("/v1/events", json={"events": [event("E1", code="D10441")]}, headers=admin)
    client.headers.update(bearer(await make_key("ingest", "read", unit="10444")))
    step = {"MaHoSo": "D10441", "TrangThai": "9", "ThoiDiemXuLy": "20170211090000"}
    answer = await post(client, envelope(step, service="CapNhatTienDoHoSoMC"))
    assert answer["error_code"] == 1
    [error] = answer["rejected"][0]["errors"]
    assert (error["loc"], error["code"]) == (["data", 0, "MaHoSo"], "unit_not_allowed")
    assert (await client.get("/v1/dossiers/D10441")).json()["status"] == "processing"


async def test_a_step_keeps_its_dossier_following_the_procedure_level(
    api: httpx.AsyncClient,
) -> None:
    await post(api, envelope(record("F1")))
    later = (dt.datetime.now(VIETNAM) + dt.timedelta(minutes=5)).strftime("%Y%m%d%H%M%S")
    step = {"MaHoSo": "F1", "TrangThai": "5", "ThoiDiemXuLy": later}
    answer = await post(api, envelope(step, service="CapNhatTienDoHoSoMC"))
    assert (answer["applied"], answer["stale"]) == (1, 0)
    await put_procedure(api, 3)
    current = await dossier(api, "F1")
    assert (current["status"], current["service_level"]) == ("supplement_requested", 3)


# --- answers and order ------------------------------------------------------------------------


async def test_any_rejection_makes_a_sender_resend_and_resending_is_harmless(
    api: httpx.AsyncClient,
) -> None:
    bad = record("R2", NgayTiepNhan="09/02/2017")
    answer = await post(api, envelope(record("R1"), bad, record("R3")))
    assert (answer["applied"], answer["error_code"]) == (2, 1)
    assert "thành công" not in answer["message"].casefold()
    assert answer["rejected"][0]["errors"][0]["loc"] == ["data", 1, "NgayTiepNhan"]
    # The sender resends the whole body with the record fixed.
    fixed = await post(api, envelope(record("R1"), record("R2"), record("R3")))
    assert fixed == {
        "error_code": 0,
        "message": "Thành công",
        "applied": 1,
        "duplicates": 2,
        "stale": 0,
        "rejected": [],
    }


async def test_records_of_one_body_are_stored_in_strictly_increasing_order(
    api: httpx.AsyncClient, session: AsyncSession
) -> None:
    # A dossier whose stored snapshot is an hour ahead pushes the records after it along.
    ahead = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)).isoformat()
    await api.post("/v1/events", json={"events": [event("E1", code="O2", occurred_at=ahead)]})
    await post(
        api,
        envelope(
            record("O1"),
            record("O2", DonViXuLy="10441"),
            record("O3"),
            record("O1", TrangThaiHoSo="5"),
        ),
    )
    stored = (
        await session.execute(
            text(
                "SELECT dossier_code, payload->'dossier'->>'status', occurred_at"
                " FROM dossier_events WHERE event_id LIKE 'dvcqg-%' ORDER BY occurred_at"
            )
        )
    ).all()
    assert [(code, status) for code, status, _ in stored] == [
        ("O1", "processing"),
        ("O2", "processing"),
        ("O3", "processing"),
        ("O1", "supplement_requested"),
    ]
    times = [moment for _, _, moment in stored]
    assert len(set(times)) == 4
    assert times[1] > dt.datetime.fromisoformat(ahead)


# --- the OpenAPI document ---------------------------------------------------------------------


async def test_openapi_describes_the_bare_array_body_and_the_query_parameters(
    client: httpx.AsyncClient,
) -> None:
    document = (await client.get("/openapi.json")).json()
    operation = document["paths"]["/v1/compat/dvcqg"]["post"]
    parameters = {p["name"]: p for p in operation["parameters"]}
    assert {"service", "isUpdating", "MaDinhDanhDV"} <= set(parameters)
    assert all(
        parameters[n]["examples"] and parameters[n]["schema"]["examples"] for n in parameters
    )
    media = operation["requestBody"]["content"]["application/json"]
    kinds = [option.get("type") or option.get("$ref") for option in media["schema"]["anyOf"]]
    assert kinds == ["#/components/schemas/SyncBody", "array"]
    assert isinstance(media["examples"]["bare_list"]["value"], list)
    assert media["examples"]["progress"]["value"]["service"] == "CapNhatTienDoHoSoMC"
    schemas = document["components"]["schemas"]
    assert {"NationalRecord", "ProgressStep", "SyncBody"} <= set(schemas)
    assert "MaDinhDanhDV" in operation["description"]


async def test_imported_national_rows_without_a_level_follow_it_too(
    api: httpx.AsyncClient, database_url: str, tmp_path: Path
) -> None:
    path = tmp_path / "export.jsonl"
    path.write_text(
        json.dumps(record("I1", KenhThucHien="2"), ensure_ascii=False)
        + "\n"
        + json.dumps(record("I2", KenhThucHien="2", MucDo="2"), ensure_ascii=False)
        + "\n",
        encoding="utf-8",
    )
    code, _, err = await run_cli(database_url, "import", str(path))
    assert code == 0, err
    await put_procedure(api, 4)
    assert (await dossier(api, "I1"))["service_level"] == 4
    assert (await dossier(api, "I2"))["service_level"] == 2
