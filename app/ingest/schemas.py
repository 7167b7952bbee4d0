"""Request and response bodies of the event ingest: the event, the batch, the outcome."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    model_validator,
)

from app.core.validation import Code, EventId, LevelInput, Name, StrictInput, Timestamp
from app.vocabulary import STATUSES_WITHOUT_RECEIPT, Channel, PaymentChannel, Status

# The scorecard inputs (contract section 4 v2) and their defaults: absent, or null, is the default.
SCORECARD_DEFAULTS: dict[str, Any] = {
    "fee_amount": Decimal(0),
    "paid_online": "no",
    "digitized": False,
    "reused_data": False,
    "e_result": False,
}


def _null_is(default: Any) -> Any:
    return BeforeValidator(lambda value: default if value is None else value)


FeeAmount = Annotated[
    Decimal,
    Field(ge=0, lt=Decimal("1e16"), decimal_places=2, allow_inf_nan=False),
    _null_is(Decimal(0)),
    # A number in JSON answers, as it is sent.
    PlainSerializer(float, return_type=float, when_used="json"),
]


class DossierFields(BaseModel):
    """The state of one dossier; each field names the national (DVCQG) field it maps to."""

    code: Code = Field(description="Dossier code, unique across the service. DVCQG: MaHoSo.")
    procedure_code: Code = Field(description="Procedure code. DVCQG: MaTTHC.")
    procedure_name: Name | None = Field(default=None, description="DVCQG: TenTTHC.")
    domain_code: Code = Field(
        description="Service domain; an unknown one is added to the catalog. DVCQG: MaLinhVuc."
    )
    domain_name: Name | None = Field(default=None, description="DVCQG: TenLinhVuc.")
    unit_code: Code = Field(
        description="Handling unit; an unknown one is added to the catalog. DVCQG: DonViXuLy."
    )
    channel: Channel = Field(
        description="in_person | online | postal. DVCQG: KenhThucHien 1 | 2 | 3."
    )
    service_level: LevelInput = Field(
        description="Online service level of the procedure when filed: 2, 3 or 4, or by its"
        ' Decree 42/2022 name, `"offline"` (2), `"partial"` (3, một phần), `"full"` (4, toàn'
        " trình); answers give the number. DVCQG: MucDo."
    )
    status: Status = Field(description="DVCQG: TrangThaiHoSo 1 … 10 in the order listed.")
    submitted_at: Timestamp | None = Field(default=None, description="DVCQG: NgayNopHoSo.")
    received_at: Timestamp | None = Field(
        default=None,
        description="Required unless status is submitted or refused. DVCQG: NgayTiepNhan.",
    )
    due_at: Timestamp | None = Field(default=None, description="DVCQG: NgayHenTra.")
    finished_at: Timestamp | None = Field(default=None, description="DVCQG: NgayKetThucXuLy.")
    returned_at: Timestamp | None = Field(default=None, description="DVCQG: NgayTra.")
    fee_amount: FeeAmount = Field(
        default=Decimal(0),
        description="Fees due, in VND (≥ 0, at most 2 decimals); absent: 0, no fee."
        " DVCQG: sum of DanhSachLePhi[].Gia.",
    )
    paid_online: Annotated[PaymentChannel, _null_is("no")] = Field(
        default="no",
        description="How the fees were paid online: no | national_portal | local_gateway |"
        " other. DVCQG: DuocThanhToanTrucTuyen 0 | 1 | 2 | 3.",
    )
    digitized: Annotated[bool, _null_is(False)] = Field(
        default=False,
        description="The dossier's components were digitised. DVCQG: HoSoCoThanhPhanSoHoa = 1.",
    )
    reused_data: Annotated[bool, _null_is(False)] = Field(
        default=False,
        description="A component was taken from the national data warehouse."
        " DVCQG: any TaiLieuNop[].DuocLayTuKhoDMQG = 1.",
    )
    e_result: Annotated[bool, _null_is(False)] = Field(
        default=False,
        description="The result was issued electronically."
        " DVCQG: any DanhSachGiayToKetQua[].DuongDanTepTinKetQua not empty.",
    )


class DossierIn(DossierFields, StrictInput):
    """A dossier snapshot as sent in an event."""

    @model_validator(mode="after")
    def _received_at_when_received(self) -> DossierIn:
        if self.received_at is None and self.status not in STATUSES_WITHOUT_RECEIPT:
            raise ValueError(f"received_at is required when status is {self.status}")
        return self


EVENT_EXAMPLE: dict[str, Any] = {
    "event_id": "H26-282-000123-7",
    "occurred_at": "2017-02-10T09:15:00+07:00",
    "dossier": {
        "code": "000.28.31.H26-170209-0001",
        "procedure_code": "1.001193",
        "procedure_name": "Đăng ký khai sinh",
        "domain_code": "TP",
        "domain_name": "Tư pháp",
        "unit_code": "10441",
        "channel": "online",
        "service_level": 3,
        "status": "processing",
        "submitted_at": "2017-02-09T12:02:00+07:00",
        "received_at": "2017-02-09T14:00:00+07:00",
        "due_at": "2017-02-14T17:00:00+07:00",
        "finished_at": None,
        "returned_at": None,
    },
}


class EventIn(StrictInput):
    """A snapshot of one dossier's whole state at `occurred_at`."""

    model_config = ConfigDict(json_schema_extra={"examples": [EVENT_EXAMPLE]})

    event_id: EventId = Field(
        description="Idempotency key, unique per source system (1–128 chars)."
    )
    occurred_at: Timestamp = Field(description="When the one-stop-shop recorded this state.")
    dossier: DossierIn


class EventBatchIn(StrictInput):
    """The body of `POST /v1/events` (documentation only: items are validated one by one)."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"events": [EVENT_EXAMPLE]}]})

    events: list[EventIn] = Field(min_length=1, max_length=5000)


class RejectedEvent(BaseModel):
    """An event of the batch that was not stored, and why."""

    index: int = Field(description="Position of the event in the request, from 0.")
    event_id: str | None
    errors: list[dict[str, Any]] = Field(description="`{loc, msg, code}` entries.")


class IngestResult(BaseModel):
    """What happened to each event of a batch; the four counts add up to the events sent."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "applied": 2,
                    "stale": 1,
                    "duplicates": 1,
                    "rejected": [
                        {
                            "index": 3,
                            "event_id": "H26-282-000123-9",
                            "errors": [
                                {
                                    "loc": ["events", 3, "dossier", "unit_code"],
                                    "msg": "this key may not send dossiers of unit 10444",
                                    "code": "unit_not_allowed",
                                }
                            ],
                        }
                    ],
                }
            ]
        }
    )

    applied: int = Field(description="Events that became their dossier's current state.")
    stale: int = Field(description="Events logged but older than the dossier's stored state.")
    duplicates: int = Field(description="Events already stored with the same id and content.")
    rejected: list[RejectedEvent]
