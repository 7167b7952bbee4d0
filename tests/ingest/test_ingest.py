"""POST /v1/events: the contract's semantics, item by item."""

from __future__ import annotations

import httpx
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Domain, Dossier, DossierEvent, Procedure, Unit
from tests.conftest import MakeKey, bearer, event


async def post(api: httpx.AsyncClient, *events: object) -> dict:
    response = await api.post("/v1/events", json={"events": list(events)})
    assert response.status_code == 200, response.text
    return response.json()


async def count(session: AsyncSession, model: type) -> int:
    return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_new_event_is_applied_and_becomes_the_dossier_state(api: httpx.AsyncClient) -> None:
    assert await post(api, event("e1")) == {
        "applied": 1,
        "stale": 0,
        "duplicates": 0,
        "rejected": [],
    }
    dossier = (await api.get("/v1/dossiers/D1")).json()
    assert dossier["status"] == "processing"
    assert dossier["received_at"] == "2017-02-09T07:00:00Z"
    assert dossier["events"] == 1


async def test_resent_event_is_a_duplicate_and_changes_nothing(
    api: httpx.AsyncClient, session: AsyncSession
) -> None:
    await post(api, event("e1"))
    before = (await api.get("/v1/dossiers/D1")).json()
    assert await post(api, event("e1")) == {
        "applied": 0,
        "stale": 0,
        "duplicates": 1,
        "rejected": [],
    }
    assert (await api.get("/v1/dossiers/D1")).json() == before
    assert await count(session, DossierEvent) == 1


async def test_same_instant_in_another_offset_is_the_same_content(api: httpx.AsyncClient) -> None:
    await post(api, event("e1", occurred_at="2017-02-10T09:15:00+07:00"))
    result = await post(api, event("e1", occurred_at="2017-02-10T02:15:00Z"))
    assert result == {"applied": 0, "stale": 0, "duplicates": 1, "rejected": []}


async def test_same_event_id_with_other_content_is_rejected_as_conflict(
    api: httpx.AsyncClient,
) -> None:
    await post(api, event("e1", status="processing"))
    result = await post(
        api, event("e1", status="finished", finished_at="2017-02-12T10:00:00+07:00")
    )
    assert result["applied"] == 0
    assert result["rejected"][0]["index"] == 0
    assert result["rejected"][0]["event_id"] == "e1"
    assert result["rejected"][0]["errors"][0]["code"] == "event_id_conflict"
    assert (await api.get("/v1/dossiers/D1")).json()["status"] == "processing"


async def test_duplicates_and_conflicts_inside_one_request(api: httpx.AsyncClient) -> None:
    result = await post(
        api, event("e1"), event("e1"), event("e1", status="received"), event("e2", code="D2")
    )
    assert result["applied"] == 2
    assert result["duplicates"] == 1
    assert [(r["index"], r["errors"][0]["code"]) for r in result["rejected"]] == [
        (2, "event_id_conflict")
    ]


async def test_older_snapshot_is_logged_but_stale(api: httpx.AsyncClient) -> None:
    await post(api, event("new", occurred_at="2017-02-12T09:00:00+07:00", status="fees_due"))
    result = await post(
        api, event("old", occurred_at="2017-02-11T09:00:00+07:00", status="received")
    )
    assert result == {"applied": 0, "stale": 1, "duplicates": 0, "rejected": []}
    dossier = (await api.get("/v1/dossiers/D1")).json()
    assert dossier["status"] == "fees_due"
    assert dossier["events"] == 2


async def test_out_of_order_inside_one_request_newest_wins(api: httpx.AsyncClient) -> None:
    result = await post(
        api,
        event(
            "b",
            occurred_at="2017-02-12T09:00:00+07:00",
            status="finished",
            finished_at="2017-02-12T09:00:00+07:00",
        ),
        event("a", occurred_at="2017-02-11T09:00:00+07:00", status="processing"),
    )
    assert result["applied"] == 1 and result["stale"] == 1
    assert (await api.get("/v1/dossiers/D1")).json()["status"] == "finished"


async def test_equal_occurred_at_later_arrival_wins(api: httpx.AsyncClient) -> None:
    await post(api, event("a", status="processing"))
    result = await post(api, event("b", status="fees_due"))
    assert result["applied"] == 1
    assert (await api.get("/v1/dossiers/D1")).json()["status"] == "fees_due"


async def test_invalid_items_are_rejected_and_valid_ones_stored(
    api: httpx.AsyncClient, session: AsyncSession
) -> None:
    bad_channel = event("bad1", code="D2", channel="fax")
    naive_time = event("bad2", code="D3", occurred_at="2017-02-10T09:15:00")
    no_receipt = event("bad3", code="D4", status="processing", received_at=None)
    result = await post(api, bad_channel, event("good"), naive_time, no_receipt, "not an event")
    assert result["applied"] == 1
    rejected = {r["index"]: r for r in result["rejected"]}
    assert sorted(rejected) == [0, 2, 3, 4]
    assert rejected[0]["errors"][0]["loc"] == ["events", 0, "dossier", "channel"]
    assert rejected[2]["errors"][0]["loc"] == ["events", 2, "occurred_at"]
    assert rejected[2]["errors"][0]["code"] == "timezone_aware"
    assert "received_at is required" in rejected[3]["errors"][0]["msg"]
    assert rejected[4]["event_id"] is None
    assert await count(session, Dossier) == 1


