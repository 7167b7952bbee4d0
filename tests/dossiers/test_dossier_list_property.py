"""For random streams and filters, every figure's list of dossiers agrees with the figure the
statistics endpoints answer and with the brute-force reference model."""

from __future__ import annotations

import datetime as dt
import random
from collections import defaultdict
from typing import Any

import httpx
import pytest

from tests.support import reference
from tests.support.streams import event_stream
from tests.test_property import RANGES

SEEDS = [1, 2, 3]
REPORT06_FIGURES = [
    "received_online",
    "received_offline",
    "carried_over",
    "received_total",
    "finished_early",
    "finished_on_time",
    "finished_late",
    "finished_total",
    "pending_on_time",
    "pending_overdue",
    "pending_total",
]
BASES = ["online_capable", "all", "full_online"]
INDICATORS = [
    "on_time",
    "online_filing",
    "full_online",
    "online_payment",
    "e_result",
    "digitized",
    "reused_data",
    "online_on_time",
]
INDICATOR_FIGURES = [f"{i}.{side}" for i in INDICATORS for side in ("numerator", "denominator")]
# Each procedure of the streams, set in the catalog before the stream with its eligibility for
# fully online service (so every dossier's eligibility is known whatever the arrival order).
ELIGIBLE = {"1.001193": True, "2.002492": False, "1.000894": True}


def with_scorecard_inputs(event: dict[str, Any]) -> None:
    """Give the event's snapshot random scorecard inputs (contract section 4, v2), the same for
    every copy of the event (drawn from its id), so a resend stays a duplicate."""
    rng = random.Random(event["event_id"])
    dossier = event["dossier"]
    dossier["fee_amount"] = rng.choice([0, 0, 15000, 50000.5])
    dossier["paid_online"] = rng.choice(["no", "national_portal", "local_gateway", "other"])
    dossier["digitized"] = rng.random() < 0.5
    dossier["reused_data"] = rng.random() < 0.3
    dossier["e_result"] = rng.random() < 0.5


async def replay(api: httpx.AsyncClient, seed: int) -> reference.Model:
    """Set the procedures' eligibility, then send the stream with scorecard inputs."""
    for code, eligible in ELIGIBLE.items():
        body = {
            "name": code,
            "domain_code": "TP",
            "service_level": 4 if eligible else 3,
            "unit_levels": ["district", "commune"],
            "full_online_eligible": eligible,
        }
        response = await api.put(f"/v1/procedures/{code}", json=body)
        assert response.status_code in (200, 201), response.text
    model = reference.Model()
    for batch in event_stream(seed):
        for e in batch:
            with_scorecard_inputs(e)
        expected = model.send(batch)
        response = await api.post("/v1/events", json={"events": batch})
        assert response.status_code == 200, response.text
        assert response.json() == {**expected, "rejected": []}
    return model


# Month ends on either side: report 06 columns change exactly there.
LIST_RANGES = [
    *RANGES,
    (dt.date(2017, 1, 31), dt.date(2017, 2, 28)),
    (dt.date(2017, 2, 1), dt.date(2017, 2, 1)),
]


async def all_pages(api: httpx.AsyncClient, params: dict[str, Any]) -> tuple[int, list[str]]:
    """`count` of the first page and every code of every page, following `next_cursor`."""
    codes: list[str] = []
    count = None
    query = dict(params)
    while True:
        response = await api.get("/v1/dossiers", params=query)
        assert response.status_code == 200, (params, response.text)
        body = response.json()
        assert count is None or body["count"] == count
        count = body["count"]
        assert len(body["items"]) <= query["limit"]
        codes += [item["code"] for item in body["items"]]
        if body["next_cursor"] is None:
            return count, codes
        assert len(body["items"]) == query["limit"]
        query["cursor"] = body["next_cursor"]


def report06_figure(body: dict[str, Any], figure: str, filters: dict[str, Any]) -> int:
    """The figure as report 06 answers it for the filters: the overall line, the row of the
    exact unit (group_by=unit), or the rows of one level's section (group_by=domain)."""
    rows = body["rows"]
    if "unit_exact" in filters:
        rows = [r for r in rows if r["unit_code"] == filters["unit_exact"]]
    if "unit_level" in filters:
        rows = [r for r in rows if r["unit_level"] == filters["unit_level"]]
    if "unit_exact" in filters or "unit_level" in filters:
        return sum(r[figure] for r in rows)
    value: int = body["overall"][figure]
    return value


