"""Domains and units: seeded catalog, PUT semantics, a unit tree that cannot loop."""

from __future__ import annotations

import httpx
import pytest


async def test_seeded_catalog_has_targets_and_the_unit_tree(api: httpx.AsyncClient) -> None:
    domains = {d["code"]: d for d in (await api.get("/v1/domains")).json()}
    assert domains["TP"]["online_target"] == 0.6
    assert domains["DKKD"]["online_target"] == 0.6
    assert domains["DD"]["online_target"] == 0.2
    units = {u["code"]: u for u in (await api.get("/v1/units")).json()}
    assert units["01"]["parent_code"] is None and units["01"]["level"] == "province"
    assert units["282"]["parent_code"] == "01" and units["282"]["level"] == "district"
    communes = [u for u in units.values() if u["parent_code"] == "282"]
    assert len(communes) == 22
    assert units["10441"]["name"] == "Thị trấn Đại Nghĩa"


async def test_put_domain_creates_then_replaces(api: httpx.AsyncClient) -> None:
    created = await api.put("/v1/domains/XD2", json={"name": "Xây dựng 2", "online_target": 0.35})
    assert created.status_code == 201
    assert created.json() == {
        "code": "XD2",
        "name": "Xây dựng 2",
        "online_target": 0.35,
        "coverage_target": 0.4,
    }
    replaced = await api.put("/v1/domains/XD2", json={"name": "Xây dựng"})
    assert replaced.status_code == 200
    assert replaced.json()["online_target"] == 0.2
    listed = {d["code"]: d for d in (await api.get("/v1/domains")).json()}
    assert listed["XD2"]["name"] == "Xây dựng"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "x", "online_target": 1.5}, "online_target"),
        ({"name": "x", "online_target": -0.1}, "online_target"),
        ({"online_target": 0.3}, "name"),
        ({"name": "x", "other": 1}, "other"),
    ],
)
async def test_bad_domain_body_is_422(api: httpx.AsyncClient, body: dict, field: str) -> None:
    before = (await api.get("/v1/domains")).json()
    response = await api.put("/v1/domains/TP", json=body)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["errors"][0]["loc"] == ["body", field]
    # Nothing changed: TP keeps its name and target, no domain was added.
    assert (await api.get("/v1/domains")).json() == before


async def test_put_unit_places_it_in_the_tree(api: httpx.AsyncClient) -> None:
    response = await api.put(
        "/v1/units/10999", json={"name": "Xã Mới", "parent_code": "282", "level": "commune"}
    )
    assert response.status_code == 201
    assert response.json() == {
        "code": "10999",
        "name": "Xã Mới",
        "parent_code": "282",
        "level": "commune",
        "agency_code": None,
        "aliases": [],
    }


@pytest.mark.parametrize(
    ("code", "body", "error"),
    [
        ("282", {"name": "x", "parent_code": "10444", "level": "district"}, "unit_cycle"),
        ("282", {"name": "x", "parent_code": "282", "level": "district"}, "unit_cycle"),
        ("10999", {"name": "x", "parent_code": "nope", "level": "commune"}, "unknown_unit"),
        ("10999", {"name": "x", "parent_code": None, "level": "hamlet"}, "literal_error"),
    ],
)
async def test_bad_unit_is_422_and_changes_nothing(
    api: httpx.AsyncClient, code: str, body: dict, error: str
) -> None:
    before = (await api.get("/v1/units")).json()
    response = await api.put(f"/v1/units/{code}", json=body)
    assert response.status_code == 422
    assert response.json()["errors"][0]["code"] == error
    assert (await api.get("/v1/units")).json() == before


async def test_agency_code_is_kept_when_omitted_and_cleared_by_null(api: httpx.AsyncClient) -> None:
    body = {"name": "Xã Đồng Tâm", "parent_code": "282", "level": "commune"}
    await api.put("/v1/units/10444", json={**body, "agency_code": "000.31.28.H26"})
    kept = await api.put("/v1/units/10444", json=body)
    assert kept.json()["agency_code"] == "000.31.28.H26"
    cleared = await api.put("/v1/units/10444", json={**body, "agency_code": None})
    assert cleared.json()["agency_code"] is None


async def test_agency_code_of_another_unit_is_409(api: httpx.AsyncClient) -> None:
    body = {"name": "x", "parent_code": "282", "level": "commune", "agency_code": "000.31.28.H26"}
    assert (await api.put("/v1/units/10444", json=body)).status_code == 200
    response = await api.put("/v1/units/10447", json=body)
    assert response.status_code == 409
    assert response.json()["errors"][0]["code"] == "agency_code_taken"


async def test_a_query_parameter_given_twice_is_a_422_naming_it(api: httpx.AsyncClient) -> None:
    response = await api.get("/v1/procedures", params=[("domain", "TP"), ("domain", "DD")])
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["errors"][0]["loc"] == ["query", "domain"]
