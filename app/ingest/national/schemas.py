"""The national sync format (DVCQG `DongBoHoSoMC`): one record, and the national-style answer."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Literal, get_args

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)
from pydantic_core import PydanticCustomError

from app.core.validation import Code, Name
from app.localtime import REPORT_TIMEZONE
from app.vocabulary import (
    CHANNELS,
    PAYMENT_CHANNELS,
    STATUSES,
    Channel,
    PaymentChannel,
    ServiceLevel,
    Status,
)

SERVICE_NAME = "DongBoHoSoMC"
# The progress stream: one processing step of a dossier per record.
PROGRESS_SERVICE = "CapNhatTienDoHoSoMC"
SERVICES = (SERVICE_NAME, PROGRESS_SERVICE)

# KenhThucHien 1…3 and TrangThaiHoSo 1…10 number the vocabularies in their order.
CHANNEL_BY_CODE: dict[int, str] = dict(enumerate(CHANNELS, start=1))
STATUS_BY_CODE: dict[int, str] = dict(enumerate(STATUSES, start=1))
# DuocThanhToanTrucTuyen 0 … 3.
PAYMENT_BY_CODE: dict[int, str] = dict(enumerate(PAYMENT_CHANNELS))
NATIONAL_DATE_FORMAT = "%Y%m%d%H%M%S"


def _blank_to_none(value: Any) -> Any:
    if isinstance(value, str) and not value.strip():
        return None
    return value


def _drop_absent(raw: Any) -> Any:
    """`""` and `null` count as absent: a required field sent so is `missing`."""
    if isinstance(raw, dict):
        return {k: v for k, v in raw.items() if _blank_to_none(v) is not None}
    return raw


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


def _flag(value: Any) -> bool:
    """0 / 1 (number or string), or a boolean; absent is 0."""
    value = _blank_to_none(value)
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    number = _whole_number(value)
    if number not in (0, 1):
        raise PydanticCustomError("flag", "expected 0 or 1")
    return number == 1


def _items(value: Any, name: str) -> list[dict[str, Any]]:
    value = _blank_to_none(value)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise PydanticCustomError("list_type", f"{name} must be a list of objects")
    return value


def _fee_total(value: Any) -> Decimal:
    """DanhSachLePhi: the sum of its items' `Gia` (numbers or numeric strings; blank is 0)."""
    total = Decimal(0)
    for item in _items(value, "DanhSachLePhi"):
        price = _blank_to_none(item.get("Gia"))
        if price is None:
            continue
        if isinstance(price, bool) or not isinstance(price, int | float | str):
            raise PydanticCustomError("decimal_parsing", "Gia must be a number")
        try:
            amount = Decimal(str(price).strip())
        except InvalidOperation:
            raise PydanticCustomError("decimal_parsing", "Gia must be a number") from None
        if not amount.is_finite() or amount < 0:
            raise PydanticCustomError("decimal_parsing", "Gia must be a number ≥ 0")
        total += amount
    return total


def _any_reused(value: Any) -> bool:
    """TaiLieuNop: whether any component came from the national data warehouse."""
    return any(_flag(item.get("DuocLayTuKhoDMQG")) for item in _items(value, "TaiLieuNop"))


def _any_result_file(value: Any) -> bool:
    """DanhSachGiayToKetQua: whether any result has a file (an electronic result)."""
    return any(
        _blank_to_none(item.get("DuongDanTepTinKetQua")) is not None
        for item in _items(value, "DanhSachGiayToKetQua")
    )


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


def _required_date(value: Any) -> Any:
    moment = parse_national_date(value)
    if moment is None:
        raise PydanticCustomError("missing", "Field required")
    return moment


NationalCode = Annotated[Code, BeforeValidator(_number_as_text)]
NationalName = Annotated[Name | None, BeforeValidator(_blank_to_none)]
NationalDate = Annotated[dt.datetime | None, BeforeValidator(parse_national_date)]
# DonViXuLy: a unit code, an agency id, or the agency's name as the sender spells it.
UnitReference = Annotated[
    Name, StringConstraints(min_length=1, strip_whitespace=True), BeforeValidator(_number_as_text)
]

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
# As a one-stop-shop system that builds every value as a string posts it: no KenhThucHien, no
# MucDo, the agency's name in DonViXuLy, "" for what it does not know.
SENDER_RECORD_EXAMPLE: dict[str, Any] = {
    "MaHoSo": "000.28.31.H26-170209-0002",
    "MaTTHC": "1.001193",
    "TenTTHC": "Đăng ký khai sinh",
    "MaLinhVuc": "TP",
    "TenLinhVuc": "Tư pháp",
    "KenhThucHien": None,
    "ChuHoSo": "Trần Thị B",
    "LoaiDoiTuong": "1",
    "NgayTiepNhan": "20170209140000",
    "NgayHenTra": "20170214170000",
    "TrangThaiHoSo": "9",
    "NgayTra": "",
    "HinhThuc": "0",
    "NgayKetThucXuLy": "",
    "DonViXuLy": "UBND xã Đồng Tâm",
    "NoiNopHoSo": "2",
    "HoSoCoThanhPhanSoHoa": "0",
    "DuocThanhToanTrucTuyen": "0",
    "NgayTuChoi": "",
    "NgayNopHoSo": "20170209140000",
}
STEP_EXAMPLE: dict[str, Any] = {
    "MaHoSo": "000.28.31.H26-170209-0001",
    "NguoiXuLy": "Cán bộ một cửa",
    "ChucDanh": "",
    "ThoiDiemXuLy": "20170210091500",
    "PhongBanXuLy": "",
    "NoiDungXuLy": "Yêu cầu bổ sung giấy tờ",
    "TrangThai": "5",
    "NgayBatDau": "",
    "NgayKetThucTheoQuyDinh": "",
}


