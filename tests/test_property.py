"""Every figure the API returns equals a brute-force count over the replayed event stream."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal
from fractions import Fraction

import httpx
import pytest

from tests.support import reference
from tests.support.streams import event_stream

SEEDS = [1, 2, 3]
RANGES = [
    (dt.date(2017, 1, 1), dt.date(2017, 12, 31)),
    (dt.date(2016, 1, 1), dt.date(2018, 12, 31)),
    (dt.date(2017, 3, 1), dt.date(2017, 3, 31)),
    (dt.date(2017, 4, 1), dt.date(2017, 6, 30)),
    (dt.date(2017, 5, 31), dt.date(2017, 6, 1)),
]


async def replay(api: httpx.AsyncClient, seed: int) -> reference.Model:
    """Send the stream; each answer must match the model's counts for that request."""
    model = reference.Model()
    for batch in event_stream(seed):
        expected = model.send(batch)
        response = await api.post("/v1/events", json={"events": batch})
        assert response.status_code == 200, response.text
        assert response.json() == {**expected, "rejected": []}
    return model


async def catalog(api: httpx.AsyncClient) -> tuple[dict[str, str | None], dict[str, Decimal]]:
    units = (await api.get("/v1/units")).json()
    domains = (await api.get("/v1/domains")).json()
    return (
        {u["code"]: u["parent_code"] for u in units},
        {d["code"]: Decimal(str(d["online_target"])) for d in domains},
    )


@pytest.mark.parametrize("seed", SEEDS)
async def test_stored_dossiers_match_the_replayed_stream(api: httpx.AsyncClient, seed: int) -> None:
    model = await replay(api, seed)
    for code, state in model.states.items():
        stored = (await api.get(f"/v1/dossiers/{code}")).json()
        for name in ("status", "domain_code", "unit_code", "channel"):
            assert stored[name] == state[name], (code, name)
        assert stored["service_level"] == reference.level(state["service_level"])
        assert reference.parse(stored["received_at"]) == reference.parse(state["received_at"])


@pytest.mark.parametrize("seed", SEEDS)
async def test_lookup_clock_fields_match_the_model(api: httpx.AsyncClient, seed: int) -> None:
    model = await replay(api, seed)
    seen = {"paused": 0, "ended_without_date": 0, "waiting_due": 0}
    for code, clock in model.clocks().items():
        stored = (await api.get(f"/v1/dossiers/{code}")).json()
        got = (stored["ended_on"], stored["paused_days"], stored["effective_due_on"])
        want = (
            clock.ended_on and clock.ended_on.isoformat(),
            clock.paused_days,
            clock.effective_due_on and clock.effective_due_on.isoformat(),
        )
        assert got == want, (code, model.logs[code])
        state = model.states[code]
        seen["paused"] += clock.paused_days > 0
        seen["ended_without_date"] += clock.ended_on is not None and not (
            state["finished_at"] or state["returned_at"]
        )
        seen["waiting_due"] += state["status"] in reference.WAITING and bool(state["due_at"])
    # The stream really exercised each part of the clock.
    assert all(n >= 5 for n in seen.values()), seen


@pytest.mark.parametrize("seed", SEEDS)
async def test_online_ratio_matches_brute_force(api: httpx.AsyncClient, seed: int) -> None:
    model = await replay(api, seed)
    # A target change must show in meets_target at once.
    await api.put("/v1/domains/DD", json={"name": "Đất đai", "online_target": 0.35})
    parents, targets = await catalog(api)
    rng = random.Random(seed)
    states = list(model.states.values())
    checked_rows = 0
    for _ in range(90):
        date_from, date_to = rng.choice(RANGES)
        params = {
            "from": date_from.isoformat(),
            "to": date_to.isoformat(),
            "basis": rng.choice(["online_capable", "all", "full_online"]),
            "group_by": rng.choice(["domain", "unit", "none"]),
            "period": rng.choice(["none", "month", "quarter", "year"]),
        }
        unit = rng.choice([None, "01", "282", "10444", "99001"])
        domain = rng.choice([None, None, "TP", "G03-GD10"])
        if unit:
            params["unit"] = unit
        if domain:
            params["domain"] = domain
        response = await api.get("/v1/stats/online-ratio", params=params)
        assert response.status_code == 200, response.text
        body = response.json()
        expected = reference.online_ratio(
            states,
            date_from=date_from,
            date_to=date_to,
            basis=params["basis"],
            group_by=params["group_by"],
            period=params["period"],
            unit_codes=reference.subtree(parents, unit) if unit else None,
            domain=domain,
            targets=targets,
        )
        fields = ("period", "domain_code", "unit_code", "online", "total", "target", "meets_target")
        got = [{k: r[k] for k in fields if k in r} for r in body["rows"]]
        want = [{k: r[k] for k in fields if k in r} for r in expected["rows"]]
        assert got == want, params
        for r in body["rows"]:
            assert r["ratio"] == r["online"] / r["total"]
        assert body["overall"]["online"] == expected["overall"]["online"]
        assert body["overall"]["total"] == expected["overall"]["total"]
        checked_rows += len(got)
    assert checked_rows > 100  # the stream really exercised the figures


