"""Issue 13, items 1 and 3: a unit-bound key cannot take over another unit's dossiers, and no
snapshot dated far ahead can freeze a dossier."""

from __future__ import annotations

import datetime as dt

import httpx

from tests.conftest import MakeKey, bearer, event

NEWER = "2017-02-11T09:00:00+07:00"


async def test_bound_key_is_refused_for_a_dossier_stored_under_another_unit(
    api: httpx.AsyncClient, client: httpx.AsyncClient, make_key: MakeKey
) -> None:
    await api.post("/v1/events", json={"events": [event("e1", code="X", unit_code="10441")]})
    before = (await api.get("/v1/dossiers/X")).json()
    commune_key = await make_key("ingest", unit="10444")
    takeover = event("e2", code="X", occurred_at=NEWER, unit_code="10444", status="finished")
    late = event("e3", code="X", occurred_at="2017-02-01T09:00:00+07:00", unit_code="10444")
    own = event("e4", code="Y", unit_code="10444")
    response = await client.post(
        "/v1/events", json={"events": [takeover, late, own]}, headers=bearer(commune_key)
    )
    assert response.status_code == 200
    body = response.json()
    assert (body["applied"], body["stale"]) == (1, 0)
    assert [(r["index"], r["errors"][0]["code"]) for r in body["rejected"]] == [
        (0, "unit_not_allowed"),
        (1, "unit_not_allowed"),
    ]
    assert body["rejected"][0]["errors"][0]["loc"] == ["events", 0, "dossier", "code"]
    assert (await api.get("/v1/dossiers/X")).json() == before
    report = (
        await api.get(
            "/v1/stats/report-06",
            params={"from": "2017-02-01", "to": "2017-02-28", "group_by": "unit"},
        )
    ).json()
    assert {r["unit_code"]: r["received_total"] for r in report["rows"]} == {
        "10441": 1,
        "10444": 1,
    }


async def test_bound_key_is_refused_through_the_national_body(
    api: httpx.AsyncClient, client: httpx.AsyncClient, make_key: MakeKey
) -> None:
    await api.post("/v1/events", json={"events": [event("e1", code="X", unit_code="10441")]})
    before = (await api.get("/v1/dossiers/X")).json()
    commune_key = await make_key("ingest", unit="10444")
    record = {
        "MaHoSo": "X",
        "MaTTHC": "1.001193",
        "MaLinhVuc": "TP",
        "KenhThucHien": 2,
        "TrangThaiHoSo": "9",
        "NgayTiepNhan": "20170209140000",
        "NgayHenTra": "20170214170000",
        "DonViXuLy": "10444",
        "MucDo": "3",
    }
    response = await client.post(
        "/v1/compat/dvcqg",
        json={"service": "DongBoHoSoMC", "isUpdating": True, "data": [record]},
        headers=bearer(commune_key),
    )
    assert response.status_code == 200
    body = response.json()
    assert body["applied"] == 0
    assert [e["code"] for r in body["rejected"] for e in r["errors"]] == ["unit_not_allowed"]
    assert (await api.get("/v1/dossiers/X")).json() == before


async def test_unbound_key_may_still_move_a_dossier_between_units(api: httpx.AsyncClient) -> None:
    await api.post("/v1/events", json={"events": [event("e1", code="X", unit_code="10441")]})
    moved = event("e2", code="X", occurred_at=NEWER, unit_code="10444")
    body = (await api.post("/v1/events", json={"events": [moved]})).json()
    assert body["applied"] == 1
    assert (await api.get("/v1/dossiers/X")).json()["unit_code"] == "10444"


async def test_occurred_at_more_than_a_day_ahead_is_rejected(api: httpx.AsyncClient) -> None:
    now = dt.datetime.now(dt.UTC)
    soon = event("soon", code="S", occurred_at=(now + dt.timedelta(hours=20)).isoformat())
    # Within the accepted date range (2000–2099), but years ahead.
    far = event("far", code="F", occurred_at="2090-01-01T00:00:00+07:00")
    just_over = event(
        "over", code="S", occurred_at=(now + dt.timedelta(days=1, minutes=5)).isoformat()
    )
    response = await api.post("/v1/events", json={"events": [far, soon, just_over]})
    assert response.status_code == 200
    body = response.json()
    assert body["applied"] == 1
    assert [(r["index"], r["event_id"]) for r in body["rejected"]] == [(0, "far"), (2, "over")]
    for rejected in body["rejected"]:
        assert rejected["errors"][0]["code"] == "occurred_at_in_future"
        assert rejected["errors"][0]["loc"][-1] == "occurred_at"
    assert (await api.get("/v1/dossiers/F")).status_code == 404
    assert (await api.get("/v1/dossiers/S")).json()["events"] == 1
    # A genuine update after the refused one is not stale.
    update = event("next", code="S", occurred_at=(now + dt.timedelta(hours=21)).isoformat())
    assert (await api.post("/v1/events", json={"events": [update]})).json()["applied"] == 1
