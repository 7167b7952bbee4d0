"""HTTP entry point of the national sync format: `POST /v1/compat/dvcqg`."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import APIRouter, Request

from app.compat import service
from app.compat.schemas import SERVICE_NAME, SyncBody, SyncResult
from app.config import get_settings
from app.db import SessionDep
from app.errors import AppError, PayloadTooLarge, ValidationFailed, field_error
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


def _unusable(error_code: int, message: str, loc: list[str | int], code: str) -> AppError:
    return ValidationFailed(
        message,
        errors=[field_error(loc, message, code)],
        extensions={"error_code": error_code, "message": message},
    )


async def _read_records(request: Request) -> list[Any]:
    """The `data` array of a sync body, checked as a whole (records are checked one by one)."""
    try:
        body = orjson.loads(await request.body())
    except orjson.JSONDecodeError as exc:
        raise _unusable(
            BODY_NOT_JSON, f"body is not valid JSON: {exc}", ["body"], "json_invalid"
        ) from None
    if not isinstance(body, dict):
        raise _unusable(BODY_NOT_SYNC, "body must be an object", ["body"], "object_type")
    service_name = body.get("service", SERVICE_NAME)
    if service_name != SERVICE_NAME:
        raise _unusable(
            SERVICE_UNSUPPORTED,
            f"service must be {SERVICE_NAME!r}",
            ["body", "service"],
            "service_unsupported",
        )
    records = body.get("data")
    if not isinstance(records, list):
        code = "missing" if records is None else "list_type"
        raise _unusable(BODY_NOT_SYNC, "data must be a list of records", ["body", "data"], code)
    if not records:
        raise _unusable(BODY_NOT_SYNC, "data is empty", ["body", "data"], "too_short")
    limit = get_settings().max_events_per_request
    if len(records) > limit:
        message = f"at most {limit} records per request; got {len(records)}"
        raise PayloadTooLarge(
            message,
            errors=[field_error(["body", "data"], message, "too_long")],
            extensions={"error_code": TOO_MANY_RECORDS, "message": message},
        )
    return records


@router.post(
    "/dvcqg",
    summary="Send dossiers in the national sync format (DongBoHoSoMC)",
    description=_DESCRIPTION,
    response_model=SyncResult,
    responses=TOO_LARGE,
    openapi_extra=hand_read_body(SyncBody),
)
async def post_dvcqg(request: Request, session: SessionDep, key: IngestKey) -> SyncResult:
    records = await _read_records(request)
    result = await service.sync_records(session, key, records)
    metrics_of(request).count_events(
        "dvcqg",
        applied=result.applied,
        duplicate=result.duplicates,
        rejected=len(result.rejected),
    )
    return result
