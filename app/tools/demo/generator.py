"""A realistic, reproducible year of one-stop-shop dossiers for Mỹ Đức, as native events.

Pure and deterministic (same seed, same events), so a rerun of `dossier-stats demo` only finds
duplicates. Each dossier yields the snapshots a one-stop-shop system would send as it moves:
submitted (online filings), received or refused, processing, sometimes more documents
requested, finished, returned. Online shares differ by domain and grow over the year.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from app.localtime import REPORT_TIMEZONE


@dataclass(frozen=True)
class DemoProcedure:
    """A procedure of the demo catalog."""

    code: str
    name: str
    domain_code: str
    domain_name: str
    service_level: int
    handled_by: str  # "commune" or "district"
    working_days: int
    weight: int  # relative volume


PROCEDURES: tuple[DemoProcedure, ...] = (
    DemoProcedure("1.001193", "Đăng ký khai sinh", "TP", "Tư pháp", 3, "commune", 1, 30),
    DemoProcedure("1.000894", "Đăng ký kết hôn", "TP", "Tư pháp", 3, "commune", 3, 8),
    DemoProcedure("1.000656", "Đăng ký khai tử", "TP", "Tư pháp", 3, "commune", 1, 6),
    DemoProcedure(
        "2.000815", "Chứng thực bản sao từ bản chính", "TP", "Tư pháp", 3, "commune", 1, 40
    ),
    DemoProcedure(
        "1.001612",
        "Đăng ký thành lập hộ kinh doanh",
        "DKKD",
        "Đăng ký kinh doanh",
        3,
        "district",
        3,
        6,
    ),
    DemoProcedure(
        "2.000720",
        "Đăng ký thay đổi nội dung hộ kinh doanh",
        "DKKD",
        "Đăng ký kinh doanh",
        4,
        "district",
        3,
        3,
    ),
    DemoProcedure(
        "1.004227", "Đăng ký biến động quyền sử dụng đất", "DD", "Đất đai", 2, "district", 10, 8
    ),
    DemoProcedure(
        "1.003003",
        "Cấp Giấy chứng nhận quyền sử dụng đất lần đầu",
        "DD",
        "Đất đai",
        2,
        "district",
        15,
        4,
    ),
    DemoProcedure(
        "1.009994", "Cấp giấy phép xây dựng nhà ở riêng lẻ", "XD", "Xây dựng", 3, "district", 15, 4
    ),
    DemoProcedure(
        "1.001776",
        "Trợ cấp xã hội hằng tháng",
        "LDTBXH",
        "Lao động - Thương binh và Xã hội",
        2,
        "commune",
        10,
        5,
    ),
    DemoProcedure(
        "1.005097",
        "Chuyển trường đối với học sinh trung học cơ sở",
        "GDDT",
        "Giáo dục và Đào tạo",
        3,
        "district",
        3,
        3,
    ),
)

# Share of online filing (of level 3-4 dossiers) in January and in December, by domain.
ONLINE_SHARE: dict[str, tuple[float, float]] = {
    "TP": (0.30, 0.72),
    "DKKD": (0.45, 0.85),
    "DD": (0.0, 0.0),
    "XD": (0.08, 0.30),
    "LDTBXH": (0.0, 0.0),
    "GDDT": (0.10, 0.35),
}
POSTAL_SHARE = 0.04
REFUSED_SHARE = 0.03
SUPPLEMENT_SHARE = 0.12
LATE_SHARE = 0.08


def online_share(domain_code: str, month: int) -> float:
    """The domain's online share in `month`, growing linearly over the year."""
    january, december = ONLINE_SHARE.get(domain_code, (0.05, 0.25))
    return january + (december - january) * (month - 1) / 11


