"""Realistic dossiers for the benchmark: the same distribution as API events (Python) and as
SQL (`INSERT … SELECT … FROM generate_series`, hash-based), so both halves look alike.

Units are the seeded Mỹ Đức district (282) and its 22 communes; each procedure fixes its domain
and its online service level; the online share grows year by year; most dossiers are finished or
returned (with `finished_at`), a few are still being handled, withdrawn, refused or not received.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from typing import Any

from app.catalog.seed import COMMUNES, DOMAINS
from app.ingest.repository import STATE_COLUMNS

VN = dt.timezone(dt.timedelta(hours=7))
FIRST_DAY = dt.datetime(2017, 1, 1, 7, 30, tzinfo=VN)  # 07:30 local, the office opens
DAYS = (dt.date(2025, 12, 31) - dt.date(2017, 1, 1)).days + 1  # received over 2017–2025
WORKDAY_SECONDS = 34_200  # 07:30 → 17:00

DOMAIN_NAMES = {code: name for code, name, _ in DOMAINS}


@dataclass(frozen=True)
class Procedure:
    code: str
    name: str
    domain: str
    level: int
    online_permille: int  # share filed online in 2017 when the level allows it; grows +50‰/year
    weight: int  # how common it is


# Illustrative procedures (codes in the national format); the weights make justice and land
# the bulk of the work, as in a real district.
PROCEDURES: list[Procedure] = [
    Procedure("1.001193", "Đăng ký khai sinh", "TP", 4, 450, 60),
    Procedure("1.000894", "Đăng ký kết hôn", "TP", 3, 300, 25),
    Procedure("1.000656", "Đăng ký khai tử", "TP", 4, 350, 15),
    Procedure("2.000908", "Chứng thực bản sao từ bản chính", "TP", 3, 250, 70),
    Procedure("1.001022", "Cấp bản sao trích lục hộ tịch", "TP", 4, 500, 20),
    Procedure("2.000815", "Chứng thực chữ ký", "TP", 2, 0, 15),
    Procedure("1.001612", "Đăng ký thành lập hộ kinh doanh", "DKKD", 4, 550, 25),
    Procedure("2.000720", "Đăng ký thay đổi nội dung hộ kinh doanh", "DKKD", 3, 450, 12),
    Procedure("1.004227", "Đăng ký biến động quyền sử dụng đất", "DD", 3, 100, 45),
    Procedure("1.004203", "Cấp giấy chứng nhận quyền sử dụng đất lần đầu", "DD", 2, 0, 20),
    Procedure("1.003003", "Tách thửa, hợp thửa đất", "DD", 3, 80, 10),
    Procedure("1.009977", "Cấp giấy phép xây dựng nhà ở riêng lẻ", "XD", 3, 150, 15),
    Procedure("1.009994", "Điều chỉnh giấy phép xây dựng", "XD", 2, 0, 4),
    Procedure("1.001776", "Trợ cấp xã hội hàng tháng", "LDTBXH", 3, 200, 18),
    Procedure("1.001758", "Hỗ trợ chi phí mai táng", "LDTBXH", 4, 250, 6),
    Procedure("1.005092", "Chuyển trường cho học sinh", "GDDT", 3, 200, 6),
    Procedure("1.001907", "Cấp giấy phép kinh doanh dịch vụ y tế", "YT", 2, 0, 3),
    Procedure("1.004620", "Đăng ký gia đình văn hóa", "VHTT", 3, 150, 4),
    Procedure("1.004082", "Đăng ký bảo vệ môi trường", "TNMT", 3, 120, 4),
    Procedure("1.003605", "Hỗ trợ sản xuất nông nghiệp", "NN", 3, 100, 5),
]

# District 282 handles 30% of the dossiers, the 22 communes the rest evenly.
UNIT_WEIGHTS: list[tuple[str, int]] = [("282", 66), *[(code, 7) for code, _ in COMMUNES]]

# (status, per mille); finished and returned (95%) carry finished_at.
STATUS_PERMILLE: list[tuple[str, int]] = [
    ("finished", 850),
    ("returned", 100),
    ("processing", 25),
    ("received", 5),
    ("supplement_requested", 5),
    ("fees_due", 2),
    ("withdrawn", 5),
    ("stopped", 3),
    ("refused", 3),
    ("submitted", 2),
]
assert sum(p for _, p in STATUS_PERMILLE) == 1000


def _expand(pairs: list[tuple[Any, int]]) -> list[Any]:
    """A list in which each value appears `weight` times: a uniform pick is a weighted pick."""
    return [value for value, weight in pairs for _ in range(weight)]


PROCEDURE_PICKS = _expand([(i, p.weight) for i, p in enumerate(PROCEDURES, start=1)])
UNIT_PICKS = _expand(UNIT_WEIGHTS)
STATUS_PICKS = _expand(STATUS_PERMILLE)


def _channel(rng: random.Random, level: int, online_permille: int, year: int) -> str:
    if level >= 3 and rng.randrange(1000) < min(950, online_permille + (year - 2017) * 50):
        return "online"
    return "postal" if rng.randrange(100) < 6 else "in_person"


def make_dossier(rng: random.Random, code: str) -> dict[str, Any]:
    """One dossier state, as the `dossier` object of an event (timestamps as datetimes)."""
    p = PROCEDURES[rng.choice(PROCEDURE_PICKS) - 1]
    unit = rng.choice(UNIT_PICKS)
    status = rng.choice(STATUS_PICKS)
    received = FIRST_DAY + dt.timedelta(
        days=rng.randrange(DAYS), seconds=rng.randrange(WORKDAY_SECONDS)
    )
    channel = _channel(rng, p.level, p.online_permille, received.year)
    submitted = (
        received - dt.timedelta(seconds=rng.randrange(7200)) if channel == "online" else received
    )
    due: dt.datetime | None = received + dt.timedelta(days=1 + rng.randrange(20))
    finished = returned = None
    if status in ("finished", "returned"):
        days = min(rng.randrange(31), rng.randrange(31))  # mostly quick, a tail of late ones
        finished = received + dt.timedelta(days=days, seconds=rng.randrange(3600, 28_800))
        if status == "returned":
            returned = finished + dt.timedelta(days=rng.randrange(3))
    if status in ("submitted", "refused"):
        received_at = None
        due = None
    else:
        received_at = received
    return {
        "code": code,
        "procedure_code": p.code,
        "procedure_name": p.name,
        "domain_code": p.domain,
        "domain_name": DOMAIN_NAMES[p.domain],
        "unit_code": unit,
        "channel": channel,
        "service_level": p.level,
        "status": status,
        "submitted_at": submitted,
        "received_at": received_at,
        "due_at": due,
        "finished_at": finished,
        "returned_at": returned,
    }


def occurred_at(d: dict[str, Any]) -> dt.datetime:
    """When the one-stop-shop recorded this state: a minute after its last timestamp."""
    last = d["returned_at"] or d["finished_at"] or d["received_at"] or d["submitted_at"]
    assert isinstance(last, dt.datetime)
    return last + dt.timedelta(minutes=1)


def make_event(rng: random.Random, prefix: str, n: int) -> dict[str, Any]:
    """An event (JSON-ready: timestamps as ISO strings with +07:00) for a new dossier."""
    dossier = make_dossier(rng, f"000.00.{prefix}.H26-{n:09d}")
    when = occurred_at(dossier)
    return {
        "event_id": f"{prefix}-{n}",
        "occurred_at": when.isoformat(),
        "dossier": {
            k: v.isoformat() if isinstance(v, dt.datetime) else v for k, v in dossier.items()
        },
    }


# The scorecard inputs (migration 0009): the benchmark's dossiers take their defaults (no fee,
# not paid online, not digitised, no reused data, no electronic result).
SCORECARD_INPUTS = ("fee_amount", "paid_online", "digitized", "reused_data", "e_result")
# The columns a bulk writer may set: never the generated local dates, never summary tables.
BASE_COLUMNS = ("code", *(c for c in STATE_COLUMNS if c not in SCORECARD_INPUTS), "event_count")


def _h(tag: str) -> str:
    """A non-negative pseudo-random int per row and purpose."""
    return f"(hashtext('{tag}' || g.i::text) & 2147483647)"


# $1, $2: the range of row numbers. Arrays: $3 procedure picks (1-based indexes into the
# procedure arrays), $4 codes, $5 names, $6 domains, $7 domain names, $8 levels, $9 online ‰,
# $10 unit picks (indexes into $12, the unit codes), $11 status picks (indexes into $13, the
# statuses). Picks are int[]: PostgreSQL reaches an element of a fixed-width array in O(1), of a
# text[] by walking it. Each lateral step draws from its own hash.
HISTORY_INSERT = f"""
INSERT INTO dossiers ({", ".join(BASE_COLUMNS)}, ended_on, effective_due_on)
SELECT
    'H26.HIST.' || g.i::text,
    ($4::text[])[p.k], ($5::text[])[p.k], ($6::text[])[p.k], ($7::text[])[p.k],
    ($12::text[])[($10::int[])[1 + {_h("u")} % {len(UNIT_PICKS)}]],
    c.channel, ($8::int[])[p.k], s.status,
    CASE WHEN c.channel = 'online'
         THEN r.received - make_interval(secs => {_h("sub")} % 7200) ELSE r.received END,
    CASE WHEN s.status IN ('submitted', 'refused') THEN NULL ELSE r.received END,
    CASE WHEN s.status IN ('submitted', 'refused') THEN NULL
         ELSE r.received + make_interval(days => 1 + {_h("due")} % 20) END,
    f.finished,
    CASE WHEN s.status = 'returned' THEN f.finished + make_interval(days => {_h("ret")} % 3) END,
    COALESCE(CASE WHEN s.status = 'returned'
                  THEN f.finished + make_interval(days => {_h("ret")} % 3) END,
             f.finished, r.received) + interval '1 minute',
    0, 1,
    -- The handling clock of a dossier whose log is its one snapshot: an ending status ends it on
    -- its finish date, else on the snapshot's date; no waiting run was followed, so no pause.
    CASE WHEN s.status IN ('finished', 'returned', 'withdrawn', 'stopped')
         THEN (timezone('Asia/Ho_Chi_Minh',
                        COALESCE(f.finished, r.received + interval '1 minute')))::date END,
    CASE WHEN s.status NOT IN ('submitted', 'refused', 'supplement_requested', 'fees_due')
         THEN (timezone('Asia/Ho_Chi_Minh',
                        r.received + make_interval(days => 1 + {_h("due")} % 20)))::date END
