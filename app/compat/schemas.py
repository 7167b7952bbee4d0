"""The national sync format (DVCQG `DongBoHoSoMC`): one record, and the national-style answer."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, get_args

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field
from pydantic_core import PydanticCustomError

from app.localtime import REPORT_TIMEZONE
from app.validation import Code, Name
from app.vocabulary import CHANNELS, STATUSES, Channel, ServiceLevel, Status

SERVICE_NAME = "DongBoHoSoMC"

# KenhThucHien 1…3 and TrangThaiHoSo 1…10 number the vocabularies in their order.
CHANNEL_BY_CODE: dict[int, str] = dict(enumerate(CHANNELS, start=1))
STATUS_BY_CODE: dict[int, str] = dict(enumerate(STATUSES, start=1))
NATIONAL_DATE_FORMAT = "%Y%m%d%H%M%S"


def _blank_to_none(value: Any) -> Any:
    if isinstance(value, str) and not value.strip():
        return None
    return value


def _number_as_text(value: Any) -> Any:
    """Codes may arrive as JSON numbers (`10441`) or strings (`"10441"`)."""
    value = _blank_to_none(value)
    if isinstance(value, bool):
        return value  # left for the str validator to refuse
    if isinstance(value, int):
        return str(value)
    return value


def _whole_number(value: Any) -> int | None:
    value = _blank_to_none(value)
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    raise PydanticCustomError("int_parsing", "expected a whole number (number or string)")


def _code_table(table: dict[int, str], name: str) -> Any:
    """A BeforeValidator turning a national code (number or string) into our value."""

    def convert(value: Any) -> Any:
        number = _whole_number(value)
        if number is None:
            return None
        if number not in table:
            raise PydanticCustomError(
                f"{name}_unknown",
                "unknown code {code}; expected one of {allowed}",
                {"code": number, "allowed": ", ".join(str(k) for k in table)},
            )
        return table[number]

    return BeforeValidator(convert)


def _level(value: Any) -> Any:
    number = _whole_number(value)
    if number is not None and number not in get_args(ServiceLevel):
        raise PydanticCustomError("service_level_unknown", "MucDo must be 2, 3 or 4")
    return number


def parse_national_date(value: Any) -> dt.datetime | None:
    """`yyyyMMddHHmmss` in Vietnam time (string or number); blank is none."""
    value = _blank_to_none(value)
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if isinstance(value, str):
        text = value.strip()
        if len(text) == 14 and text.isdigit():
            try:
                local = dt.datetime.strptime(text, NATIONAL_DATE_FORMAT)
            except ValueError:
                pass
            else:
                if 1900 <= local.year <= 2200:
                    return local.replace(tzinfo=REPORT_TIMEZONE)
    raise PydanticCustomError(
        "date_format", "expected yyyyMMddHHmmss in Vietnam time, e.g. 20170209140000"
    )


NationalCode = Annotated[Code, BeforeValidator(_number_as_text)]
NationalName = Annotated[Name | None, BeforeValidator(_blank_to_none)]
NationalDate = Annotated[dt.datetime | None, BeforeValidator(parse_national_date)]

RECORD_EXAMPLE: dict[str, Any] = {
    "MaHoSo": "000.28.31.H26-170209-0001",
    "MaTTHC": "1.001193",
    "TenTTHC": "Đăng ký khai sinh",
    "MaLinhVuc": "TP",
    "TenLinhVuc": "Tư pháp",
    "KenhThucHien": 2,
    "TrangThaiHoSo": "4",
    "NgayNopHoSo": "20170209120200",
    "NgayTiepNhan": "20170209140000",
    "NgayHenTra": "20170214170000",
    "NgayKetThucXuLy": "",
    "NgayTra": "",
    "DonViXuLy": "000.28.31.H26",
    "MucDo": 3,
    "ChuHoSo": "Nguyễn Văn A",
    "LoaiDoiTuong": 1,
}


class NationalRecord(BaseModel):
    """One dossier as the national portal receives it; fields it does not name are ignored."""

    model_config = ConfigDict(extra="ignore", json_schema_extra={"examples": [RECORD_EXAMPLE]})

    code: NationalCode = Field(alias="MaHoSo", description="Dossier code → `code`.")
    procedure_code: NationalCode = Field(alias="MaTTHC", description="→ `procedure_code`.")
    procedure_name: NationalName = Field(default=None, alias="TenTTHC")
    domain_code: NationalCode = Field(alias="MaLinhVuc", description="→ `domain_code`.")
    domain_name: NationalName = Field(default=None, alias="TenLinhVuc")
    channel: Annotated[Channel, _code_table(CHANNEL_BY_CODE, "channel")] = Field(
        alias="KenhThucHien", description="1 in person, 2 online, 3 postal."
    )
    status: Annotated[Status, _code_table(STATUS_BY_CODE, "status")] = Field(
        alias="TrangThaiHoSo", description="1 … 10, in the order of `status`."
    )
    submitted_at: NationalDate = Field(default=None, alias="NgayNopHoSo")
    received_at: NationalDate = Field(default=None, alias="NgayTiepNhan")
    due_at: NationalDate = Field(default=None, alias="NgayHenTra")
    finished_at: NationalDate = Field(default=None, alias="NgayKetThucXuLy")
    returned_at: NationalDate = Field(default=None, alias="NgayTra")
    handling_unit: NationalCode = Field(
        alias="DonViXuLy", description="A unit code, or the `agency_code` of a unit."
    )
    service_level: Annotated[ServiceLevel | None, BeforeValidator(_level)] = Field(
        default=None, alias="MucDo", description="2, 3 or 4; default: the procedure's level."
    )


# Our field name → the national one, to name fields in errors the way the sender knows them.
NATIONAL_FIELD = {
    name: info.alias for name, info in NationalRecord.model_fields.items() if info.alias
} | {"unit_code": "DonViXuLy"}


class SyncBody(BaseModel):
    """The body of `POST /v1/compat/dvcqg` (documentation only: records are checked one by one)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"service": SERVICE_NAME, "isUpdating": True, "data": [RECORD_EXAMPLE]}]
        }
    )

    service: str = Field(default=SERVICE_NAME, description=f"`{SERVICE_NAME}` when sent.")
    isUpdating: bool | None = Field(
        default=None, description="Accepted and ignored: every record is a whole snapshot."
    )
    data: list[NationalRecord] = Field(min_length=1, max_length=5000)


class RejectedRecord(BaseModel):
    """A record that was not stored, and why."""

    index: int = Field(description="Position of the record in `data`, from 0.")
    MaHoSo: str | None = Field(description="The record's dossier code, when it had one.")
    errors: list[dict[str, Any]] = Field(description="`{loc, msg, code}` entries.")


class SyncResult(BaseModel):
    """The national-style answer; `applied + duplicates + len(rejected)` = records sent."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "error_code": 0,
                    "message": "Thành công một phần: 1 hồ sơ bị từ chối",
                    "applied": 2,
                    "duplicates": 1,
                    "rejected": [
                        {
                            "index": 3,
                            "MaHoSo": "000.28.31.H26-170209-0004",
                            "errors": [
                                {
                                    "loc": ["data", 3, "MucDo"],
                                    "msg": "procedure 2.002492 has no known service level; "
                                    "send MucDo",
                                    "code": "service_level_unknown",
                                }
                            ],
                        }
                    ],
                }
            ]
        }
    )

    error_code: int = Field(description="0: the body was read (records may still be rejected).")
    message: str
    applied: int = Field(description="Records that became their dossier's current state.")
    duplicates: int = Field(description="Records identical to their dossier's stored state.")
    rejected: list[RejectedRecord]
