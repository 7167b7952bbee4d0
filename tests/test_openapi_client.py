"""Issue 13 item 12: the served OpenAPI document is valid, names operations cleanly, shares one
`Problem` schema for every error status, and a client generated from it as an integrator would
(openapi-python-client) ingests events and reads a statistic through the real HTTP stack."""

from __future__ import annotations

import asyncio
import datetime as dt
import importlib
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from openapi_spec_validator import validate

from tests.conftest import MakeKey, event

GENERATOR = Path(sys.prefix) / "codegen" / "bin" / "openapi-python-client"
EVERY_OPERATION_ANSWERS = {"400", "413", "414", "429", "431", "503"}


@pytest.fixture
async def document(client: httpx.AsyncClient) -> dict[str, Any]:
    response = await client.get("/openapi.json")
    assert response.status_code == 200
    served: dict[str, Any] = response.json()
    return served


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
    ]


async def test_the_served_document_validates(document: dict[str, Any]) -> None:
    validate(document)  # raises on the first error (the string default '0.20' used to)
    target = document["components"]["schemas"]["DomainIn"]["properties"]["online_target"]
    assert target["default"] == 0.2


async def test_operations_have_clean_unique_ids(document: dict[str, Any]) -> None:
    ids = {(method, path): op["operationId"] for method, path, op in operations(document)}
    assert ids[("post", "/v1/events")] == "post_events"
    assert ids[("get", "/v1/stats/online-ratio")] == "get_online_ratio"
    assert ids[("put", "/v1/units/{code}")] == "put_unit"
    assert len(set(ids.values())) == len(ids)
    assert not [i for i in ids.values() if "_v1_" in i or i.endswith(("_get", "_post", "_put"))]


async def test_every_error_answer_refers_to_the_one_problem_schema(
    document: dict[str, Any],
) -> None:
    assert "Problem" in document["components"]["schemas"]
    for method, path, operation in operations(document):
        statuses = set(operation["responses"])
        assert statuses >= EVERY_OPERATION_ANSWERS, (method, path)
        if path.startswith("/v1/"):
            assert {"401", "403", "422"} <= statuses, (method, path)
        for status, answer in operation["responses"].items():
            if int(status) >= 400:
                media = answer["content"]["application/problem+json"]
                assert media["schema"] == {"$ref": "#/components/schemas/Problem"}, (path, status)
    assert "HTTPValidationError" not in document["components"]["schemas"]


async def test_a_generated_client_ingests_and_reads_a_statistic(
    app: FastAPI, document: dict[str, Any], make_key: MakeKey, tmp_path: Path
) -> None:
    (tmp_path / "openapi.json").write_text(json.dumps(document))
    (tmp_path / "config.yml").write_text(
        "package_name_override: generated_client\npost_hooks: []\n"
    )
    generated = await asyncio.to_thread(
        subprocess.run,
        [
            str(GENERATOR),
            "generate",
            "--path",
            str(tmp_path / "openapi.json"),
            "--output-path",
            str(tmp_path / "generated_client"),
            "--meta",
            "none",
            "--config",
            str(tmp_path / "config.yml"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert generated.returncode == 0, generated.stdout + generated.stderr
    assert "Warning" not in generated.stdout + generated.stderr, generated.stdout
    models = list((tmp_path / "generated_client" / "models").glob("*.py"))
    # One Problem, not one copy per endpoint and status (209 before; 92 with the scorecard and
    # the dossier lists).
    assert len(models) < 110

    sys.path.insert(0, str(tmp_path))
    try:
        package = importlib.import_module("generated_client")
        post_events = importlib.import_module("generated_client.api.ingest.post_events")
        online_ratio = importlib.import_module("generated_client.api.statistics.get_online_ratio")
        model_module = importlib.import_module("generated_client.models")
        key = await make_key("ingest", "read")
        client = package.AuthenticatedClient(base_url="http://testserver", token=key)
        client.set_async_httpx_client(
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app),
                base_url="http://testserver",
                headers={"Authorization": f"Bearer {key}"},
            )
        )
        batch = model_module.EventBatchIn.from_dict(
            {
                "events": [
                    event("g1", code="G1"),
                    event("g2", code="G2", channel="in_person"),
                    event("g3", code="G3", unit_code="1\x0a"),
                ]
            }
        )
        ingested = await post_events.asyncio_detailed(client=client, body=batch)
        assert ingested.status_code == 200, ingested.content
        assert ingested.parsed.applied == 2
        assert ingested.parsed.rejected[0].index == 2

        report = await online_ratio.asyncio_detailed(
            client=client, from_=dt.date(2017, 1, 1), to=dt.date(2017, 12, 31)
        )
        assert report.status_code == 200, report.content
        assert report.parsed.overall.online == 1
        assert report.parsed.overall.total == 2
        assert report.parsed.rows[0].domain_code == "TP"

        refused = await online_ratio.asyncio_detailed(
            client=client, from_=dt.date(1, 1, 1), to=dt.date(9999, 12, 31)
        )
        assert refused.status_code == 422
        assert isinstance(refused.parsed, model_module.Problem)
        assert {e.code for e in refused.parsed.errors} == {"date_out_of_range"}
        await client.get_async_httpx_client().aclose()
    finally:
        sys.path.remove(str(tmp_path))
        for name in [m for m in sys.modules if m.split(".")[0] == "generated_client"]:
            del sys.modules[name]
