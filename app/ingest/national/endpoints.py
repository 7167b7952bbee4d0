"""HTTP entry point of the national sync format: `POST /v1/compat/dvcqg`."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from app.core.bodies import invalid, read_batch
from app.core.observability.metrics import metrics_of
from app.core.openapi import AUTH_ERRORS, TOO_LARGE
from app.core.problems import AppError
from app.db import SessionDep
from app.ingest.national import service
from app.ingest.national.schemas import (
    PROGRESS_SERVICE,
    RECORD_EXAMPLE,
    SENDER_RECORD_EXAMPLE,
    SERVICE_NAME,
    SERVICES,
    STEP_EXAMPLE,
    SyncResult,
)
from app.keys.dependencies import IngestKey

router = APIRouter(prefix="/v1/compat", tags=["national sync"], responses=AUTH_ERRORS)

# error_code values of a body that cannot be read at all (0 is success).
BODY_NOT_JSON = 1
BODY_NOT_SYNC = 2
SERVICE_UNSUPPORTED = 3
TOO_MANY_RECORDS = 4

_DESCRIPTION = f"""
Takes the body one-stop-shop software already sends to the National Public Service Portal:
`{{"service": "{SERVICE_NAME}", "isUpdating": true, "data": [record, ...]}}` (other top-level
fields such as `session` or `madonvi` are ignored), **or the bare list of records**
`[record, ...]` with `service`, `isUpdating` and `MaDinhDanhDV` in the query string
(`?service={SERVICE_NAME}&isUpdating=false&MaDinhDanhDV=000.00.31.H26`). `service` in the body
wins over the query's; default `{SERVICE_NAME}`.

**`{SERVICE_NAME}`: dossier records.**

| national field | ours |
|---|---|
| MaHoSo, MaTTHC, TenTTHC, MaLinhVuc, TenLinhVuc | code, procedure_code/name, domain_code/name |
| KenhThucHien 1 / 2 / 3 | channel in_person / online / postal; absent: in_person |
| TrangThaiHoSo 1 … 10 | status submitted … returned |
| NgayNopHoSo, NgayTiepNhan, NgayHenTra, NgayKetThucXuLy, NgayTra | submitted_at, received_at, due_at, finished_at, returned_at |
| DonViXuLy | unit_code: a unit code, else a unit's `agency_code`, else a unit's name or `aliases` (trimmed, case-folded); no match: the unit whose `agency_code` is `MaDinhDanhDV`; else rejected `unit_unknown` |
| MucDo 2 / 3 / 4 | service_level; absent: the procedure's catalog level (2 for a procedure the catalog lacks, which joins it), and the dossier keeps following that level when `PUT /v1/procedures/{{code}}` changes it |

Dates are `yyyyMMddHHmmss` in Vietnam time; codes may be numbers or strings; a field sent as
`""` or `null` counts as absent; other fields are ignored.
Records apply **in arrival order**: each becomes its dossier's newest snapshot, stored at the
moment it is stored (strictly increasing along the body). A record identical to the dossier's
current state is a `duplicate` and changes nothing, so replaying a sync is safe.

**`{PROGRESS_SERVICE}`: progress steps** `{{"MaHoSo", "TrangThai", "ThoiDiemXuLy", ...}}`.
Each step is a snapshot: the dossier's stored state with the step's status at `ThoiDiemXuLy`.
It becomes current when it is the newest, and always counts for the handling clock. A step
identical to one already stored (same dossier, status and time) is a duplicate; a step for an
unknown dossier is rejected with `dossier_unknown`.

Each record is checked on its own; `errors[].loc` names the national field. The answer is
national style: `applied + duplicates + len(rejected)` equals the records sent; `error_code` 0
and `message` "Thành công" only when no record was rejected, else `error_code` 1 and a message
without "thành công", so a sender resends (applied records come back as duplicates). A body that
cannot be used at all is answered 4xx `application/problem+json` that also carries a non-zero
`error_code` and a `message`: {BODY_NOT_JSON} not JSON, {BODY_NOT_SYNC} not a sync body (no `data`
list, or empty, or a bad `isUpdating`), {SERVICE_UNSUPPORTED} another `service`,
{TOO_MANY_RECORDS} more than 5,000 records (413). Scope `ingest`.
"""


# The national error code of each whole-body problem.
_NATIONAL_CODES = {"json_invalid": BODY_NOT_JSON, "too_long": TOO_MANY_RECORDS}

_BARE_LIST_EXAMPLE = [SENDER_RECORD_EXAMPLE]


def _national_error(message: str, loc: list[str | int], code: str, error_code: int) -> AppError:
    error = invalid(message, loc, code)
    error.extensions = {"error_code": error_code, "message": message}
    return error


def _unusable(message: str, loc: list[str | int], code: str) -> AppError:
    """The shared body checks' error, with the national `error_code` and `message` members."""
    return _national_error(message, loc, code, _NATIONAL_CODES.get(code, BODY_NOT_SYNC))