class NationalRecord(BaseModel):
    """One dossier as the national portal receives it (`DongBoHoSoMC`); fields it does not name
    are ignored, and a field sent as `""` or `null` counts as absent."""

    model_config = ConfigDict(
        extra="ignore", json_schema_extra={"examples": [RECORD_EXAMPLE, SENDER_RECORD_EXAMPLE]}
    )

    @model_validator(mode="before")
    @classmethod
    def _absent_fields(cls, raw: Any) -> Any:
        return _drop_absent(raw)

    code: NationalCode = Field(alias="MaHoSo", description="Dossier code → `code`.")
    procedure_code: NationalCode = Field(alias="MaTTHC", description="→ `procedure_code`.")
    procedure_name: NationalName = Field(default=None, alias="TenTTHC")
    domain_code: NationalCode = Field(alias="MaLinhVuc", description="→ `domain_code`.")
    domain_name: NationalName = Field(default=None, alias="TenLinhVuc")
    channel: Annotated[Channel, _code_table(CHANNEL_BY_CODE, "channel")] = Field(
        default="in_person",
        alias="KenhThucHien",
        description="1 in person, 2 online, 3 postal; absent: in person.",
    )
    status: Annotated[Status, _code_table(STATUS_BY_CODE, "status")] = Field(
        alias="TrangThaiHoSo", description="1 … 10, in the order of `status`."
    )
    submitted_at: NationalDate = Field(default=None, alias="NgayNopHoSo")
    received_at: NationalDate = Field(default=None, alias="NgayTiepNhan")
    due_at: NationalDate = Field(default=None, alias="NgayHenTra")
    finished_at: NationalDate = Field(default=None, alias="NgayKetThucXuLy")
    returned_at: NationalDate = Field(default=None, alias="NgayTra")
    handling_unit: UnitReference | None = Field(
        default=None,
        alias="DonViXuLy",
        description="A unit code, a unit's `agency_code`, or a unit's name or alias (trimmed, "
        "case-folded); no match, or absent: the unit whose `agency_code` is the query's "
        "`MaDinhDanhDV`; else rejected with `unit_unknown`.",
    )
    service_level: Annotated[ServiceLevel | None, BeforeValidator(_level)] = Field(
        default=None,
        alias="MucDo",
        description="2, 3 or 4. Absent: the procedure's catalog level, followed when it "
        "changes; a procedure not in the catalog joins it at level 2.",
    )
    fee_amount: Annotated[Decimal, BeforeValidator(_fee_total)] = Field(
        default=Decimal(0),
        alias="DanhSachLePhi",
        description='Fees: `[{"Gia": 50000, …}, …]` → `fee_amount`, the sum of `Gia`.',
    )
    paid_online: Annotated[PaymentChannel, _code_table(PAYMENT_BY_CODE, "paid_online")] = Field(
        default="no",
        alias="DuocThanhToanTrucTuyen",
        description="0 no, 1 national portal, 2 local gateway, 3 other → `paid_online`.",
    )
    digitized: Annotated[bool, BeforeValidator(_flag)] = Field(
        default=False, alias="HoSoCoThanhPhanSoHoa", description="1 → `digitized`."
    )
    reused_data: Annotated[bool, BeforeValidator(_any_reused)] = Field(
        default=False,
        alias="TaiLieuNop",
        description="Components; any with `DuocLayTuKhoDMQG` = 1 → `reused_data`.",
    )
    e_result: Annotated[bool, BeforeValidator(_any_result_file)] = Field(
        default=False,
        alias="DanhSachGiayToKetQua",
        description="Results; any with a non-empty `DuongDanTepTinKetQua` → `e_result`.",
    )