def _working_time(rng: random.Random, day: dt.date) -> dt.datetime:
    minutes = rng.randint(7 * 60 + 30, 16 * 60 + 30)
    return dt.datetime.combine(day, dt.time(minutes // 60, minutes % 60), REPORT_TIMEZONE)


def _add_working_days(moment: dt.datetime, days: int) -> dt.datetime:
    while days > 0:
        moment += dt.timedelta(days=1)
        if moment.weekday() < 5:
            days -= 1
    return moment


def _weekdays(year: int) -> list[dt.date]:
    day, days = dt.date(year, 1, 1), []
    while day.year == year:
        if day.weekday() < 5:
            days.append(day)
        day += dt.timedelta(days=1)
    return days


def generate(
    year: int,
    dossiers: int,
    communes: Sequence[str],
    district: str = "282",
    seed: int = 2017,
) -> Iterator[dict[str, Any]]:
    """Events of `dossiers` dossiers received over `year`, in the order a system sends them."""
    rng = random.Random(f"{seed}-{year}")  # noqa: S311 - demo data, not secrets
    days = _weekdays(year)
    weights = [p.weight for p in PROCEDURES]
    commune_weights = [rng.uniform(0.5, 2.0) for _ in communes]
    cutoff = dt.datetime(year, 12, 31, 17, 0, tzinfo=REPORT_TIMEZONE)
    for seq in range(1, dossiers + 1):
        procedure = rng.choices(PROCEDURES, weights)[0]
        unit = (
            rng.choices(list(communes), commune_weights)[0]
            if procedure.handled_by == "commune"
            else district
        )
        filed_day = days[min(len(days) - 1, int(len(days) * (seq - 1) / dossiers))]
        filed = _working_time(rng, filed_day)
        online_capable = procedure.service_level >= 3
        draw = rng.random()
        if online_capable and draw < online_share(procedure.domain_code, filed.month):
            channel = "online"
        elif draw > 1 - POSTAL_SHARE:
            channel = "postal"
        else:
            channel = "in_person"
        code = f"H26.{unit}-{filed:%y%m%d}-{seq:05d}"
        yield from _history(rng, seq, code, procedure, unit, channel, filed, cutoff)


def _history(
    rng: random.Random,
    seq: int,
    code: str,
    procedure: DemoProcedure,
    unit: str,
    channel: str,
    filed: dt.datetime,
    cutoff: dt.datetime,
) -> Iterator[dict[str, Any]]:
    state: dict[str, Any] = {
        "code": code,
        "procedure_code": procedure.code,
        "procedure_name": procedure.name,
        "domain_code": procedure.domain_code,
        "domain_name": procedure.domain_name,
        "unit_code": unit,
        "channel": channel,
        "service_level": procedure.service_level,
        "status": "submitted",
        "submitted_at": None,
        "received_at": None,
        "due_at": None,
        "finished_at": None,
        "returned_at": None,
    }
    step = 0

    def snapshot(status: str, at: dt.datetime, **changes: Any) -> dict[str, Any]:
        nonlocal step
        step += 1
        state.update(status=status, **changes)
        return {
            "event_id": f"demo-{code}-{step}",  # the code carries the year and the day
            "occurred_at": at.isoformat(),
            "dossier": {
                k: v.isoformat() if isinstance(v, dt.datetime) else v for k, v in state.items()
            },
        }

    received = filed
    if channel == "online":
        yield snapshot("submitted", filed, submitted_at=filed)
        received = _add_working_days(filed, rng.choice((0, 0, 1)))
        received = max(received, filed + dt.timedelta(minutes=rng.randint(20, 240)))
    if received > cutoff:
        return
    if rng.random() < REFUSED_SHARE:
        yield snapshot("refused", received)
        return
    due = _add_working_days(received, procedure.working_days)
    yield snapshot("received", received, received_at=received, due_at=due)
    moment = received + dt.timedelta(hours=rng.randint(1, 6))
    if moment > cutoff:
        return
    yield snapshot("processing", moment)
    if rng.random() < SUPPLEMENT_SHARE:
        moment += dt.timedelta(days=rng.randint(1, 3))
        if moment > cutoff:
            return
        yield snapshot("supplement_requested", moment)
        moment += dt.timedelta(days=rng.randint(1, 5))
        if moment > cutoff:
            return
        yield snapshot("processing", moment)
    if rng.random() < LATE_SHARE:
        finished = _add_working_days(due, rng.randint(1, 5))
    else:
        finished = due - dt.timedelta(days=rng.choice((0, 0, 0, 1, 2)), hours=rng.randint(0, 4))
        finished = max(finished, moment + dt.timedelta(hours=1))
    if finished > cutoff:
        return
    yield snapshot("finished", finished, finished_at=finished)
    returned = finished + dt.timedelta(days=rng.choice((0, 1, 2)), hours=1)
    if returned > cutoff:
        return
    yield snapshot("returned", returned, returned_at=returned)
