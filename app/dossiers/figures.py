"""Every figure the statistics answer, as a condition on the `dossiers` table: the one place that
says which dossiers stand behind a number (contract section 13).

A figure is a predicate over a dossier's stored state and handling clock (`received_on`,
`ended_on`, `effective_due_on`, `status`, `channel`, `service_level`), given the period. The
predicates restate, per dossier, exactly what the summary triggers of migration 0006 count:

* counted: status neither `submitted` nor `refused`;
* received in the period: counted, `received_on` within [from, to];
* ended in the period: an ending status and `ended_on` within [from, to];
* open at the end of a day D: counted, `received_on` <= D, and not ended by D (`ended_on` null
  or after D); a dossier whose `ended_on` is on or before its `received_on` is never open;
* overdue at the end of D: open at D with an `effective_due_on` before D.

A figure may also say how its value is read from the summary tables (`total`), so `count` costs
the same as the report it opens; a figure without one is counted over `dossiers`. A new figure
(e.g. an indicator's numerator and denominator, contract section 12) is one more `register`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Date, Table, and_, case, func, literal, null, or_, true

from app.models import Dossier
from app.stats.scorecard import BY_CODE, COUNTS, UNRECEIVED, Terms, counts_from_summaries
from app.vocabulary import ENDING_STATUSES, STATUSES_WITHOUT_RECEIPT

DOSSIERS: Table = Dossier.__table__  # type: ignore[assignment]


@dataclass(frozen=True)
class Window:
    """What a figure depends on besides the dossier: the period and the ratio's basis."""

    date_from: dt.date
    date_to: dt.date
    basis: str = "online_capable"


Condition = Callable[[Table, Window], ColumnElement[bool]]


@dataclass(frozen=True)
class FromSummaries:
    """How the summary tables give a figure's value: the summary `parts` to read (see
    `app.stats.repository.SUMMARY_COUNTERS`), the value from their counters, and optionally the
    dossiers to take off it (`minus`: a condition counted over `dossiers`, for a figure the
    summaries count all but a rare few of)."""

    parts: tuple[str, ...]
    value: Callable[[Mapping[str, int], Window], int]
    minus: Condition | None = None


@dataclass(frozen=True)
class Figure:
    """A named figure: the dossiers it counts, and (optionally) how the summaries give its value;
    without `summaries` its value is counted over `dossiers`."""

    name: str
    label: str  # in Vietnamese, for the files a clerk opens
    description: str
    condition: Condition
    summaries: FromSummaries | None = None


FIGURES: dict[str, Figure] = {}


def register(figure: Figure) -> Figure:
    """Add a figure to the registry (a name is registered once)."""
    if figure.name in FIGURES:
        raise ValueError(f"figure {figure.name!r} is registered twice")
    FIGURES[figure.name] = figure
    return figure


# --- the building blocks ----------------------------------------------------------------


def counted(d: Table) -> ColumnElement[bool]:
    """Dossiers that count in any figure: received at the desk, not refused."""
    return d.c.status.notin_(sorted(STATUSES_WITHOUT_RECEIPT))


def received_in(d: Table, w: Window) -> ColumnElement[bool]:
    """Counted and received within the period (by local date)."""
    return and_(counted(d), d.c.received_on.between(w.date_from, w.date_to))


def ended_in(d: Table, w: Window) -> ColumnElement[bool]:
    """Ended (an ending status) with the end date within the period."""
    return and_(
        d.c.status.in_(sorted(ENDING_STATUSES)), d.c.ended_on.between(w.date_from, w.date_to)
    )


def open_interval(d: Table) -> ColumnElement[Any]:
    """[`received_on`, `ended_on`) as a date range, empty when the dossier ended on or before
    its receipt day, unbounded above while it has not ended: the expression migration 0010
    indexes (GiST), so "open at the end of a day" is an index look-up."""
    upper = case(
        (d.c.ended_on.is_(None), null()), else_=func.greatest(d.c.ended_on, d.c.received_on)
    )
    return func.daterange(d.c.received_on, upper)


