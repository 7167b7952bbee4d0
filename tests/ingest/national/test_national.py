"""POST /v1/compat/dvcqg: national records, mapped and applied in arrival order."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import DossierEvent
from tests.conftest import MakeKey, bearer

URL = "/v1/compat/dvcqg"


def record(code: str = "000.28.31.H26-170209-0001", **fields: Any) -> dict[str, Any]:
    """A record as a provincial one-stop-shop system sends it, with fields we ignore."""
    body: dict[str, Any] = {
        "MaHoSo": code,
        "MaTTHC": "1.001193",
        "TenTTHC": "Đăng ký khai sinh",
        "MaLinhVuc": "TP",
        "TenLinhVuc": "Tư pháp",
        "KenhThucHien": 2,
        "TrangThaiHoSo": "4",
        "NgayNopHoSo": "20170209120200",
        "NgayTiepNhan": "20170209140000",
        "NgayHenTra": "20170214170000",
        "NgayKetThucXuLy": "",
        "NgayTra": "",
        "NgayTuChoi": "",
        "DonViXuLy": 10441,
        "MucDo": "3",
        "ChuHoSo": "Nguyễn Văn An",
        "LoaiDoiTuong": 1,
        "HinhThuc": 0,
        "DuocThanhToanTrucTuyen": 1,
        "HoSoCoThanhPhanSoHoa": 1,
    }
    body.update(fields)
    return body


async def sync(api: httpx.AsyncClient, *records: object) -> dict[str, Any]:
    body = {"service": "DongBoHoSoMC", "isUpdating": False, "data": list(records)}
    response = await api.post(URL, json=body)
    assert response.status_code == 200, response.text
    return response.json()


async def test_record_is_mapped_to_the_dossier_state(api: httpx.AsyncClient) -> None:
    result = await sync(api, record())
    assert result == {
        "error_code": 0,
        "message": "Thành công",
        "applied": 1,
        "duplicates": 0,
        "stale": 0,
        "rejected": [],
    }
    dossier = (await api.get("/v1/dossiers/000.28.31.H26-170209-0001")).json()
    assert dossier["procedure_code"] == "1.001193"
    assert dossier["domain_code"] == "TP" and dossier["domain_name"] == "Tư pháp"
    assert dossier["unit_code"] == "10441"
    assert dossier["channel"] == "online"
    assert dossier["status"] == "processing"
    assert dossier["service_level"] == 3
    # 14:00 Vietnam time is 07:00 UTC.
    assert dossier["received_at"] == "2017-02-09T07:00:00Z"
    assert dossier["due_at"] == "2017-02-14T10:00:00Z"
    assert dossier["finished_at"] is None


async def test_mapped_records_count_in_the_online_ratio(api: httpx.AsyncClient) -> None:
    await sync(
        api,
        record("H1", KenhThucHien=2),
        record("H2", KenhThucHien="1"),
        record("H3", KenhThucHien=3, TrangThaiHoSo=10, NgayTra="20170215090000"),
        record("H4", TrangThaiHoSo=1, NgayTiepNhan=""),  # submitted, not received: not counted
    )
    report = (
        await api.get("/v1/stats/online-ratio", params={"from": "2017-02-01", "to": "2017-02-28"})
    ).json()
    assert [(r["domain_code"], r["online"], r["total"]) for r in report["rows"]] == [("TP", 1, 3)]


async def test_identical_record_is_a_duplicate(
    api: httpx.AsyncClient, session: AsyncSession
) -> None:
    await sync(api, record())
    before = (await api.get("/v1/dossiers/000.28.31.H26-170209-0001")).json()
    # The same record resent, with numbers as strings and unrelated fields changed.
    again = record(DonViXuLy="10441", MucDo=3, ChuHoSo="NGUYỄN VĂN AN")
    result = await sync(api, again)
    assert (result["applied"], result["duplicates"]) == (0, 1)
    assert (await api.get("/v1/dossiers/000.28.31.H26-170209-0001")).json() == before
    assert await session.scalar(select(func.count()).select_from(DossierEvent)) == 1


async def test_records_apply_in_arrival_order(api: httpx.AsyncClient) -> None:
    finished = record(TrangThaiHoSo=9, NgayKetThucXuLy="20170213100000")
    result = await sync(api, record(TrangThaiHoSo=2), record(TrangThaiHoSo=4), finished)
    assert result["applied"] == 3
    dossier = (await api.get("/v1/dossiers/000.28.31.H26-170209-0001")).json()
    assert dossier["status"] == "finished" and dossier["events"] == 3
    # A later request wins too, even when it moves the dossier "back".
    await sync(api, record(TrangThaiHoSo=5))
    assert (await api.get("/v1/dossiers/000.28.31.H26-170209-0001")).json()[
        "status"
    ] == "supplement_requested"


async def test_a_state_that_returns_is_applied_not_taken_for_a_duplicate(
    api: httpx.AsyncClient,
) -> None:
    # processing → more documents requested → processing again, all other fields equal.
    await sync(api, record(TrangThaiHoSo=4))
    await sync(api, record(TrangThaiHoSo=5))
    result = await sync(api, record(TrangThaiHoSo=4))
    assert result["applied"] == 1 and result["duplicates"] == 0
    dossier = (await api.get("/v1/dossiers/000.28.31.H26-170209-0001")).json()
    assert dossier["status"] == "processing" and dossier["events"] == 3


async def test_same_record_twice_in_one_request_is_one_duplicate(api: httpx.AsyncClient) -> None:
    result = await sync(api, record(), record(), record(TrangThaiHoSo=5), record(TrangThaiHoSo=4))
    assert (result["applied"], result["duplicates"]) == (3, 1)


async def test_agency_code_maps_to_its_unit(api: httpx.AsyncClient) -> None:
    response = await api.put(
        "/v1/units/10444",
        json={
            "name": "Xã Đồng Tâm",
            "parent_code": "282",
            "level": "commune",
            "agency_code": "000.31.28.H26",
        },
    )
    assert response.status_code == 200
    assert response.json()["agency_code"] == "000.31.28.H26"
    await sync(api, record(DonViXuLy="000.31.28.H26"))
    dossier = (await api.get("/v1/dossiers/000.28.31.H26-170209-0001")).json()
    assert dossier["unit_code"] == "10444"


async def test_unknown_unit_is_rejected_and_never_added_to_the_catalog(
    api: httpx.AsyncClient,
) -> None:
    units_before = (await api.get("/v1/units")).json()
    result = await sync(api, record(DonViXuLy="000.00.00.H56"))
    assert result["applied"] == 0 and result["error_code"] == 1
    [rejected] = result["rejected"]
    assert rejected["errors"][0]["loc"] == ["data", 0, "DonViXuLy"]
    assert rejected["errors"][0]["code"] == "unit_unknown"
    assert (await api.get("/v1/units")).json() == units_before


async def test_missing_level_comes_from_the_procedure_catalog(api: httpx.AsyncClient) -> None:
    await sync(api, record("H1", MucDo=4))  # the procedure joins the catalog at level 4
    result = await sync(api, record("H2", MucDo=None), record("H3", MaTTHC="2.002492", MucDo=""))
    assert result["applied"] == 2 and result["rejected"] == []
    assert (await api.get("/v1/dossiers/H2")).json()["service_level"] == 4
    # A procedure the catalog lacks joins it at level 2, and so does its dossier.
    assert (await api.get("/v1/dossiers/H3")).json()["service_level"] == 2
    procedures = {p["code"]: p for p in (await api.get("/v1/procedures")).json()}
    assert procedures["2.002492"]["service_level"] == 2


async def test_bad_records_are_rejected_by_national_field_and_the_rest_stored(
    api: httpx.AsyncClient,
) -> None:
    result = await sync(
        api,
        record("H1", KenhThucHien=7),
        record("H2", NgayTiepNhan="09/02/2017"),
        record("H3"),
        record("H4", TrangThaiHoSo="4", NgayTiepNhan=""),
        "not a record",
        {k: v for k, v in record("H6").items() if k != "MaTTHC"},
        record("H7", TrangThaiHoSo=True),
    )
    assert result["applied"] == 1 and result["duplicates"] == 0
    assert result["error_code"] == 1
    assert "thành công" not in result["message"].casefold()
    found = {r["index"]: (r["MaHoSo"], r["errors"][0]) for r in result["rejected"]}
    assert found[0][1]["loc"] == ["data", 0, "KenhThucHien"]
    assert found[0][1]["code"] == "channel_unknown"
    assert found[1][1]["loc"] == ["data", 1, "NgayTiepNhan"]
    assert found[1][1]["code"] == "date_format"
    assert found[3][0] == "H4" and "received_at is required" in found[3][1]["msg"]
    assert found[3][1]["loc"] == ["data", 3, "NgayTiepNhan"]
    assert found[4] == (
        None,
        {"loc": ["data", 4], "msg": "expected an object", "code": "object_type"},
    )
    assert found[5][1]["loc"] == ["data", 5, "MaTTHC"] and found[5][1]["code"] == "missing"
    assert found[6][1]["loc"] == ["data", 6, "TrangThaiHoSo"]


async def test_unit_bound_key_may_send_only_its_units(
    client: httpx.AsyncClient, make_key: MakeKey
) -> None:
    client.headers.update(bearer(await make_key("ingest", "read", unit="10441")))
    result = await sync(client, record("H1"), record("H2", DonViXuLy="10444"))
    assert result["applied"] == 1
    assert result["rejected"][0]["errors"][0]["code"] == "unit_not_allowed"
    assert result["rejected"][0]["errors"][0]["loc"] == ["data", 1, "DonViXuLy"]


@pytest.mark.parametrize(
    ("body", "status", "error_code"),
    [
        (b"{not json", 422, 1),
        (b"[]", 422, 2),
        (b'{"service": "DongBoHoSoMC"}', 422, 2),
        (b'{"service": "DongBoHoSoMC", "data": []}', 422, 2),
        (b'{"service": "LayDanhMuc", "data": [{}]}', 422, 3),
    ],
)
async def test_unusable_body_is_4xx_with_a_national_error_code(
    api: httpx.AsyncClient, body: bytes, status: int, error_code: int
) -> None:
    response = await api.post(URL, content=body, headers={"content-type": "application/json"})
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["error_code"] == error_code
    assert problem["message"] and problem["status"] == status


async def test_too_many_records_is_413(api: httpx.AsyncClient) -> None:
    response = await api.post(URL, json={"data": [record()] * 5001})
    assert response.status_code == 413
    assert response.json()["error_code"] == 4


async def test_sync_needs_the_ingest_scope(client: httpx.AsyncClient, make_key: MakeKey) -> None:
    response = await client.post(URL, json={"data": [record()]})
    assert response.status_code == 401
    read_only = bearer(await make_key("read"))
    response = await client.post(URL, json={"data": [record()]}, headers=read_only)
    assert response.status_code == 403
