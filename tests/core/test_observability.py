"""/metrics, request ids and structured logs."""

from __future__ import annotations

import json
import logging

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from app.core.observability.logs import configure_logging
from tests.conftest import event


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


async def scrape(client: httpx.AsyncClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return samples(response.text)


def value(found: dict, name: str, **labels: str) -> float:
    return found.get((name, tuple(sorted(labels.items()))), 0.0)


async def test_requests_are_counted_by_route_template_and_status(api: httpx.AsyncClient) -> None:
    before = await scrape(api)
    await api.get("/v1/dossiers/D404")
    await api.get("/v1/dossiers/D405")
    after = await scrape(api)
    labels = {"method": "GET", "route": "/v1/dossiers/{code}", "status": "404"}
    assert (
        value(after, "http_requests_total", **labels)
        - value(before, "http_requests_total", **labels)
        == 2
    )
    assert value(after, "http_request_duration_seconds_count", **labels) >= 2
    assert not any("D404" in str(key) for key in after)


async def test_ingested_events_are_counted_by_outcome(api: httpx.AsyncClient) -> None:
    before = await scrape(api)
    await api.post(
        "/v1/events", json={"events": [event("e1"), event("e1"), event("x", channel="fax")]}
    )
    after = await scrape(api)

    def added(outcome: str) -> float:
        labels = {"outcome": outcome, "api": "events"}
        name = "dossier_events_ingested_total"
        return value(after, name, **labels) - value(before, name, **labels)

    assert (added("applied"), added("duplicate"), added("rejected"), added("stale")) == (1, 1, 1, 0)


async def test_pool_gauges_are_exported(client: httpx.AsyncClient) -> None:
    found = await scrape(client)
    assert value(found, "db_pool_size") == 5
    assert ("db_pool_checked_out", ()) in found


async def test_request_id_is_honoured_and_echoed(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz", headers={"X-Request-ID": "portal-42.a"})
    assert response.headers["x-request-id"] == "portal-42.a"


@pytest.mark.parametrize("sent", [None, "", "bad id with spaces", "x" * 200])
async def test_missing_or_unsafe_request_id_is_replaced(
    client: httpx.AsyncClient, sent: str | None
) -> None:
    headers = {} if sent is None else {"X-Request-ID": sent}
    response = await client.get("/healthz", headers=headers)
    made = response.headers["x-request-id"]
    assert made != sent and len(made) == 32


async def test_access_log_is_one_json_line_with_the_request_id(
    client: httpx.AsyncClient, capsys: pytest.CaptureFixture[str]
) -> None:
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    configure_logging("info", "json")
    try:
        await client.get("/v1/dossiers/X", headers={"X-Request-ID": "req-7"})
        lines = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line]
    finally:
        root.handlers[:], root.level = saved[0], saved[1]
    [access] = [line for line in lines if line["logger"] == "app.access"]
    assert access["request_id"] == "req-7"
    assert access["route"] == "/v1/dossiers/{code}"
    assert access["status"] == 401
    assert access["level"] == "INFO" and "duration_ms" in access
