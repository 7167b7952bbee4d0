"""Response bodies of the dossier look-up and the dossiers behind a figure (the read side)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from app.ingest.schemas import EVENT_EXAMPLE, DossierFields

DOSSIER_OUT_EXAMPLE: dict[str, Any] = {
    **EVENT_EXAMPLE["dossier"],
    "occurred_at": "2017-02-10T02:15:00Z",
    "updated_at": "2017-02-10T02:15:03Z",
    "events": 3,
    "ended_on": None,
    "paused_days": 0,
    "effective_due_on": "2017-02-14",
}


class DossierOut(DossierFields):
    """A dossier's current state."""

    model_config = ConfigDict(json_schema_extra={"examples": [DOSSIER_OUT_EXAMPLE]})

    occurred_at: dt.datetime = Field(description="`occurred_at` of the snapshot in force.")
    updated_at: dt.datetime = Field(description="When the service last changed this dossier.")
    events: int = Field(description="How many events the log holds for this dossier.")
    ended_on: dt.date | None = Field(
        default=None,
        description="The end date (local): set when the status is finished, returned, withdrawn or"
        " stopped; the date of `finished_at`, else of `returned_at`, else of the first snapshot of"
        " the final run of ending statuses.",
    )
    paused_days: int = Field(
        default=0,
        description="Days the clock stood still in waiting runs (supplement_requested, fees_due)"
        " already followed by another snapshot, counted between local dates.",
    )
    effective_due_on: dt.date | None = Field(
        default=None,
        description="The local date of `due_at` plus `paused_days`; null without `due_at` or while"
        " the dossier waits for the applicant.",
    )


class DossierList(BaseModel):
    """The dossiers behind a figure: one page, in code byte order."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "figure": "pending_overdue",
                    "count": 315,
                    "items": [DOSSIER_OUT_EXAMPLE],
                    "next_cursor": "azE6MDAwLjI4LjMxLkgyNi0xNzAyMDktMDAwMQ",
                }
            ]
        }
    )

    figure: str = Field(description="The figure asked for.")
    count: int = Field(
        description="The figure's value for the same filters: exactly how many dossiers the"
        " pages together list."
    )
    items: list[DossierOut] = Field(
        description="At most `limit` dossiers, ordered by `code` bytes."
    )
    next_cursor: str | None = Field(
        description="Send as `cursor` for the next page; null on the last page."
    )