def open_at(d: Table, day: dt.date) -> ColumnElement[bool]:
    """Counted, received on or before `day` and not ended by its end. (`ended_on` > `day` >=
    `received_on` also excludes a dossier that ended on or before its receipt day.) The interval
    condition says the same again, in the form the index answers."""
    return and_(
        counted(d),
        d.c.received_on <= day,
        or_(d.c.ended_on.is_(None), d.c.ended_on > day),
        open_interval(d).op("@>")(literal(day, Date)),
    )


def overdue_at(d: Table, day: dt.date) -> ColumnElement[bool]:
    """An effective due date before `day` (a waiting dossier has none)."""
    return and_(d.c.effective_due_on.is_not(None), d.c.effective_due_on < day)


def _judged(d: Table) -> ColumnElement[bool]:
    """Ended dossiers judged against their due date: not withdrawn, with an effective due date."""
    return and_(d.c.status != "withdrawn", d.c.effective_due_on.is_not(None))


def _online_side(d: Table, w: Window) -> ColumnElement[bool]:
    online = d.c.channel == "online"
    if w.basis == "online_capable":
        return and_(online, d.c.service_level.in_((3, 4)))
    if w.basis == "full_online":
        return and_(online, d.c.service_level == 4)
    return online


def _total_side(d: Table, w: Window) -> ColumnElement[bool]:
    return d.c.service_level.in_((3, 4)) if w.basis == "online_capable" else true()


def in_time(d: Table) -> ColumnElement[bool]:
    """An ended dossier finished early or on time (report 06): withdrawn, without an effective
    due date, or ended on or before it."""
    return or_(
        d.c.status == "withdrawn",
        d.c.effective_due_on.is_(None),
        d.c.ended_on <= d.c.effective_due_on,
    )


_BASIS_COUNTER = {
    "online_capable": ("received.capable_online", "received.capable"),
    "all": ("received.online", "received.total"),
    "full_online": ("received.full_online", "received.total"),
}


def summed(*counters: str, minus: tuple[str, ...] = ()) -> FromSummaries:
    """The sum of summary counters (`<part>.<counter>`), less the `minus` ones."""
    parts = tuple(sorted({name.split(".")[0] for name in (*counters, *minus)}))

    def value(totals: Mapping[str, int], _: Window) -> int:
        return sum(totals[n] for n in counters) - sum(totals[n] for n in minus)

    return FromSummaries(parts, value)


# --- report 06 (contract section 9) --------------------------------------------------------


def _carried(d: Table, w: Window) -> ColumnElement[bool]:
    return open_at(d, w.date_from - dt.timedelta(days=1))


def _received_total(d: Table, w: Window) -> ColumnElement[bool]:
    return or_(received_in(d, w), _carried(d, w))


def _pending_on_time(d: Table, w: Window) -> ColumnElement[bool]:
    return and_(open_at(d, w.date_to), ~overdue_at(d, w.date_to))


def _finished_in_time(d: Table, w: Window) -> ColumnElement[bool]:
    return and_(ended_in(d, w), in_time(d))


