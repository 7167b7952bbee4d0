"""The handling clock (contract section 4) through the HTTP stack: what the look-up shows and
what report 06 counts by it."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import event

MARCH = {"from": "2017-03-01", "to": "2017-03-31", "group_by": "unit"}
RECEIVED = "2017-03-01T08:00:00+07:00"
DUE = "2017-03-10T17:00:00+07:00"


def snapshot(event_id: str, occurred_at: str, status: str, **fields: Any) -> dict[str, Any]:
    return event(
        event_id,
        code="C",
        occurred_at=occurred_at,
        status=status,
        received_at=RECEIVED,
        due_at=DUE,
        **fields,
    )


async def send(api: httpx.AsyncClient, *events: dict[str, Any]) -> dict[str, Any]:
    response = await api.post("/v1/events", json={"events": list(events)})
    assert response.status_code == 200, response.text
    return response.json()


async def clock(api: httpx.AsyncClient) -> tuple[Any, Any, Any]:
    d = (await api.get("/v1/dossiers/C")).json()
    return d["ended_on"], d["paused_days"], d["effective_due_on"]


async def march(api: httpx.AsyncClient) -> dict[str, int]:
    response = await api.get("/v1/stats/report-06", params=MARCH)
    assert response.status_code == 200
    return response.json()["overall"]


# Local 2017-03-04 (UTC 03-03) to local 2017-03-08 (UTC 03-08): 4 local days, 5 UTC days.
WAIT = snapshot("wait", "2017-03-04T00:30:00+07:00", "supplement_requested")
RESUME = snapshot("resume", "2017-03-08T10:00:00+07:00", "processing")
FINISH = snapshot("finish", "2017-03-13T09:00:00+07:00", "finished", finished_at=None)


async def test_a_waiting_run_moves_the_due_date_by_local_days(api: httpx.AsyncClient) -> None:
    await send(api, snapshot("start", "2017-03-01T08:00:00+07:00", "received"), WAIT, RESUME)
    assert await clock(api) == (None, 4, "2017-03-14")


async def test_a_dossier_waiting_now_is_never_overdue(api: httpx.AsyncClient) -> None:
    await send(api, snapshot("start", "2017-03-01T08:00:00+07:00", "received"), WAIT)
    assert await clock(api) == (None, 0, None)
    counts = await march(api)
    assert (counts["pending_on_time"], counts["pending_overdue"]) == (1, 0)


async def test_a_late_stale_waiting_snapshot_moves_the_clock_and_the_report(
    api: httpx.AsyncClient,
) -> None:
    await send(api, snapshot("start", "2017-03-01T08:00:00+07:00", "received"), RESUME, FINISH)
    # Ended on 03-13 (no date sent: the first snapshot of the final ending run), due 03-10: late.
    assert await clock(api) == ("2017-03-13", 0, "2017-03-10")
    assert (await march(api))["finished_late"] == 1
    before = dt.datetime.fromisoformat((await api.get("/v1/dossiers/C")).json()["updated_at"])
    result = await send(api, WAIT)  # arrives last, older than the state in force
    assert result["stale"] == 1
    assert await clock(api) == ("2017-03-13", 4, "2017-03-14")
    after = dt.datetime.fromisoformat((await api.get("/v1/dossiers/C")).json()["updated_at"])
    assert after > before
    counts = await march(api)
    assert (counts["finished_early"], counts["finished_late"]) == (1, 0)


async def test_end_date_is_the_start_of_the_final_run_of_ending_statuses(
    api: httpx.AsyncClient,
) -> None:
    await send(
        api,
        snapshot("a", "2017-03-05T09:00:00+07:00", "finished"),
        snapshot("b", "2017-03-06T09:00:00+07:00", "processing"),
        snapshot("c", "2017-03-09T23:59:00+07:00", "finished"),
        snapshot("d", "2017-03-12T09:00:00+07:00", "returned"),
    )
    assert (await clock(api))[0] == "2017-03-09"
    # An ending snapshot that arrives late inside the final run changes nothing.
    await send(api, snapshot("e", "2017-03-10T09:00:00+07:00", "stopped"))
    assert (await clock(api))[0] == "2017-03-09"
    counts = await march(api)
    assert (counts["finished_early"], counts["pending_total"]) == (1, 0)


async def test_dates_of_the_state_in_force_win_over_the_run(api: httpx.AsyncClient) -> None:
    await send(
        api,
        snapshot("a", "2017-03-05T09:00:00+07:00", "finished"),
        snapshot("b", "2017-03-20T09:00:00+07:00", "returned", returned_at="2017-03-18T17:30:00Z"),
    )
    assert (await clock(api))[0] == "2017-03-19"  # local date of returned_at
    assert (await march(api))["finished_late"] == 1


async def test_withdrawn_counts_as_ended_on_time_even_after_the_due_date(
    api: httpx.AsyncClient,
) -> None:
    await send(api, snapshot("w", "2017-03-25T09:00:00+07:00", "withdrawn"))
    assert await clock(api) == ("2017-03-25", 0, "2017-03-10")
    counts = await march(api)
    assert (counts["finished_on_time"], counts["finished_late"], counts["pending_total"]) == (
        1,
        0,
        0,
    )


async def test_stopped_ends_and_is_judged_against_the_due_date(api: httpx.AsyncClient) -> None:
    await send(api, snapshot("s", "2017-03-25T09:00:00+07:00", "stopped"))
    counts = await march(api)
    assert (counts["finished_late"], counts["pending_total"]) == (1, 0)
    april = (
        await api.get(
            "/v1/stats/report-06", params={**MARCH, "from": "2017-04-01", "to": "2017-04-30"}
        )
    ).json()["overall"]
    assert april["carried_over"] == 0


async def test_ties_on_occurred_at_follow_arrival(api: httpx.AsyncClient) -> None:
    same = "2017-03-04T09:00:00+07:00"
    await send(
        api,
        snapshot("first", same, "fees_due"),
        snapshot("second", same, "processing"),
    )
    # fees_due then processing at the same instant: a zero-day run; processing is current.
    assert await clock(api) == (None, 0, "2017-03-10")
    await send(api, snapshot("third", same, "fees_due"))
    assert await clock(api) == (None, 0, None)  # the later arrival is in force: waiting


async def test_a_bulk_loaded_state_without_a_log_still_ends(
    api: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    """A dossier written straight into the table (no event log) keeps its state in the clock when
    a late snapshot arrives through the API."""
    await send(api, snapshot("seed", "2017-03-01T08:00:00+07:00", "received"))
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "UPDATE dossiers SET status = 'returned', occurred_at = '2017-03-12T20:00:00Z'"
                " WHERE code = 'C'"
            )
        )
        await conn.execute(text("DELETE FROM dossier_events WHERE dossier_code = 'C'"))
    result = await send(api, snapshot("late", "2017-03-02T09:00:00+07:00", "processing"))
    assert result["stale"] == 1
    # Ended on the local date of the state in force: 2017-03-13 in Vietnam.
    assert await clock(api) == ("2017-03-13", 0, "2017-03-10")
    assert (await march(api))["finished_late"] == 1


async def test_a_late_national_progress_step_moves_the_clock(api: httpx.AsyncClient) -> None:
    await send(api, snapshot("start", "2017-03-01T08:00:00+07:00", "received"), RESUME, FINISH)
    assert await clock(api) == ("2017-03-13", 0, "2017-03-10")
    # Supplement requested at local 2017-03-04 00:30, sent afterwards as a progress step.
    step = {"MaHoSo": "C", "TrangThai": "5", "ThoiDiemXuLy": "20170304003000"}
    response = await api.post(
        "/v1/compat/dvcqg", json={"service": "CapNhatTienDoHoSoMC", "data": [step]}
    )
    assert response.status_code == 200, response.text
    assert response.json()["rejected"] == []
    assert await clock(api) == ("2017-03-13", 4, "2017-03-14")
    counts = await march(api)
    assert (counts["finished_early"], counts["finished_late"]) == (1, 0)