async def test_submitted_and_refused_need_no_receipt(api: httpx.AsyncClient) -> None:
    result = await post(
        api,
        event("s", code="S", status="submitted", received_at=None),
        event("r", code="R", status="refused", received_at=None),
    )
    assert result == {"applied": 2, "stale": 0, "duplicates": 0, "rejected": []}
    for code, status in (("S", "submitted"), ("R", "refused")):
        stored = (await api.get(f"/v1/dossiers/{code}")).json()
        assert (stored["status"], stored["received_at"]) == (status, None)


async def test_unknown_fields_and_nul_bytes_are_rejected(api: httpx.AsyncClient) -> None:
    extra = event("x1")
    extra["dossier"]["colour"] = "red"
    nul = event("x2", code="D\x00X")
    result = await post(api, extra, nul)
    codes = [r["errors"][0]["code"] for r in result["rejected"]]
    assert codes[0] == "extra_forbidden"
    assert result["rejected"][1]["errors"][0]["code"] == "control_character"


async def test_unknown_domain_unit_and_procedure_join_the_catalog(
    api: httpx.AsyncClient, session: AsyncSession
) -> None:
    await post(
        api,
        event(
            "e1",
            domain_code="G03-GD10",
            domain_name="Giáo dục",
            unit_code="99999",
            procedure_code="2.002492",
        ),
    )
    domain = await session.get(Domain, "G03-GD10")
    assert domain is not None and domain.name == "Giáo dục" and float(domain.online_target) == 0.2
    unit = await session.get(Unit, "99999")
    assert unit is not None and unit.parent_code is None
    procedure = await session.get(Procedure, "2.002492")
    assert procedure is not None and procedure.domain_code == "G03-GD10"
    assert procedure.service_level == 3


async def test_event_log_records_the_sending_key_and_staleness(
    api: httpx.AsyncClient, session: AsyncSession
) -> None:
    await post(api, event("new", occurred_at="2017-02-12T09:00:00+07:00"))
    await post(api, event("old", occurred_at="2017-02-11T09:00:00+07:00"))
    rows = (
        await session.execute(
            text("SELECT event_id, stale, api_key_id FROM dossier_events ORDER BY id")
        )
    ).all()
    assert [(r.event_id, r.stale) for r in rows] == [("new", False), ("old", True)]
    assert all(r.api_key_id is not None for r in rows)


async def test_event_ids_are_per_source(client: httpx.AsyncClient, make_key: MakeKey) -> None:
    a = await make_key("ingest", "read", name="a", source="vendor-a")
    a_rotated = await make_key("ingest", name="a2", source="vendor-a")
    b = await make_key("ingest", name="b", source="vendor-b")
    send = {"events": [event("same-id")]}
    r1 = await client.post("/v1/events", json=send, headers=bearer(a))
    r2 = await client.post("/v1/events", json=send, headers=bearer(a_rotated))
    r3 = await client.post("/v1/events", json=send, headers=bearer(b))
    assert r1.json()["applied"] == 1
    assert r2.json()["duplicates"] == 1
    assert r3.json()["applied"] == 1
    assert (await client.get("/v1/dossiers/D1", headers=bearer(a))).json()["events"] == 2


async def test_unit_bound_key_may_send_only_its_subtree(
    client: httpx.AsyncClient, make_key: MakeKey
) -> None:
    commune_key = await make_key("ingest", "read", unit="10444")
    district_key = await make_key("ingest", unit="282")
    body = {
        "events": [
            event("own", code="A", unit_code="10444"),
            event("other", code="B", unit_code="10447"),
            event("unknown", code="C", unit_code="77777"),
        ]
    }
    result = (await client.post("/v1/events", json=body, headers=bearer(commune_key))).json()
    assert result["applied"] == 1
    assert [(r["index"], r["errors"][0]["code"]) for r in result["rejected"]] == [
        (1, "unit_not_allowed"),
        (2, "unit_not_allowed"),
    ]
    assert result["rejected"][0]["errors"][0]["loc"] == ["events", 1, "dossier", "unit_code"]
    district = (
        await client.post(
            "/v1/events",
            json={"events": [event("x", code="B", unit_code="10447")]},
            headers=bearer(district_key),
        )
    ).json()
    assert district["applied"] == 1
    assert (await client.get("/v1/dossiers/B", headers=bearer(commune_key))).status_code == 200


async def test_unknown_dossier_is_404(api: httpx.AsyncClient) -> None:
    response = await api.get("/v1/dossiers/NOPE")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["status"] == 404
