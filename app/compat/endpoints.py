"""HTTP entry point of the national sync format: `POST /v1/compat/dvcqg`."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from app.bodies import invalid, read_batch
from app.compat import service
from app.compat.schemas import SERVICE_NAME, SyncBody, SyncResult
from app.db import SessionDep
from app.errors import AppError
from app.keys.dependencies import IngestKey
from app.metrics import metrics_of
from app.responses import AUTH_ERRORS, TOO_LARGE, hand_read_body

router = APIRouter(prefix="/v1/compat", tags=["national sync"], responses=AUTH_ERRORS)

# error_code values of a body that cannot be read at all (0 is success).
BODY_NOT_JSON = 1
BODY_NOT_SYNC = 2
SERVICE_UNSUPPORTED = 3
TOO_MANY_RECORDS = 4

_DESCRIPTION = f"""
Takes the body one-stop-shop software already sends to the National Public Service Portal
(`{SERVICE_NAME}`): `{{"service": "{SERVICE_NAME}", "isUpdating": true, "data": [record, ...]}}`.

| national field | ours |
|---|---|
| MaHoSo, MaTTHC, TenTTHC, MaLinhVuc, TenLinhVuc | code, procedure_code/name, domain_code/name |
| KenhThucHien 1 / 2 / 3 | channel in_person / online / postal |
| TrangThaiHoSo 1 … 10 | status submitted … returned |
| NgayNopHoSo, NgayTiepNhan, NgayHenTra, NgayKetThucXuLy, NgayTra | submitted_at, received_at, due_at, finished_at, returned_at |
| DonViXuLy | unit_code: a unit code, or a unit's `agency_code` (which wins) |
| MucDo 2 / 3 / 4 | service_level; absent: the procedure's level in the catalog |

Dates are `yyyyMMddHHmmss` in Vietnam time; codes may be numbers or strings; other fields are
ignored. A record whose service level is unknown is rejected (`service_level_unknown`).

Records apply **in arrival order**: each becomes its dossier's newest snapshot. A record
identical to the dossier's current state is a `duplicate` and changes nothing, so replaying a
sync is safe. Each record is checked on its own; `errors[].loc` names the national field.

The answer is national style, `error_code` 0 when the body was read:
`applied + duplicates + len(rejected)` equals the records sent. A body that cannot be used at all
is answered 4xx `application/problem+json` that also carries a non-zero `error_code` and a
`message`: {BODY_NOT_JSON} not JSON, {BODY_NOT_SYNC} not a sync body (no `data` list, or empty),
{SERVICE_UNSUPPORTED} another `service`, {TOO_MANY_RECORDS} more than 5,000 records (413).
Scope `ingest`.
"""


# The national error code of each whole-body problem.
_NATIONAL_CODES = {"json_invalid": BODY_NOT_JSON, "too_long": TOO_MANY_RECORDS}


def _unusable(message: str, loc: list[str | int], code: str) -> AppError:
    """The shared body checks' error, with the national `error_code` and `message` members."""
    error = invalid(message, loc, code)
    error.extensions = {"error_code": _NATIONAL_CODES.get(code, BODY_NOT_SYNC), "message": message}
    return error


def _sync_service(body: dict[str, Any]) -> None:
    service_name = body.get("service", SERVICE_NAME)
    if service_name != SERVICE_NAME:
        message = f"service must be {SERVICE_NAME!r}"
        error = invalid(message, ["body", "service"], "service_unsupported")
        error.extensions = {"error_code": SERVICE_UNSUPPORTED, "message": message}
        raise error


@router.post(
    "/dvcqg",
    summary="Send dossiers in the national sync format (DongBoHoSoMC)",
    description=_DESCRIPTION,
    response_model=SyncResult,
    responses=TOO_LARGE,
    openapi_extra=hand_read_body(SyncBody),
)
async def post_dvcqg(request: Request, session: SessionDep, key: IngestKey) -> SyncResult:
    records = await read_batch(request, "data", fail=_unusable, check_object=_sync_service)
    result = await service.sync_records(session, key, records)
    metrics_of(request).count_events(
        "dvcqg",
        applied=result.applied,
        duplicate=result.duplicates,
        rejected=len(result.rejected),
    )
    return result