@pytest.mark.parametrize("seed", SEEDS)
async def test_report06_matches_brute_force(api: httpx.AsyncClient, seed: int) -> None:
    model = await replay(api, seed)
    parents, _ = await catalog(api)
    levels = {u["code"]: u["level"] for u in (await api.get("/v1/units")).json()}
    rng = random.Random(seed * 7)
    states = model.states_with_clock()
    checked_rows = 0
    for date_from, date_to in RANGES:
        for _ in range(6):
            group_by = rng.choice(["domain", "unit"])
            unit = rng.choice([None, "01", "282", "10444", "99001"])
            domain = rng.choice([None, None, "TP", "G03-GD10"])
            params = {
                "from": date_from.isoformat(),
                "to": date_to.isoformat(),
                "group_by": group_by,
            }
            if unit:
                params["unit"] = unit
            if domain:
                params["domain"] = domain
            response = await api.get("/v1/stats/report-06", params=params)
            assert response.status_code == 200, response.text
            body = response.json()
            expected = reference.report06(
                states,
                date_from=date_from,
                date_to=date_to,
                group_by=group_by,
                unit_codes=reference.subtree(parents, unit) if unit else None,
                domain=domain,
                unit_levels=levels,
            )
            code_field = f"{group_by}_code"
            section = ["unit_level"] if group_by == "domain" else []
            got = [
                {
                    "code": r[code_field],
                    **{k: r[k] for k in expected["overall"]},
                    **{k: r[k] for k in section},
                }
                for r in body["rows"]
            ]
            assert got == expected["rows"], params
            assert body["overall"] == expected["overall"], params
            checked_rows += len(got)
    assert checked_rows > 50


@pytest.mark.parametrize("seed", SEEDS)
async def test_indicators_match_brute_force(api: httpx.AsyncClient, seed: int) -> None:
    """Every indicator's numerator and denominator, ratio and points, per group and overall,
    equals the contract's count over the replayed stream; a procedure's eligibility set in the
    catalog moves the `full_online` figures at once."""
    model = await replay(api, seed)
    # One procedure made eligible whatever its level, one not eligible whatever its level.
    assert (
        await api.put(
            "/v1/procedures/1.001193",
            json={
                "name": "A",
                "domain_code": "TP",
                "service_level": 3,
                "full_online_eligible": True,
            },
        )
    ).status_code == 200
    assert (
        await api.put(
            "/v1/procedures/2.002492",
            json={
                "name": "B",
                "domain_code": "TP",
                "service_level": "full",
                "full_online_eligible": False,
            },
        )
    ).status_code == 200
    levels = dict(model.procedure_levels)
    eligible = {code: lvl == 4 for code, lvl in levels.items()}
    eligible.update({"1.001193": True, "2.002492": False})
    listed = {p["code"]: p for p in (await api.get("/v1/procedures")).json()}
    assert {c: listed[c]["full_online_eligible"] for c in eligible} == eligible
    parents, _ = await catalog(api)
    rng = random.Random(seed * 11)
    states = model.states_with_clock()
    seen_nonzero: set[str] = set()
    for date_from, date_to in RANGES:
        for _ in range(5):
            group_by = rng.choice(["none", "unit", "domain"])
            unit = rng.choice([None, "01", "282", "10444", "99001"])
            domain = rng.choice([None, None, "TP", "G03-GD10"])
            params = {
                "from": date_from.isoformat(),
                "to": date_to.isoformat(),
                "group_by": group_by,
            }
            if unit:
                params["unit"] = unit
            if domain:
                params["domain"] = domain
            response = await api.get("/v1/stats/indicators", params=params)
            assert response.status_code == 200, response.text
            body = response.json()
            expected = reference.indicators(
                states,
                date_from=date_from,
                date_to=date_to,
                group_by=group_by,
                unit_codes=reference.subtree(parents, unit) if unit else None,
                domain=domain,
                eligible=eligible,
            )
            want_groups = {
                key: found
                for key, found in expected["groups"].items()
                if any(den for _, den in found.values())
            }
            got_groups: dict[str | None, dict[str, tuple[int, int]]] = {}
            for row in body["rows"]:
                key = row.get("domain_code") or row.get("unit_code")
                got_groups.setdefault(key, {})[row["indicator"]] = (
                    row["numerator"],
                    row["denominator"],
                )
                points = reference.points(row["indicator"], row["numerator"], row["denominator"])
                assert row["points"] == (None if points is None else float(points)), row
                if row["denominator"]:
                    assert row["ratio"] == row["numerator"] / row["denominator"]
                    if row["numerator"]:
                        seen_nonzero.add(row["indicator"])
                else:
                    assert row["ratio"] is None
            assert got_groups == want_groups, params
            order = [r["indicator"] for r in body["rows"]]
            assert order == [name for _ in want_groups for name, _, _ in reference.SCORING]
            overall = {
                v["indicator"]: (v["numerator"], v["denominator"])
                for v in body["overall"]["indicators"]
            }
            assert overall == expected["overall"], params
            total = sum(
                (
                    p
                    for name, (num, den) in overall.items()
                    if (p := reference.points(name, num, den)) is not None
                ),
                Fraction(0),
            )
            assert body["overall"]["total_points"] == float(total)
    # The streams exercised every indicator with a non-zero numerator.
    assert seen_nonzero == {name for name, _, _ in reference.SCORING}