register(
    Figure(
        "received_online",
        "Hồ sơ tiếp nhận trực tuyến trong kỳ",
        "Report 06: received in the period, channel online.",
        lambda d, w: and_(received_in(d, w), d.c.channel == "online"),
        summed("received.online"),
    )
)
register(
    Figure(
        "received_offline",
        "Hồ sơ tiếp nhận trực tiếp, dịch vụ bưu chính trong kỳ",
        "Report 06: received in the period in person or by post.",
        lambda d, w: and_(received_in(d, w), d.c.channel != "online"),
        summed("received.total", minus=("received.online",)),
    )
)
register(
    Figure(
        "carried_over",
        "Hồ sơ từ kỳ trước chuyển sang",
        "Report 06: received before `from`, not ended before it.",
        _carried,
        summed("carried.open"),
    )
)
register(
    Figure(
        "received_total",
        "Hồ sơ nhận giải quyết",
        "Report 06: carried over, or received in the period.",
        _received_total,
        summed("carried.open", "received.total"),
    )
)
register(
    Figure(
        "finished_early",
        "Hồ sơ đã giải quyết trước hạn",
        "Report 06: ended in the period before the effective due date (not withdrawn).",
        lambda d, w: and_(ended_in(d, w), _judged(d), d.c.ended_on < d.c.effective_due_on),
        summed("finished.early"),
    )
)
register(
    Figure(
        "finished_on_time",
        "Hồ sơ đã giải quyết đúng hạn",
        "Report 06: ended in the period on the effective due date, without one, or withdrawn.",
        lambda d, w: and_(
            ended_in(d, w),
            or_(
                d.c.status == "withdrawn",
                d.c.effective_due_on.is_(None),
                d.c.ended_on == d.c.effective_due_on,
            ),
        ),
        summed("finished.on_time"),
    )
)
register(
    Figure(
        "finished_late",
        "Hồ sơ đã giải quyết quá hạn",
        "Report 06: ended in the period after the effective due date (not withdrawn).",
        lambda d, w: and_(ended_in(d, w), _judged(d), d.c.ended_on > d.c.effective_due_on),
        summed("finished.late"),
    )
)
register(
    Figure(
        "finished_total",
        "Hồ sơ đã giải quyết",
        "Report 06: ended in the period.",
        ended_in,
        summed("finished.early", "finished.on_time", "finished.late"),
    )
)
register(
    Figure(
        "pending_on_time",
        "Hồ sơ đang giải quyết trong hạn",
        "Report 06: open at the end of `to`, effective due date on or after `to`, or none.",
        _pending_on_time,
        summed("pending.open", minus=("pending.overdue",)),
    )
)
register(
    Figure(
        "pending_overdue",
        "Hồ sơ đang giải quyết quá hạn",
        "Report 06: open at the end of `to` with an effective due date before `to`.",
        lambda d, w: and_(open_at(d, w.date_to), overdue_at(d, w.date_to)),
        summed("pending.overdue"),
    )
)
register(
    Figure(
        "pending_total",
        "Hồ sơ đang giải quyết",
        "Report 06: open at the end of `to`.",
        lambda d, w: open_at(d, w.date_to),
        summed("pending.open"),
    )
)

# --- the online-filing ratio (contract section 6), with `basis` ------------------------------

register(
    Figure(
        "online",
        "Hồ sơ nộp trực tuyến (tử số tỷ lệ trực tuyến)",
        "Online ratio: the numerator for `basis` (received in the period).",
        lambda d, w: and_(received_in(d, w), _online_side(d, w)),
        FromSummaries(("received",), lambda totals, w: totals[_BASIS_COUNTER[w.basis][0]]),
    )
)
register(
    Figure(
        "total",
        "Hồ sơ tiếp nhận (mẫu số tỷ lệ trực tuyến)",
        "Online ratio: the denominator for `basis` (received in the period).",
        lambda d, w: and_(received_in(d, w), _total_side(d, w)),
        FromSummaries(("received",), lambda totals, w: totals[_BASIS_COUNTER[w.basis][1]]),
    )
)

# --- the scorecard indicators (contract section 12): numerator and denominator of each -------


def _on_time_left_out(d: Table, w: Window) -> ColumnElement[bool]:
    """Ended in the period early or on time, yet not in `on_time`'s denominator: received after
    the period (so ended before its receipt) or never received. The second condition repeats the
    first in the words of the partial index `ix_dossiers_ended_before_received` (0009)."""
    return and_(
        _finished_in_time(d, w),
        or_(d.c.received_on.is_(None), d.c.received_on > w.date_to),
        or_(d.c.received_on.is_(None), d.c.ended_on < d.c.received_on),
    )


def _from_scorecard(terms: Terms) -> FromSummaries:
    """An indicator side's value as the scorecard defines it (`app.stats.scorecard`), from the
    summary totals; its one count the summaries do not keep is taken off over `dossiers`."""
    if UNRECEIVED in terms.plus:
        raise ValueError(f"{UNRECEIVED} is only ever taken off")
    keys = {key for name in terms.names if name != UNRECEIVED for key in COUNTS[name].names}

    def value(totals: Mapping[str, int], _: Window) -> int:
        return terms.value(counts_from_summaries(totals))

    return FromSummaries(
        tuple(sorted({key.split(".")[0] for key in keys})),
        value,
        minus=_on_time_left_out if UNRECEIVED in terms.minus else None,
    )