class ProgressStep(BaseModel):
    """One processing step (`CapNhatTienDoHoSoMC`): the dossier's stored state with this status
    at this moment. Other fields (`NguoiXuLy`, `PhongBanXuLy`, `NoiDungXuLy`, …) are ignored."""

    model_config = ConfigDict(extra="ignore", json_schema_extra={"examples": [STEP_EXAMPLE]})

    @model_validator(mode="before")
    @classmethod
    def _absent_fields(cls, raw: Any) -> Any:
        return _drop_absent(raw)

    code: NationalCode = Field(alias="MaHoSo", description="A dossier already stored.")
    status: Annotated[Status, _code_table(STATUS_BY_CODE, "status")] = Field(
        alias="TrangThai", description="1 … 10, as TrangThaiHoSo."
    )
    occurred_at: Annotated[dt.datetime, BeforeValidator(_required_date)] = Field(
        alias="ThoiDiemXuLy", description="`yyyyMMddHHmmss` in Vietnam time: the snapshot's time."
    )


# Our field name → the national one, to name fields in errors the way the sender knows them.
NATIONAL_FIELD = {
    name: info.alias for name, info in NationalRecord.model_fields.items() if info.alias
} | {"unit_code": "DonViXuLy"}
STEP_FIELD = {
    name: info.alias for name, info in ProgressStep.model_fields.items() if info.alias
} | {"unit_code": "MaHoSo"}


# "true" / "false" in any case, as senders write it.
_BooleanText = Annotated[
    str, StringConstraints(pattern=r"^\s*([Tt][Rr][Uu][Ee]|[Ff][Aa][Ll][Ss][Ee])\s*$")
]


class SyncBody(BaseModel):
    """The body of `POST /v1/compat/dvcqg` (documentation only: records are checked one by one).
    The body may also be the bare list of records, with `service` in the query string."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"service": SERVICE_NAME, "isUpdating": True, "data": [RECORD_EXAMPLE]},
                {
                    "session": "…",
                    "madonvi": "000.00.31.H26",
                    "isUpdating": "False",
                    "service": SERVICE_NAME,
                    "data": [SENDER_RECORD_EXAMPLE],
                },
                {"service": PROGRESS_SERVICE, "data": [STEP_EXAMPLE]},
            ]
        }
    )

    service: Literal["DongBoHoSoMC", "CapNhatTienDoHoSoMC"] = Field(
        default="DongBoHoSoMC",
        description=f"`{SERVICE_NAME}` (dossiers) or `{PROGRESS_SERVICE}` (progress steps); "
        "absent: the query's `service`, else `DongBoHoSoMC`.",
    )
    isUpdating: bool | _BooleanText | None = Field(
        default=None,
        description='A boolean or `"true"`/`"false"` in any case; accepted and ignored: '
        "every record is a whole snapshot.",
    )
    data: list[NationalRecord] | list[ProgressStep] = Field(
        min_length=1,
        max_length=5000,
        description="Dossier records (`DongBoHoSoMC`) or progress steps (`CapNhatTienDoHoSoMC`).",
    )


class RejectedRecord(BaseModel):
    """A record that was not stored, and why."""

    index: int = Field(description="Position of the record in `data`, from 0.")
    MaHoSo: str | None = Field(description="The record's dossier code, when it had one.")
    errors: list[dict[str, Any]] = Field(description="`{loc, msg, code}` entries.")


MESSAGE_SUCCESS = "Thành công"


class SyncResult(BaseModel):
    """The national-style answer; `applied + duplicates + len(rejected)` = records sent.

    `error_code` is 0 and `message` "Thành công" only when no record was rejected; otherwise
    `error_code` is 1 and the message does not contain "thành công", so a sender that reads only
    the message resends (resending is harmless: applied records come back as duplicates)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "error_code": 0,
                    "message": MESSAGE_SUCCESS,
                    "applied": 3,
                    "duplicates": 1,
                    "stale": 0,
                    "rejected": [],
                },
                {
                    "error_code": 1,
                    "message": "Có 1/4 hồ sơ bị từ chối; sửa và gửi lại các hồ sơ này",
                    "applied": 2,
                    "duplicates": 1,
                    "stale": 0,
                    "rejected": [
                        {
                            "index": 3,
                            "MaHoSo": "000.28.31.H26-170209-0004",
                            "errors": [
                                {
                                    "loc": ["data", 3, "DonViXuLy"],
                                    "msg": "no unit has the code, agency code, name or alias "
                                    "'UBND xã Không Có'",
                                    "code": "unit_unknown",
                                }
                            ],
                        }
                    ],
                },
            ]
        }
    )

    error_code: Literal[0, 1] = Field(description="0: every record stored; 1: some rejected.")
    message: str = Field(description='"Thành công" exactly when `error_code` is 0.')
    applied: int = Field(
        description="Records stored: dossier records that became their dossier's current state, "
        "progress steps stored (`stale` of them older than the dossier's current state)."
    )
    duplicates: int = Field(description="Records identical to what is already stored.")
    stale: int = Field(
        default=0,
        description="Of `applied`, progress steps older than the dossier's current state: kept "
        "for the handling clock, not current.",
    )
    rejected: list[RejectedRecord]
