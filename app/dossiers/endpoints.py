"""HTTP entry points: `POST /v1/events` (ingest) and `GET /v1/dossiers/{code}` (look-up)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request

from app.bodies import read_batch
from app.db import SessionDep
from app.dossiers import service
from app.dossiers.schemas import DossierOut, EventBatchIn, IngestResult
from app.errors import ValidationFailed, field_error
from app.keys.dependencies import IngestKey, ReadKey
from app.metrics import metrics_of
from app.responses import AUTH_ERRORS, NOT_FOUND, TOO_LARGE, hand_read_body
from app.validation import Code

router = APIRouter(prefix="/v1", responses=AUTH_ERRORS)

_INGEST_DESCRIPTION = """
Stores dossier state snapshots. Each event is validated on its own: invalid ones are listed in
`rejected` (with `index`, `event_id` and `errors`), the valid ones of the same request are stored.

* The newest snapshot of a dossier by `occurred_at` becomes its current state; on equal
  `occurred_at` the later arrival wins. An older snapshot is logged but counted as `stale`.
* The same `event_id` from the same source with the same content is a `duplicate` (nothing
  changes); with different content it is rejected with code `event_id_conflict`.
* A key bound to a unit may send only dossiers of that unit or below it (`unit_not_allowed`).
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


@router.get(
    "/dossiers/{code}",
    tags=["dossiers"],
    summary="Look up a dossier",
    description="The dossier's current state, when the service last changed it, and how many "
    "events its log holds. 404 if unknown. Scope `read`.",
    response_model=DossierOut,
    responses=NOT_FOUND,
)
async def get_dossier(
    code: Annotated[Code, Path(description="The dossier code.")], session: SessionDep, _: ReadKey
) -> DossierOut:
    return await service.get_dossier(session, code)