def _absent(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _service_of(value: Any, loc: list[str | int]) -> str | None:
    if _absent(value):
        return None
    if value not in SERVICES:
        message = f"service must be one of {', '.join(SERVICES)}"
        raise _national_error(message, loc, "service_unsupported", SERVICE_UNSUPPORTED)
    return str(value)


class _Envelope:
    """What the body's top level says besides `data`: its `service`."""

    def __init__(self) -> None:
        self.service: str | None = None

    def check(self, body: dict[str, Any]) -> None:
        self.service = _service_of(body.get("service"), ["body", "service"])
        updating = body.get("isUpdating")
        if not (
            _absent(updating)
            or isinstance(updating, bool)
            or (isinstance(updating, str) and updating.strip().lower() in ("true", "false"))
        ):
            message = 'isUpdating must be true or false (a boolean or "true"/"false")'
            raise _national_error(message, ["body", "isUpdating"], "bool_parsing", BODY_NOT_SYNC)


_REQUEST_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "anyOf": [
                        {"$ref": "#/components/schemas/SyncBody"},
                        {
                            "type": "array",
                            "minItems": 1,
                            "maxItems": 5000,
                            "items": {
                                "anyOf": [
                                    {"$ref": "#/components/schemas/NationalRecord"},
                                    {"$ref": "#/components/schemas/ProgressStep"},
                                ]
                            },
                        },
                    ]
                },
                "examples": {
                    "envelope": {
                        "summary": "The documented envelope",
                        "value": {
                            "service": SERVICE_NAME,
                            "isUpdating": True,
                            "data": [RECORD_EXAMPLE],
                        },
                    },
                    "envelope_with_session": {
                        "summary": "An envelope with extra fields, all values strings",
                        "value": {
                            "session": "…",
                            "madonvi": "000.00.31.H26",
                            "isUpdating": "False",
                            "service": SERVICE_NAME,
                            "data": [SENDER_RECORD_EXAMPLE],
                        },
                    },
                    "bare_list": {
                        "summary": "A bare list (service etc. in the query string)",
                        "value": _BARE_LIST_EXAMPLE,
                    },
                    "progress": {
                        "summary": f"Progress steps ({PROGRESS_SERVICE})",
                        "value": {"service": PROGRESS_SERVICE, "data": [STEP_EXAMPLE]},
                    },
                },
            }
        },
    }
}


@router.post(
    "/dvcqg",
    summary="Send dossiers or progress steps in the national sync format",
    description=_DESCRIPTION,
    response_model=SyncResult,
    responses=TOO_LARGE,
    openapi_extra=_REQUEST_BODY,
)
async def post_dvcqg(
    request: Request,
    session: SessionDep,
    key: IngestKey,
    service_query: Annotated[
        str | None,
        Query(
            alias="service",
            max_length=64,
            description=f"`{SERVICE_NAME}` (default) or `{PROGRESS_SERVICE}`, for a bare-list "
            "body; `service` in an envelope body wins.",
            examples=[SERVICE_NAME],
            openapi_examples={
                "records": {"value": SERVICE_NAME},
                "progress": {"value": PROGRESS_SERVICE},
            },
        ),
    ] = None,
    is_updating: Annotated[
        bool | None,
        Query(
            alias="isUpdating",
            description='true or false ("True", "FALSE", … too); accepted and ignored.',
            examples=[False],
            openapi_examples={"new": {"value": "false"}, "update": {"value": "True"}},
        ),
    ] = None,
    sender_agency: Annotated[
        str | None,
        Query(
            alias="MaDinhDanhDV",
            max_length=64,
            pattern=r"^[^\x00-\x1f\x7f]*$",
            description="The sender's agency id: records whose DonViXuLy matches no unit go "
            "to the unit whose `agency_code` it is.",
            examples=["000.00.31.H26"],
            openapi_examples={"district": {"value": "000.00.31.H26"}},
        ),
    ] = None,
) -> SyncResult:
    default_service = _service_of(service_query, ["query", "service"]) or SERVICE_NAME
    envelope = _Envelope()
    records = await read_batch(
        request, "data", fail=_unusable, check_object=envelope.check, bare_list=True
    )
    agency = sender_agency.strip() if sender_agency and sender_agency.strip() else None
    if (envelope.service or default_service) == PROGRESS_SERVICE:
        result = await service.sync_steps(session, key, records)
    else:
        result = await service.sync_records(session, key, records, agency)
    metrics_of(request).count_events(
        "dvcqg",
        applied=result.applied,
        duplicate=result.duplicates,
        rejected=len(result.rejected),
    )
    return result
