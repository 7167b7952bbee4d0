"""HTTP entry point of the write path: `POST /v1/events`."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from app.core.bodies import read_batch
from app.core.observability.metrics import metrics_of
from app.core.openapi import AUTH_ERRORS, TOO_LARGE, hand_read_body
from app.core.problems import ValidationFailed, field_error
from app.db import SessionDep
from app.ingest import service
from app.ingest.schemas import EventBatchIn, IngestResult
from app.keys.dependencies import IngestKey

router = APIRouter(prefix="/v1", responses=AUTH_ERRORS)

_INGEST_DESCRIPTION = """
Stores dossier state snapshots. Each event is validated on its own: invalid ones are listed in
`rejected` (with `index`, `event_id` and `errors`), the valid ones of the same request are stored.

* The newest snapshot of a dossier by `occurred_at` becomes its current state; on equal
  `occurred_at` the later arrival wins. An older snapshot is logged but counted as `stale`.
* The same `event_id` from the same source with the same content is a `duplicate` (nothing
  changes); with different content it is rejected with code `event_id_conflict`.
* A key bound to a unit may send only dossiers of that unit or below it, and may not touch a
  dossier stored under a unit outside that subtree (`unit_not_allowed`).
* An `occurred_at` more than one day ahead of the server's clock is rejected
  (`occurred_at_in_future`).
* Every write recomputes the handling clock of each dossier it touches (`ended_on`,
  `paused_days`, `effective_due_on`) from all its logged snapshots, stale ones included.
* `applied + stale + duplicates + len(rejected)` equals the number of events sent, and every
  statistic reflects the stored events by the time the answer arrives.

Limits: 1–5,000 events, 10 MiB per body (413 beyond). Scope `ingest`.
"""


def _no_other_fields(body: dict[str, Any]) -> None:
    extra = sorted(set(body) - {"events"})
    if extra:
        raise ValidationFailed(
            f"unknown field {extra[0]!r}",
            errors=[field_error(["body", k], "unknown field", "extra_forbidden") for k in extra],
        )


@router.post(
    "/events",
    tags=["ingest"],
    summary="Send dossier events",
    description=_INGEST_DESCRIPTION,
    response_model=IngestResult,
    responses=TOO_LARGE,
    openapi_extra=hand_read_body(EventBatchIn),
)
async def post_events(request: Request, session: SessionDep, key: IngestKey) -> IngestResult:
    events = await read_batch(request, "events", check_object=_no_other_fields)
    result = await service.ingest_events(session, key, events)
    metrics_of(request).count_events(
        "events",
        applied=result.applied,
        stale=result.stale,
        duplicate=result.duplicates,
        rejected=len(result.rejected),
    )
    return result