def random_filters(rng: random.Random) -> dict[str, Any]:
    filters: dict[str, Any] = {}
    unit = rng.choice([None, None, "01", "282", "10444", "99001"])
    if unit:
        filters["unit"] = unit
    roll = rng.random()
    if roll < 0.3:
        filters["unit_exact"] = rng.choice(["282", "10441", "10444", "01", "99001"])
    elif roll < 0.6:
        filters["unit_level"] = rng.choice(["province", "district", "commune"])
    domain = rng.choice([None, None, "TP", "DD", "G03-GD10"])
    if domain:
        filters["domain"] = domain
    return filters


@pytest.mark.parametrize("seed", SEEDS)
async def test_every_figure_lists_exactly_its_dossiers(api: httpx.AsyncClient, seed: int) -> None:
    model = await replay(api, seed)
    units = (await api.get("/v1/units")).json()
    parents = {u["code"]: u["parent_code"] for u in units}
    levels = {u["code"]: u["level"] for u in units}
    states = model.states_with_clock()
    rng = random.Random(seed * 11)
    checked = nonempty = 0
    listed: dict[str, int] = defaultdict(int)
    for date_from, date_to in LIST_RANGES:
        for _ in range(3):
            filters = random_filters(rng)
            dates = {"from": date_from.isoformat(), "to": date_to.isoformat()}
            kept = [
                d
                for d in states
                if (
                    "unit" not in filters
                    or d["unit_code"] in reference.subtree(parents, filters["unit"])
                )
                and ("unit_exact" not in filters or d["unit_code"] == filters["unit_exact"])
                and (
                    "unit_level" not in filters
                    or levels.get(d["unit_code"]) == filters["unit_level"]
                )
                and ("domain" not in filters or d["domain_code"] == filters["domain"])
            ]
            report_query = {
                **dates,
                **{k: v for k, v in filters.items() if k in ("unit", "domain")},
                "group_by": "unit" if "unit_exact" in filters else "domain",
            }
            report = (await api.get("/v1/stats/report-06", params=report_query)).json()
            variants: list[tuple[str, str | None]] = [(f, None) for f in REPORT06_FIGURES]
            variants += [(f, basis) for f in ("online", "total") for basis in BASES]
            variants += [(f, None) for f in INDICATOR_FIGURES]
            for figure, basis in variants:
                params = {**dates, **filters, "figure": figure, "limit": rng.choice([1, 3, 7])}
                if basis:
                    params["basis"] = basis
                count, codes = await all_pages(api, params)
                expected = reference.figure_dossiers(
                    kept,
                    figure,
                    date_from=date_from,
                    date_to=date_to,
                    basis=basis or "online_capable",
                    eligible=ELIGIBLE,
                )
                assert len(codes) == len(set(codes)), params  # no dossier twice
                assert codes == sorted(codes, key=str.encode), params  # byte order
                assert set(codes) == expected, params
                assert count == len(expected), params
                if figure in INDICATOR_FIGURES:
                    if "unit_level" not in filters:  # the scorecard has no level filter
                        scorecard_query = {
                            **dates,
                            **{k: v for k, v in filters.items() if k in ("unit", "domain")},
                            "group_by": "unit" if "unit_exact" in filters else "none",
                        }
                        board = (
                            await api.get("/v1/stats/indicators", params=scorecard_query)
                        ).json()
                        name, side = figure.split(".")
                        if "unit_exact" in filters:
                            value = sum(
                                r[side]
                                for r in board["rows"]
                                if r["unit_code"] == filters["unit_exact"]
                                and r["indicator"] == name
                            )
                        else:
                            value = sum(
                                v[side]
                                for v in board["overall"]["indicators"]
                                if v["indicator"] == name
                            )
                        assert count == value, params
                elif basis is None:
                    assert count == report06_figure(report, figure, filters), params
                elif "unit_level" not in filters:  # the ratio has no level filter
                    ratio_query = {
                        **dates,
                        **{k: v for k, v in filters.items() if k in ("unit", "domain")},
                        "basis": basis,
                        "group_by": "unit" if "unit_exact" in filters else "none",
                    }
                    ratio = (await api.get("/v1/stats/online-ratio", params=ratio_query)).json()
                    rows = ratio["rows"]
                    if "unit_exact" in filters:
                        value = sum(
                            r[figure] for r in rows if r["unit_code"] == filters["unit_exact"]
                        )
                    else:
                        value = ratio["overall"][figure]
                    assert count == value, params
                checked += 1
                nonempty += bool(codes)
                listed[figure] += len(codes)
    # The streams really exercised the figures.
    assert checked == len(LIST_RANGES) * 3 * (17 + len(INDICATOR_FIGURES))
    assert nonempty > checked // 4, (nonempty, checked)
    assert all(listed[f] > 0 for f, _ in variants), listed  # every figure listed some dossier
