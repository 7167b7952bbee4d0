"""Issue 13 item 7: concurrent `PUT /v1/units` cannot make the unit tree loop."""

from __future__ import annotations

import asyncio

import httpx


def _loops(parents: dict[str, str | None]) -> list[str]:
    """Units from which following `parent_code` never reaches the root."""
    looping = []
    for start in parents:
        seen: set[str] = set()
        unit: str | None = start
        while unit is not None and unit not in seen:
            seen.add(unit)
            unit = parents.get(unit)
        if unit is not None:
            looping.append(start)
    return looping


async def test_concurrent_reparenting_cannot_make_a_cycle(api: httpx.AsyncClient) -> None:
    rounds = 12
    for n in range(rounds):
        for code in (f"A{n}", f"B{n}"):
            body = {"name": code, "parent_code": "282", "level": "commune"}
            assert (await api.put(f"/v1/units/{code}", json=body)).status_code == 201
    swaps = []
    for n in range(rounds):
        a_under_b = {"name": "a", "parent_code": f"B{n}", "level": "commune"}
        b_under_a = {"name": "b", "parent_code": f"A{n}", "level": "commune"}
        swaps += [
            api.put(f"/v1/units/A{n}", json=a_under_b),
            api.put(f"/v1/units/B{n}", json=b_under_a),
        ]
    answers = await asyncio.gather(*swaps)
    for n in range(rounds):
        pair = sorted(r.status_code for r in answers[2 * n : 2 * n + 2])
        assert pair == [200, 422], [r.text for r in answers[2 * n : 2 * n + 2]]
    refused = [r.json() for r in answers if r.status_code == 422]
    assert {e["code"] for p in refused for e in p["errors"]} == {"unit_cycle"}
    units = (await api.get("/v1/units")).json()
    assert _loops({u["code"]: u["parent_code"] for u in units}) == []
