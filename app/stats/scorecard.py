"""The national scorecard (contract section 12): which counts make each indicator, and its points.

Each indicator is a ratio of two counts of dossiers (`app.stats.repository.INDICATOR_COUNTS`),
scored `max_points × min(1, ratio / full_marks_at)` from the scoring table (`indicators`, which
`PUT /v1/indicators/{indicator}` changes). The counts are those of report 06 and the online
ratio, from the same summaries, so every indicator reconciles with those reports."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

Counts = Mapping[str, int]


@dataclass(frozen=True)
class Indicator:
    """One indicator: its id, its name as the national scorecard gives it, and its two counts."""

    code: str
    name: str
    numerator: Callable[[Counts], int]
    denominator: Callable[[Counts], int]


def _count(name: str) -> Callable[[Counts], int]:
    return lambda c: c[name]


# The table of contract section 12, in its order.
INDICATORS: tuple[Indicator, ...] = (
    Indicator(
        "on_time",
        "Tỷ lệ hồ sơ xử lý trước hạn, đúng hạn (2.1)",
        # Report 06's finished early or on time and pending on time, of its received total;
        # a dossier ended in the period but received after it is in neither.
        lambda c: (
            c["ended_early"]
            + c["ended_on_time"]
            + c["pending_on_time"]
            - c["ended_in_time_unreceived"]
        ),
        lambda c: c["carried_over"] + c["received"],
    ),
    Indicator(
        "online_filing",
        "Tỷ lệ hồ sơ nộp trực tuyến (3.3)",
        _count("received_online"),
        _count("received"),
    ),
    Indicator(
        "full_online",
        "Tỷ lệ hồ sơ DVCTT toàn trình / TTHC đủ điều kiện",
        _count("eligible_full_online"),
        _count("eligible"),
    ),
    Indicator(
        "online_payment",
        "Tỷ lệ hồ sơ thanh toán trực tuyến (3.6)",
        _count("with_fee_paid_online"),
        _count("with_fee"),
    ),
    Indicator(
        "e_result",
        "Tỷ lệ hồ sơ có kết quả điện tử (4.1)",
        _count("e_results"),
        _count("results"),
    ),
    Indicator(
        "digitized",
        "Tỷ lệ hồ sơ được số hóa (4.2)",
        _count("digitized"),
        _count("received"),
    ),
    Indicator(
        "reused_data",
        "Tỷ lệ hồ sơ tái sử dụng dữ liệu số hóa (4.4)",
        _count("reused_data"),
        _count("received"),
    ),
    Indicator(
        "online_on_time",
        "Tỷ lệ hồ sơ trực tuyến giải quyết đúng hạn",
        _count("online_ended_in_time"),
        _count("online_ended"),
    ),
)
BY_CODE = {i.code: i for i in INDICATORS}
CODES = tuple(BY_CODE)


@dataclass(frozen=True)
class Scoring:
    """A row of the scoring table."""

    max_points: Decimal | None
    full_marks_at: Decimal


@dataclass(frozen=True)
class Score:
    """One indicator of one group: its counts, ratio and points (exact fractions)."""

    indicator: Indicator
    numerator: int
    denominator: int
    scoring: Scoring

    @property
    def ratio(self) -> Fraction | None:
        return Fraction(self.numerator, self.denominator) if self.denominator else None

    @property
    def points(self) -> Fraction | None:
        """`max_points × min(1, ratio / full_marks_at)`; none without points or a ratio."""
        ratio = self.ratio
        if self.scoring.max_points is None or ratio is None:
            return None
        share = min(Fraction(1), ratio / Fraction(self.scoring.full_marks_at))
        return Fraction(self.scoring.max_points) * share


def scores(counts: Counts, table: Mapping[str, Scoring]) -> list[Score]:
    """Every indicator of one group, in the table's order."""
    return [Score(i, i.numerator(counts), i.denominator(counts), table[i.code]) for i in INDICATORS]


def total_points(group: list[Score]) -> Fraction:
    """The sum of the points that are not null."""
    return sum((s.points for s in group if s.points is not None), Fraction(0))
