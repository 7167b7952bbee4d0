"""Contract section 2 v2 and issue 13 items 6 and 8 (input side): codes and names refuse control
characters everywhere, blank codes are refused, and dates are bounded; refused input changes
nothing and never answers 5xx."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Dossier, Unit
from tests.conftest import event

PROBLEM = "application/problem+json"


def only_error(response: httpx.Response) -> dict:
    assert response.headers["content-type"] == PROBLEM
    errors = response.json()["errors"]
    assert len(errors) == 1, errors
    return errors[0]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("code", "D\x01"),
        ("procedure_code", "1.001193\n"),
        ("procedure_name", "Đăng ký\tkhai sinh"),
        ("domain_code", "TP\x7f"),
        ("domain_name", "Tư\x1bpháp"),
        ("unit_code", "\r10441"),
    ],
)
async def test_event_field_with_a_control_character_is_rejected_by_name(
    api: httpx.AsyncClient, session: AsyncSession, field: str, value: str
) -> None:
    response = await api.post(
        "/v1/events", json={"events": [event("ok", code="GOOD"), event("bad", **{field: value})]}
    )
    assert response.status_code == 200
    answer = response.json()
    assert answer["applied"] == 1
    [rejected] = answer["rejected"]
    assert rejected["index"] == 1
    assert rejected["errors"][0]["loc"][-1] == field
    assert rejected["errors"][0]["code"] == "control_character"
    assert await session.scalar(select(func.count()).select_from(Dossier)) == 1


async def test_event_id_with_a_control_character_is_rejected(api: httpx.AsyncClient) -> None:
    answer = (await api.post("/v1/events", json={"events": [event("e\x00")]})).json()
    assert answer["rejected"][0]["errors"][0]["code"] == "control_character"


@pytest.mark.parametrize(
    ("path", "body", "loc"),
    [
        ("/v1/units/X%0A1", {"name": "Xã", "parent_code": "282", "level": "commune"}, "code"),
        ("/v1/units/X1", {"name": "Xã\nmới", "parent_code": "282", "level": "commune"}, "name"),
        ("/v1/units/X1", {"name": "Xã", "parent_code": "282\x00", "level": "commune"}, None),
        ("/v1/domains/D%7F", {"name": "Lĩnh vực"}, "code"),
        ("/v1/domains/D1", {"name": "Lĩnh\x1fvực"}, "name"),
        ("/v1/procedures/P%09", {"name": "T", "domain_code": "TP", "service_level": 3}, "code"),
        ("/v1/procedures/P1", {"name": "T", "domain_code": "T\x02P", "service_level": 3}, None),
    ],
)
async def test_catalog_put_with_a_control_character_is_refused_naming_the_field(
    api: httpx.AsyncClient, path: str, body: dict, loc: str | None
) -> None:
    response = await api.put(path, json=body)
    assert response.status_code == 422
    error = only_error(response)
    assert error["code"] == "control_character"
    expected = loc or next(
        k for k, v in body.items() if isinstance(v, str) and v.isprintable() is False
    )
    assert error["loc"][-1] == expected
    listed = (await api.get("/v1/units")).json() + (await api.get("/v1/domains")).json()
    assert not {u["code"] for u in listed} & {"X1", "X\n1", "D1", "D\x7f"}


@pytest.mark.parametrize("code", ["%20", "%20%20%20"])
async def test_blank_unit_code_is_refused(
    api: httpx.AsyncClient, session: AsyncSession, code: str
) -> None:
    before = await session.scalar(select(func.count()).select_from(Unit))
    response = await api.put(f"/v1/units/{code}", json={"name": "Blank", "level": "commune"})
    assert response.status_code == 422
    assert only_error(response)["loc"] == ["path", "code"]
    assert await session.scalar(select(func.count()).select_from(Unit)) == before


async def test_blank_unit_code_in_an_event_is_rejected(api: httpx.AsyncClient) -> None:
    answer = (await api.post("/v1/events", json={"events": [event("e1", unit_code=" ")]})).json()
    assert answer["rejected"][0]["errors"][0]["loc"][-1] == "unit_code"


@pytest.mark.parametrize(
    "url",
    [
        "/v1/stats/online-ratio?from=2017-01-01&to=2017-12-31&unit=282%0A",
        "/v1/stats/report-06?from=2017-01-01&to=2017-12-31&domain=TP%7F",
        "/v1/stats/procedure-coverage?domain=%1BTP",
        "/v1/procedures?domain=T%0DP",
        "/v1/dossiers/D%0A1",
    ],
)
async def test_query_and_path_values_with_control_characters_are_refused(
    api: httpx.AsyncClient, url: str
) -> None:
    response = await api.get(url)
    assert response.status_code == 422
    error = only_error(response)
    assert error["code"] == "control_character"
    assert error["loc"][0] in {"query", "path"}


@pytest.mark.parametrize("endpoint", ["online-ratio", "report-06"])
@pytest.mark.parametrize(
    ("date_from", "date_to", "bad"),
    [
        ("0001-01-01", "9999-12-31", {"from", "to"}),
        ("1999-12-31", "2017-01-01", {"from"}),
        ("2017-01-01", "2100-01-01", {"to"}),
    ],
)
async def test_report_dates_outside_2000_to_2099_answer_422(
    api: httpx.AsyncClient, endpoint: str, date_from: str, date_to: str, bad: set[str]
) -> None:
    response = await api.get(f"/v1/stats/{endpoint}?from={date_from}&to={date_to}")
    assert response.status_code == 422
    errors = response.json()["errors"]
    assert {e["loc"][-1] for e in errors} == bad
    assert {e["code"] for e in errors} == {"date_out_of_range"}


async def test_report_dates_at_the_bounds_are_accepted(api: httpx.AsyncClient) -> None:
    # Received at local midnight of the first day the bounds allow: counted, not cut off.
    sent = await api.post(
        "/v1/events",
        json={"events": [event("e1", received_at="2000-01-01T00:00:00+07:00")]},
    )
    assert sent.status_code == 200 and sent.json()["applied"] == 1, sent.text
    for endpoint, column in (("online-ratio", "total"), ("report-06", "received_total")):
        response = await api.get(f"/v1/stats/{endpoint}?from=2000-01-01&to=2099-12-31")
        assert response.status_code == 200, response.text
        assert response.json()["overall"][column] == 1


@pytest.mark.parametrize(
    ("field", "value", "accepted"),
    [
        ("occurred_at", "1999-12-31T16:59:59Z", False),  # 23:59:59 local, 1999
        ("occurred_at", "1999-12-31T17:00:00Z", True),  # midnight local, 2000-01-01
        ("received_at", "0001-01-01T00:00:00+07:00", False),
        ("due_at", "9999-12-31T00:00:00+07:00", False),
        ("due_at", "2099-12-31T23:59:59+07:00", True),
    ],
)
async def test_event_timestamps_are_bounded_to_local_dates_2000_to_2099(
    api: httpx.AsyncClient, field: str, value: str, accepted: bool
) -> None:
    if field == "occurred_at":
        body = event("e1", occurred_at=value, submitted_at=None, received_at=value)
    else:
        body = event("e1", **{field: value})
    answer = (await api.post("/v1/events", json={"events": [body]})).json()
    if accepted:
        assert answer["applied"] == 1, answer
    else:
        [rejected] = answer["rejected"]
        assert rejected["errors"][0]["code"] == "date_out_of_range"
        assert rejected["errors"][0]["loc"][-1] == field


def test_the_openapi_document_states_the_date_bounds(app: FastAPI) -> None:
    parameters = app.openapi()["paths"]["/v1/stats/report-06"]["get"]["parameters"]
    described = {p["name"]: p.get("description", "") for p in parameters}
    assert "2000-01-01" in described["from"] and "2099-12-31" in described["to"]


async def test_national_record_with_a_control_character_is_rejected_by_field(
    api: httpx.AsyncClient, session: AsyncSession
) -> None:
    from tests.ingest.national.test_national import record

    body = {
        "service": "DongBoHoSoMC",
        "isUpdating": False,
        "data": [record("N-OK"), record("N-BAD", TenLinhVuc="Tư\x0bpháp")],
    }
    answer = (await api.post("/v1/compat/dvcqg", json=body)).json()
    [rejected] = answer["rejected"]
    assert rejected["errors"][0]["code"] == "control_character"
    assert "TenLinhVuc" in rejected["errors"][0]["loc"]
    assert await session.scalar(select(func.count()).select_from(Dossier)) == 1
