"""The national scorecard (contract section 12): which counts make each indicator, and its points.

Each indicator is a ratio of two sums of named counts (`COUNTS`), and each count is a sum of the
summary counters the triggers keep exact (`<part>.<counter>`, see
`app.stats.repository.SUMMARY_COUNTERS`) — except `UNRECEIVED`, a rare correction counted over
`dossiers`. The report (`app.stats.repository.indicator_counts`) and the dossiers behind each side
(`app.dossiers.figures`) both read this one definition. An indicator is scored
`max_points × min(1, ratio / full_marks_at)` from the scoring table (`indicators`, which
`PUT /v1/indicators/{indicator}` changes). The counts are those of report 06 and the online
ratio, from the same summaries, so every indicator reconciles with those reports."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from app.models import SCORECARD_FINISHED_COUNTERS, SCORECARD_RECEIVED_COUNTERS

Counts = Mapping[str, int]


@dataclass(frozen=True)
class Terms:
    """A sum of named values, less others."""

    plus: tuple[str, ...]
    minus: tuple[str, ...] = ()

    @property
    def names(self) -> tuple[str, ...]:
        return (*self.plus, *self.minus)

    def value(self, values: Counts) -> int:
        return sum(values[n] for n in self.plus) - sum(values[n] for n in self.minus)


# Each count, as summary counters (`<part>.<counter>`) of one part.
COUNTS: dict[str, Terms] = {
    # received in the period
    "received": Terms(("received.total",)),
    "received_online": Terms(("received.online",)),
    **{name: Terms((f"received.{name}",)) for name in SCORECARD_RECEIVED_COUNTERS},
    # ended in the period
    "ended_early": Terms(("finished.early",)),
    "ended_on_time": Terms(("finished.on_time",)),
    **{name: Terms((f"finished.{name}",)) for name in SCORECARD_FINISHED_COUNTERS},
    # open at the end of the day before `from`, and at the end of `to`
    "carried_over": Terms(("carried.open",)),
    "pending_on_time": Terms(("pending.open",), ("pending.overdue",)),
}
# Ended early or on time within the period, but received after it (or never): report 06
# counts them as finished, yet they are not among its received or carried over. Counted over
# `dossiers` (rare, through a partial index), not kept in the summaries.
UNRECEIVED = "ended_in_time_unreceived"
COUNT_NAMES = (*COUNTS, UNRECEIVED)


def _summary_part(terms: Terms) -> str:
    """The summary part (`received`, `finished`, `carried`, `pending`) a count is read from."""
    (part,) = {key.split(".")[0] for key in terms.names}
    return part


# The counts by the summary part they are read from.
COUNTS_BY_PART: dict[str, dict[str, Terms]] = {}
for _name, _terms in COUNTS.items():
    COUNTS_BY_PART.setdefault(_summary_part(_terms), {})[_name] = _terms


def counts_from_summaries(totals: Counts) -> dict[str, int]:
    """The counts from summary totals keyed `<part>.<counter>` (those of the parts present);
    `UNRECEIVED`, which the summaries do not keep, as 0."""
    found = {
        name: terms.value(totals)
        for name, terms in COUNTS.items()
        if all(key in totals for key in terms.names)
    }
    return {**found, UNRECEIVED: 0}


@dataclass(frozen=True)
class Indicator:
    """One indicator: its id, its name as the national scorecard gives it, and its two sides
    as sums of `COUNT_NAMES`."""

    code: str
    name: str
    numerator: Terms
    denominator: Terms


# The table of contract section 12, in its order.
INDICATORS: tuple[Indicator, ...] = (
    Indicator(
        "on_time",
        "Tỷ lệ hồ sơ xử lý trước hạn, đúng hạn (2.1)",
        # Report 06's finished early or on time and pending on time, of its received total;
        # a dossier ended in the period but received after it is in neither.
        Terms(("ended_early", "ended_on_time", "pending_on_time"), (UNRECEIVED,)),
        Terms(("carried_over", "received")),
    ),
    Indicator(
        "online_filing",
        "Tỷ lệ hồ sơ nộp trực tuyến (3.3)",
        Terms(("received_online",)),
        Terms(("received",)),
    ),
    Indicator(
        "full_online",
        "Tỷ lệ hồ sơ DVCTT toàn trình / TTHC đủ điều kiện",
        Terms(("eligible_full_online",)),
        Terms(("eligible",)),
    ),
    Indicator(
        "online_payment",
        "Tỷ lệ hồ sơ thanh toán trực tuyến (3.6)",
        Terms(("with_fee_paid_online",)),
        Terms(("with_fee",)),
    ),
    Indicator(
        "e_result",
        "Tỷ lệ hồ sơ có kết quả điện tử (4.1)",
        Terms(("e_results",)),
        Terms(("results",)),
    ),
    Indicator(
        "digitized",
        "Tỷ lệ hồ sơ được số hóa (4.2)",
        Terms(("digitized",)),
        Terms(("received",)),
    ),
    Indicator(
        "reused_data",
        "Tỷ lệ hồ sơ tái sử dụng dữ liệu số hóa (4.4)",
        Terms(("reused_data",)),
        Terms(("received",)),
    ),
    Indicator(
        "online_on_time",
        "Tỷ lệ hồ sơ trực tuyến giải quyết đúng hạn",
        Terms(("online_ended_in_time",)),
        Terms(("online_ended",)),
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
    return [
        Score(i, i.numerator.value(counts), i.denominator.value(counts), table[i.code])
        for i in INDICATORS
    ]


def total_points(group: list[Score]) -> Fraction:
    """The sum of the points that are not null."""
    return sum((s.points for s in group if s.points is not None), Fraction(0))
