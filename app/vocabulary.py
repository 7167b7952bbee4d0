"""The contract's fixed vocabularies, defined once for schemas, tables and rules."""

from typing import Literal, get_args

Channel = Literal["in_person", "online", "postal"]  # KenhThucHien 1, 2, 3
# TrangThaiHoSo 1 … 10, in this order.
Status = Literal[
    "submitted",
    "received",
    "refused",
    "processing",
    "supplement_requested",
    "fees_due",
    "withdrawn",
    "stopped",
    "finished",
    "returned",
]
ServiceLevel = Literal[2, 3, 4]  # MucDo
# Decree 42/2022 names of the levels, accepted for them (contract section 4 v2).
SERVICE_LEVEL_BY_NAME = {"offline": 2, "partial": 3, "full": 4}
# How the fees were paid: DuocThanhToanTrucTuyen 0 … 3, in this order.
PaymentChannel = Literal["no", "national_portal", "local_gateway", "other"]
UnitLevel = Literal["province", "district", "commune"]

CHANNELS: tuple[str, ...] = get_args(Channel)
STATUSES: tuple[str, ...] = get_args(Status)
UNIT_LEVELS: tuple[str, ...] = get_args(UnitLevel)
PAYMENT_CHANNELS: tuple[str, ...] = get_args(PaymentChannel)
# Dossiers in these states were never received and count in no figure.
STATUSES_WITHOUT_RECEIPT = frozenset({"submitted", "refused"})
# The handling clock (contract section 4): a dossier in an ending status has ended; while it is in
# a waiting status the office waits for the applicant and the clock stops.
ENDING_STATUSES = frozenset({"finished", "returned", "withdrawn", "stopped"})
WAITING_STATUSES = frozenset({"supplement_requested", "fees_due"})