FROM generate_series($1::bigint, $2::bigint) AS g(i)
CROSS JOIN LATERAL (SELECT ($3::int[])[1 + {_h("p")} % {len(PROCEDURE_PICKS)}] AS k) p
CROSS JOIN LATERAL (SELECT ($13::text[])[($11::int[])[1 + {_h("s")} % 1000]] AS status) s
CROSS JOIN LATERAL (
    SELECT timestamptz '{FIRST_DAY.isoformat()}'
           + make_interval(days => {_h("d")} % {DAYS}, secs => {_h("t")} % {WORKDAY_SECONDS})
           AS received
) r
CROSS JOIN LATERAL (
    SELECT CASE
        WHEN ($8::int[])[p.k] >= 3
             AND {_h("c")} % 1000
                 < least(950, ($9::int[])[p.k] + (extract(year FROM r.received)::int - 2017) * 50)
            THEN 'online'
        WHEN {_h("c2")} % 100 < 6 THEN 'postal'
        ELSE 'in_person' END AS channel
) c
CROSS JOIN LATERAL (
    SELECT CASE WHEN s.status IN ('finished', 'returned')
        THEN r.received + make_interval(
            days => least({_h("f1")} % 31, {_h("f2")} % 31),
            secs => 3600 + {_h("f3")} % 25200)
        END AS finished
) f
"""


def history_args() -> list[Any]:
    """The array parameters of HISTORY_INSERT ($3 … $13)."""
    return [
        PROCEDURE_PICKS,
        [p.code for p in PROCEDURES],
        [p.name for p in PROCEDURES],
        [p.domain for p in PROCEDURES],
        [DOMAIN_NAMES[p.domain] for p in PROCEDURES],
        [p.level for p in PROCEDURES],
        [p.online_permille for p in PROCEDURES],
        _expand([(i, w) for i, (_, w) in enumerate(UNIT_WEIGHTS, start=1)]),
        _expand([(i, w) for i, (_, w) in enumerate(STATUS_PERMILLE, start=1)]),
        [u for u, _ in UNIT_WEIGHTS],
        [st for st, _ in STATUS_PERMILLE],
    ]
