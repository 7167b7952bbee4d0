"""The edges of a period, each pinned by a case written for its rule (not only by the seeded
random streams): a `to` on the 1st of a month, 1 January and the quarter edges, a dossier that
ends on `from` or `to` or is due on `to`, and the ending status `stopped`."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.conftest import event


async def send(api: httpx.AsyncClient, *events: dict[str, Any]) -> None:
    response = await api.post("/v1/events", json={"events": list(events)})
    assert response.status_code == 200 and not response.json()["rejected"], response.text


async def get(api: httpx.AsyncClient, path: str, **params: str) -> dict[str, Any]:
    response = await api.get(path, params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def report06(api: httpx.AsyncClient, date_from: str, date_to: str) -> dict[str, Any]:
    body = await get(api, "/v1/stats/report-06", **{"from": date_from, "to": date_to})
    overall: dict[str, Any] = body["overall"]
    return overall


def received(day: str, **fields: Any) -> dict[str, Any]:
    """A dossier received at 08:00 local time on `day`, in person unless told."""
    code = fields.pop("code", "D" + day)
    return event("e" + code, code=code, received_at=f"{day}T08:00:00+07:00", **fields)


# --- a `to` on the 1st of a month, after whole months (range split: `end <= date_to`) ----------


@pytest.mark.parametrize(
    ("date_from", "date_to"),
    [("2017-01-01", "2017-03-01"), ("2017-01-15", "2017-03-01"), ("2017-02-01", "2017-03-01")],
)
async def test_a_to_on_the_first_of_a_month_counts_that_day(
    api: httpx.AsyncClient, date_from: str, date_to: str
) -> None:
    await send(
        api,
        received("2017-02-20", channel="online"),
        received("2017-03-01", channel="online"),
        received("2017-03-02", channel="online"),  # the day after `to`: never counted
    )
    ratio = await get(
        api, "/v1/stats/online-ratio", **{"from": date_from, "to": date_to, "group_by": "none"}
    )
    assert (ratio["overall"]["online"], ratio["overall"]["total"]) == (2, 2)
    overall = await report06(api, date_from, date_to)
    assert (overall["received_online"], overall["received_total"]) == (2, 2)


async def test_a_range_of_one_first_of_the_month_counts_that_day(api: httpx.AsyncClient) -> None:
    await send(api, received("2017-03-01"), received("2017-02-28"))
    ratio = await get(
        api,
        "/v1/stats/online-ratio",
        **{"from": "2017-03-01", "to": "2017-03-01", "group_by": "none"},
    )
    assert ratio["overall"]["total"] == 1


# --- period labels at 1 January and the quarter edges ------------------------------------------


EDGE_DAYS = [
    ("2016-12-31", "2016-12", "2016-Q4", "2016"),
    ("2017-01-01", "2017-01", "2017-Q1", "2017"),
    ("2017-03-31", "2017-03", "2017-Q1", "2017"),
    ("2017-04-01", "2017-04", "2017-Q2", "2017"),
    ("2017-06-30", "2017-06", "2017-Q2", "2017"),
    ("2017-07-01", "2017-07", "2017-Q3", "2017"),
    ("2017-09-30", "2017-09", "2017-Q3", "2017"),
    ("2017-10-01", "2017-10", "2017-Q4", "2017"),
    ("2017-12-31", "2017-12", "2017-Q4", "2017"),
    ("2018-01-01", "2018-01", "2018-Q1", "2018"),
]


@pytest.mark.parametrize(("day", "month", "quarter", "year"), EDGE_DAYS)
async def test_labels_of_edge_days(
    api: httpx.AsyncClient, day: str, month: str, quarter: str, year: str
) -> None:
    # Just after local midnight: 17:00-something UTC the day before.
    await send(api, event("e", code="D", received_at=f"{day}T00:05:00+07:00"))
    for period, label in (("month", month), ("quarter", quarter), ("year", year)):
        body = await get(
            api,
            "/v1/stats/online-ratio",
            **{"from": "2016-01-01", "to": "2018-12-31", "group_by": "none", "period": period},
        )
        assert [(r["period"], r["total"]) for r in body["rows"]] == [(label, 1)], period


async def test_every_quarter_edge_in_one_year(api: httpx.AsyncClient) -> None:
    await send(api, *(received(day) for day, *_ in EDGE_DAYS))
    body = await get(
        api,
        "/v1/stats/online-ratio",
        **{"from": "2016-12-31", "to": "2018-01-01", "group_by": "none", "period": "quarter"},
    )
    assert [(r["period"], r["total"]) for r in body["rows"]] == [
        ("2016-Q4", 1),
        ("2017-Q1", 2),
        ("2017-Q2", 2),
        ("2017-Q3", 2),
        ("2017-Q4", 2),
        ("2018-Q1", 1),
    ]


# --- report 06: a dossier that ends on `from` or `to`, or is due on `to` -----------------------

Q1 = ("2017-01-01", "2017-03-31")


async def test_a_dossier_finished_on_from_is_carried_over_and_finished(
    api: httpx.AsyncClient,
) -> None:
    await send(
        api,
        received(
            "2016-12-20",
            status="finished",
            due_at="2017-01-01T17:00:00+07:00",
            finished_at="2017-01-01T09:00:00+07:00",
        ),
    )
    overall = await report06(api, *Q1)
    assert overall["carried_over"] == 1 and overall["received_total"] == 1
    assert (overall["finished_total"], overall["finished_on_time"]) == (1, 1)
    assert overall["pending_total"] == 0
    # The day before: it ended after that period, so it is pending there (and on time).
    before = await report06(api, "2016-12-01", "2016-12-31")
    assert (before["received_total"], before["finished_total"]) == (1, 0)
    assert (before["pending_total"], before["pending_on_time"]) == (1, 1)


async def test_a_dossier_finished_the_day_before_from_is_not_carried_over(
    api: httpx.AsyncClient,
) -> None:
    await send(
        api,
        received("2016-12-20", status="finished", finished_at="2016-12-31T23:30:00+07:00"),
    )
    overall = await report06(api, *Q1)
    assert overall == {**overall, "received_total": 0, "carried_over": 0, "finished_total": 0}


async def test_a_dossier_finished_on_to_is_finished_not_pending(api: httpx.AsyncClient) -> None:
    await send(
        api,
        received(
            "2017-03-01",
            status="finished",
            due_at="2017-03-30T17:00:00+07:00",
            finished_at="2017-03-31T16:00:00+07:00",
        ),
    )
    overall = await report06(api, *Q1)
    assert (overall["finished_total"], overall["finished_late"]) == (1, 1)
    assert overall["pending_total"] == 0
    # Ending the day after `to`: pending at the end of that period, on time (due on `to`).
    march = await report06(api, "2017-03-01", "2017-03-30")
    assert march["finished_total"] == 0
    assert (march["pending_total"], march["pending_overdue"]) == (1, 0)


async def test_a_pending_dossier_due_on_to_is_on_time_and_overdue_the_day_after(
    api: httpx.AsyncClient,
) -> None:
    await send(api, received("2017-03-01", due_at="2017-03-31T17:00:00+07:00"))
    on_to = await report06(api, *Q1)
    assert (on_to["pending_total"], on_to["pending_on_time"], on_to["pending_overdue"]) == (1, 1, 0)
    after = await report06(api, "2017-01-01", "2017-04-01")
    assert (after["pending_total"], after["pending_on_time"], after["pending_overdue"]) == (1, 0, 1)


async def test_finished_on_its_due_date_is_on_time_a_day_later_late(
    api: httpx.AsyncClient,
) -> None:
    due = "2017-02-10T17:00:00+07:00"
    await send(
        api,
        received("2017-02-01", code="EARLY", status="finished", due_at=due,
                 finished_at="2017-02-09T23:00:00+07:00"),
        received("2017-02-01", code="ONTIME", status="finished", due_at=due,
                 finished_at="2017-02-10T23:00:00+07:00"),
        received("2017-02-01", code="LATE", status="finished", due_at=due,
                 finished_at="2017-02-11T00:30:00+07:00"),
    )  # fmt: skip
    overall = await report06(api, *Q1)
    assert (
        overall["finished_early"],
        overall["finished_on_time"],
        overall["finished_late"],
    ) == (1, 1, 1)


# --- the ending status `stopped` ---------------------------------------------------------------


async def test_stopped_ends_a_dossier_and_is_judged_by_its_dates(api: httpx.AsyncClient) -> None:
    await send(
        api,
        # stopped after its due date: late (unlike `withdrawn`, which is always on time)
        received(
            "2017-02-01",
            code="S1",
            status="stopped",
            due_at="2017-02-10T17:00:00+07:00",
            finished_at="2017-02-15T10:00:00+07:00",
        ),
        # stopped without any date: ends on the date of its snapshot, no longer pending
        received("2017-02-01", code="S2", status="stopped", due_at="2017-02-10T17:00:00+07:00"),
        received(
            "2017-02-01",
            code="W1",
            status="withdrawn",
            due_at="2017-02-10T17:00:00+07:00",
            finished_at="2017-02-15T10:00:00+07:00",
        ),
    )
    overall = await report06(api, *Q1)
    assert overall["received_total"] == 3
    assert overall["finished_total"] == 3 and overall["pending_total"] == 0
    # S1 late; S2 ended on 2017-02-10 (occurred_at) = its due date: on time; W1 on time.
    assert (overall["finished_early"], overall["finished_on_time"], overall["finished_late"]) == (
        0,
        2,
        1,
    )
    dossier = (await api.get("/v1/dossiers/S2")).json()
    assert (dossier["status"], dossier["ended_on"]) == ("stopped", "2017-02-10")


async def test_stopped_counts_in_the_ratio_like_any_received_dossier(
    api: httpx.AsyncClient,
) -> None:
    await send(api, received("2017-02-01", code="S1", status="stopped", channel="online"))
    ratio = await get(
        api,
        "/v1/stats/online-ratio",
        **{"from": "2017-01-01", "to": "2017-12-31", "group_by": "none"},
    )
    assert (ratio["overall"]["online"], ratio["overall"]["total"]) == (1, 1)


# --- the range itself: one day is a range, a `from` one day after `to` is not ----------------


@pytest.mark.parametrize("path", ["/v1/stats/online-ratio", "/v1/stats/report-06"])
async def test_from_one_day_after_to_is_422_and_from_equal_to_is_one_day(
    api: httpx.AsyncClient, path: str
) -> None:
    reversed_range = await api.get(path, params={"from": "2017-03-02", "to": "2017-03-01"})
    assert reversed_range.status_code == 422
    assert reversed_range.headers["content-type"] == "application/problem+json"
    [error] = reversed_range.json()["errors"]
    assert (error["loc"], error["code"]) == (["query", "from"], "date_range")
    one_day = await api.get(path, params={"from": "2017-03-01", "to": "2017-03-01"})
    assert one_day.status_code == 200, one_day.text


async def test_a_refused_dossier_counts_nowhere_even_with_a_receipt_date(
    api: httpx.AsyncClient,
) -> None:
    await send(
        api,
        received("2017-02-01", code="R1", status="refused", channel="online"),
        received("2017-02-01", code="S1", status="submitted", channel="online"),
        received("2017-02-01", code="P1", channel="online"),
    )
    overall = await report06(api, *Q1)
    assert (overall["received_total"], overall["received_online"]) == (1, 1)
    assert overall["pending_total"] == 1 and overall["finished_total"] == 0
    ratio = await get(
        api,
        "/v1/stats/online-ratio",
        **{"from": "2017-01-01", "to": "2017-12-31", "group_by": "none", "basis": "all"},
    )
    assert (ratio["overall"]["online"], ratio["overall"]["total"]) == (1, 1)
