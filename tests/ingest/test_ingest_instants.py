"""Idempotency compares instants, not spellings: every timestamp of an event, written in `Z`
instead of `+07:00` for the same moment, makes a resend a duplicate; another moment, a conflict."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.conftest import event

# Each timestamp of an event, local spelling and the same instant in UTC.
INSTANTS = {
    "submitted_at": ("2017-02-09T12:02:00+07:00", "2017-02-09T05:02:00Z"),
    "received_at": ("2017-02-09T14:00:00+07:00", "2017-02-09T07:00:00Z"),
    "due_at": ("2017-02-14T17:00:00+07:00", "2017-02-14T10:00:00Z"),
    "finished_at": ("2017-02-12T10:00:00+07:00", "2017-02-12T03:00:00Z"),
    "returned_at": ("2017-02-13T08:30:00+07:00", "2017-02-13T01:30:00Z"),
}


def returned_dossier(**spelled: str) -> dict[str, Any]:
    """A returned dossier carrying all five timestamps, local spellings unless overridden."""
    fields = {name: local for name, (local, _) in INSTANTS.items()}
    return event("e1", status="returned", **{**fields, **spelled})


async def post(api: httpx.AsyncClient, item: dict[str, Any]) -> dict[str, Any]:
    response = await api.post("/v1/events", json={"events": [item]})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


@pytest.mark.parametrize("field", list(INSTANTS))
async def test_a_resend_with_one_timestamp_in_utc_is_a_duplicate(
    api: httpx.AsyncClient, field: str
) -> None:
    assert (await post(api, returned_dossier()))["applied"] == 1
    resent = await post(api, returned_dossier(**{field: INSTANTS[field][1]}))
    assert resent == {"applied": 0, "stale": 0, "duplicates": 1, "rejected": []}


@pytest.mark.parametrize("field", list(INSTANTS))
async def test_a_resend_with_one_timestamp_a_second_off_is_a_conflict(
    api: httpx.AsyncClient, field: str
) -> None:
    assert (await post(api, returned_dossier()))["applied"] == 1
    moved = INSTANTS[field][1].removesuffix("0Z") + "1Z"  # one second later
    resent = await post(api, returned_dossier(**{field: moved}))
    assert resent["duplicates"] == 0
    assert [e["code"] for r in resent["rejected"] for e in r["errors"]] == ["event_id_conflict"]


async def test_a_resend_with_every_instant_in_utc_is_a_duplicate(api: httpx.AsyncClient) -> None:
    assert (await post(api, returned_dossier()))["applied"] == 1
    utc = {name: z for name, (_, z) in INSTANTS.items()}
    item = returned_dossier(**utc)
    item["occurred_at"] = "2017-02-10T02:15:00Z"
    assert (await post(api, item))["duplicates"] == 1