def _indicator(
    code: str,
    label: str,
    numerator: tuple[str, Condition],
    denominator: tuple[str, Condition],
) -> None:
    """Register the two sides of an indicator: which dossiers each counts (here), and its value
    from the summaries (the scorecard's own definition)."""
    indicator = BY_CODE[code]
    for side, (description, condition), terms in (
        ("numerator", numerator, indicator.numerator),
        ("denominator", denominator, indicator.denominator),
    ):
        side_label = "tử số" if side == "numerator" else "mẫu số"
        register(
            Figure(
                f"{code}.{side}",
                f"Hồ sơ {label} ({side_label})",
                f"Indicator `{code}`, {side}: {description}",
                condition,
                _from_scorecard(terms),
            )
        )


def _received_and(condition: Callable[[Table], ColumnElement[bool]]) -> Condition:
    return lambda d, w: and_(received_in(d, w), condition(d))


def _ended_and(condition: Callable[[Table], ColumnElement[bool]]) -> Condition:
    return lambda d, w: and_(ended_in(d, w), condition(d))


def _results(d: Table) -> ColumnElement[bool]:
    return d.c.status.in_(("finished", "returned"))


def _with_fee(d: Table) -> ColumnElement[bool]:
    return d.c.fee_amount > 0


_indicator(
    "on_time",
    "xử lý trước hạn, đúng hạn",
    (
        "those of the denominator finished early or on time in the period, or pending on time"
        " at its end.",
        lambda d, w: and_(
            _received_total(d, w), or_(_finished_in_time(d, w), _pending_on_time(d, w))
        ),
    ),
    ("report 06 `received_total`.", _received_total),
)
_indicator(
    "online_filing",
    "nộp trực tuyến",
    ("received, channel online.", _received_and(lambda d: d.c.channel == "online")),
    ("received.", received_in),
)
_indicator(
    "full_online",
    "trực tuyến toàn trình của TTHC đủ điều kiện",
    (
        "received, channel online, level 4, procedure eligible.",
        _received_and(
            lambda d: and_(
                d.c.full_online_eligible, d.c.channel == "online", d.c.service_level == 4
            )
        ),
    ),
    (
        "received, procedure eligible.",
        _received_and(lambda d: d.c.full_online_eligible.is_(True)),
    ),
)
_indicator(
    "online_payment",
    "thanh toán trực tuyến",
    (
        "received with fees, paid through the national portal or a local gateway.",
        _received_and(
            lambda d: and_(_with_fee(d), d.c.paid_online.in_(("national_portal", "local_gateway")))
        ),
    ),
    ("received with fees.", _received_and(_with_fee)),
)
_indicator(
    "e_result",
    "có kết quả điện tử",
    (
        "ended in the period as finished or returned, result issued electronically.",
        _ended_and(lambda d: and_(_results(d), d.c.e_result)),
    ),
    ("ended in the period as finished or returned.", _ended_and(_results)),
)
_indicator(
    "digitized",
    "được số hóa",
    ("received, digitised.", _received_and(lambda d: d.c.digitized.is_(True))),
    ("received.", received_in),
)
_indicator(
    "reused_data",
    "tái sử dụng dữ liệu số hóa",
    (
        "received, reusing data of the national warehouse.",
        _received_and(lambda d: d.c.reused_data.is_(True)),
    ),
    ("received.", received_in),
)
_indicator(
    "online_on_time",
    "trực tuyến giải quyết đúng hạn",
    (
        "ended in the period, channel online, early or on time.",
        _ended_and(lambda d: and_(d.c.channel == "online", in_time(d))),
    ),
    ("ended in the period, channel online.", _ended_and(lambda d: d.c.channel == "online")),
)
