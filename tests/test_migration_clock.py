"""Migration 0006 on stored data: a database at the previous revision with dossiers and an event log upgrades in
place; every dossier gets its handling clock from its logged snapshots and every figure equals
a recount afterwards."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib

import orjson
import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import make_url, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, create_async_engine

from app import migrate
from app.stats import service as stats
from tests.conftest import _recreate_database
from tests.stats.test_summaries import assert_summaries_equal_a_recount
from tests.support import reference
from tests.support.streams import DOMAINS, event_stream

UNITS = [
    ("01", None, "province"),
    ("282", "01", "district"),
    ("10441", "282", "commune"),
    ("10444", "282", "commune"),
    ("10447", "282", "commune"),
    ("10450", "282", "commune"),
    ("10504", "282", "commune"),
    ("99001", None, None),
]


def before_clock(url: str) -> str:
    """The revision the handling clock migration follows: the previous version's schema."""
    script = ScriptDirectory.from_config(migrate.alembic_config(url))
    revision = script.get_revision("0006")
    assert revision is not None and isinstance(revision.down_revision, str)
    return revision.down_revision


@pytest.fixture
async def at_previous(database_url: str) -> str:
    url = make_url(database_url).set(database="dossier_stats_migration_clock")
    rendered = url.render_as_string(hide_password=False)
    await _recreate_database(rendered)
    await asyncio.to_thread(migrate.upgrade, rendered, before_clock(rendered))
    return rendered


_EVENT = text(
    "INSERT INTO dossier_events (source, event_id, api_key_id, dossier_code, occurred_at,"
    " content_hash, stale, payload)"
    " VALUES ('sender', :event_id, 1, :code, :occurred_at, :hash, :stale, CAST(:payload AS jsonb))"
)
_DOSSIER = text(
    "INSERT INTO dossiers (code, procedure_code, domain_code, unit_code, channel, service_level,"
    " status, received_at, due_at, finished_at, returned_at, occurred_at, last_event_id,"
    " event_count)"
    " VALUES (:code, :procedure_code, :domain_code, :unit_code, :channel, :service_level,"
    " :status, :received_at, :due_at, :finished_at, :returned_at, :occurred_at, 0, :events)"
)


def _ts(value: str | None) -> dt.datetime | None:
    return reference.parse(value)


async def _store_as_previous(engine: AsyncEngine, model: reference.Model, stream: list) -> None:
    """Write what the service before 0006 stored for this stream: the log (arrival order) and the
    current states (its own summary triggers keep the v1 summaries)."""
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO api_keys (name, source, key_hash, prefix, scopes)"
                " VALUES ('sender', 'sender', :hash, 'dsk_', ARRAY['ingest'])"
            ),
            {"hash": hashlib.sha256(b"sender").digest()},
        )
        for code in DOMAINS:
            await conn.execute(text("INSERT INTO domains (code) VALUES (:c)"), {"c": code})
        for code, parent, level in UNITS:
            await conn.execute(
                text("INSERT INTO units (code, parent_code, level) VALUES (:c, :p, :l)"),
                {"c": code, "p": parent, "l": level},
            )
        logged: set[str] = set()
        for batch in stream:
            for e in batch:
                if e["event_id"] in logged:
                    continue
                logged.add(e["event_id"])
                code = e["dossier"]["code"]
                newest = model.occurred[code]
                await conn.execute(
                    _EVENT,
                    {
                        "event_id": e["event_id"],
                        "code": code,
                        "occurred_at": _ts(e["occurred_at"]),
                        "hash": hashlib.sha256(orjson.dumps(e)).digest(),
                        "stale": dt.datetime.fromisoformat(e["occurred_at"]) < newest,
                        "payload": orjson.dumps(e).decode(),
                    },
                )
        for code, d in model.states.items():
            await conn.execute(
                _DOSSIER,
                {
                    **{k: d[k] for k in ("procedure_code", "domain_code", "unit_code")},
                    **{k: d[k] for k in ("channel", "status")},
                    "service_level": reference.level(d["service_level"]),
                    **{k: _ts(d[k]) for k in ("received_at", "due_at", "finished_at")},
                    "returned_at": _ts(d["returned_at"]),
                    "code": code,
                    "occurred_at": model.occurred[code],
                    "events": len(model.logs[code]),
                },
            )


async def test_upgrade_gives_stored_dossiers_their_clock_and_exact_figures(
    at_previous: str,
) -> None:
    stream = event_stream(11, dossiers=150)
    model = reference.Model()
    for batch in stream:
        model.send(batch)
    engine = create_async_engine(at_previous)
    try:
        await _store_as_previous(engine, model, stream)
        await asyncio.to_thread(migrate.upgrade, at_previous)

        async with engine.connect() as conn:
            stored = {
                row.code: reference.Clock(row.ended_on, row.paused_days, row.effective_due_on)
                for row in await conn.execute(
                    text("SELECT code, ended_on, paused_days, effective_due_on FROM dossiers")
                )
            }
        clocks = model.clocks()
        assert stored == clocks
        assert sum(c.paused_days > 0 for c in clocks.values()) >= 5  # the log mattered

        await assert_summaries_equal_a_recount(engine)
        levels = {code: level for code, _, level in UNITS}
        states = model.states_with_clock()
        async with AsyncSession(engine) as session:
            for date_from, date_to in [
                (dt.date(2017, 1, 1), dt.date(2017, 12, 31)),
                (dt.date(2017, 4, 1), dt.date(2017, 6, 30)),
                (dt.date(2017, 5, 31), dt.date(2017, 6, 1)),
            ]:
                report = await stats.report06(
                    session,
                    date_from=date_from,
                    date_to=date_to,
                    group_by="domain",
                    unit=None,
                    domain=None,
                )
                expected = reference.report06(
                    states,
                    date_from=date_from,
                    date_to=date_to,
                    group_by="domain",
                    unit_codes=None,
                    domain=None,
                    unit_levels=levels,
                )
                got = [
                    {
                        "code": r.domain_code,
                        "unit_level": r.unit_level,
                        **{k: getattr(r, k) for k in expected["overall"]},
                    }
                    for r in report.rows
                ]
                assert got == expected["rows"]
                assert report.overall.model_dump() == expected["overall"]

        # Down to the previous revision and up again: the data survives, the clock is derived again.
        await asyncio.to_thread(migrate.downgrade, at_previous, before_clock(at_previous))
        await asyncio.to_thread(migrate.upgrade, at_previous)
        async with engine.connect() as conn:
            again = {
                row.code: reference.Clock(row.ended_on, row.paused_days, row.effective_due_on)
                for row in await conn.execute(
                    text("SELECT code, ended_on, paused_days, effective_due_on FROM dossiers")
                )
            }
        assert again == clocks
        await assert_summaries_equal_a_recount(engine)
    finally:
        await engine.dispose()
