"""The national mapping, pinned code by code: TrangThaiHoSo 1 … 10 in the contract's order, and
the unit-bound check made on the unit that DonViXuLy resolves to, not on the text sent."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from app.vocabulary import STATUSES
from tests.conftest import MakeKey, bearer
from tests.ingest.national.test_national_senders import (
    dossier,
    envelope,
    name_the_agencies,
    post,
    record,
)

# Contract section 4: "TrangThaiHoSo 1 … 10 in this order", written out rather than derived.
STATUS_CODES = {
    1: "submitted",
    2: "received",
    3: "refused",
    4: "processing",
    5: "supplement_requested",
    6: "fees_due",
    7: "withdrawn",
    8: "stopped",
    9: "finished",
    10: "returned",
}


def test_the_status_table_is_the_contracts_order() -> None:
    assert dict(enumerate(STATUSES, start=1)) == STATUS_CODES


@pytest.mark.parametrize(("code", "status"), list(STATUS_CODES.items()))
@pytest.mark.parametrize("spelled", [str, int])
async def test_each_status_code_maps_to_its_status(
    api: httpx.AsyncClient, code: int, status: str, spelled: type
) -> None:
    answer = await post(api, envelope(record("S1", TrangThaiHoSo=spelled(code))))
    assert answer["applied"] == 1, answer
    assert (await dossier(api, "S1"))["status"] == status


@pytest.mark.parametrize("code", ["0", "11", "-1", "7.5"])
async def test_a_status_code_outside_1_to_10_is_rejected_naming_the_field(
    api: httpx.AsyncClient, code: str
) -> None:
    answer = await post(api, envelope(record("S1", TrangThaiHoSo=code)))
    assert answer["applied"] == 0
    [rejected] = answer["rejected"]
    assert rejected["errors"][0]["loc"] == ["data", 0, "TrangThaiHoSo"]


@pytest.mark.parametrize(
    "sent",
    [
        "10444",  # the unit code itself
        "Xã Đồng Tâm",  # its name
        "UBND xã Đồng Tâm",  # an alias
    ],
)
async def test_a_unit_bound_key_may_name_its_unit_any_way_the_resolver_knows(
    client: httpx.AsyncClient, make_key: MakeKey, sent: str
) -> None:
    client.headers.update(bearer(await make_key("admin")))
    await name_the_agencies(client)
    client.headers.update(bearer(await make_key("ingest", "read", unit="10444")))
    answer = await post(client, envelope(record("U1", DonViXuLy=sent)))
    assert (answer["applied"], answer["rejected"]) == (1, [])
    assert (await dossier(client, "U1"))["unit_code"] == "10444"


async def test_a_district_key_may_send_its_communes_by_agency_code_and_name(
    client: httpx.AsyncClient, make_key: MakeKey
) -> None:
    client.headers.update(bearer(await make_key("admin")))
    await name_the_agencies(client)
    client.headers.update(bearer(await make_key("ingest", "read", unit="282")))
    answer = await post(
        client,
        envelope(
            record("U1", DonViXuLy="000.00.31.H26"),  # Mỹ Đức's agency code
            record("U2", DonViXuLy="Bộ phận TN&TKQ xã Đồng Tâm"),  # a commune below, by alias
        ),
    )
    assert (answer["applied"], answer["rejected"]) == (2, [])
    assert (await dossier(client, "U1"))["unit_code"] == "282"
    assert (await dossier(client, "U2"))["unit_code"] == "10444"


async def test_a_unit_bound_key_may_not_send_another_unit_by_its_name(
    client: httpx.AsyncClient, make_key: MakeKey
) -> None:
    client.headers.update(bearer(await make_key("admin")))
    await name_the_agencies(client)
    client.headers.update(bearer(await make_key("ingest", "read", unit="10441")))
    answer: dict[str, Any] = await post(client, envelope(record("U1", DonViXuLy="Xã Đồng Tâm")))
    assert answer["applied"] == 0
    [rejected] = answer["rejected"]
    assert (rejected["errors"][0]["loc"], rejected["errors"][0]["code"]) == (
        ["data", 0, "DonViXuLy"],
        "unit_not_allowed",
    )
    assert (await client.get("/v1/dossiers/U1")).status_code == 404
