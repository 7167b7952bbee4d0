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
from app.vocabulary import ENDING_STATUSES, STATUSES_WITHOUT_RECEIPT

DOSSIERS: Table = Dossier.__table__  # type: ignore[assignment]


@dataclass(frozen=True)
class Window:
    """What a figure depends on besides the dossier: the period and the ratio's basis."""

    date_from: dt.date
    date_to: dt.date
    basis: str = "online_capable"


Condition = Callable[[Table, Window], ColumnElement[bool]]
# The figure's value from the summary totals of `app.stats.repository.figure_totals`.
SummaryTotal = Callable[[Mapping[str, int], Window], int]


@dataclass(frozen=True)
class Figure:
    """A named figure: the dossiers it counts, and (optionally) how the summaries give its value."""

    name: str
    label: str  # in Vietnamese, for the files a clerk opens
    description: str
    condition: Condition
    total: SummaryTotal | None = None


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


_BASIS_COUNTER = {
    "online_capable": ("received.capable_online", "received.capable"),
    "all": ("received.online", "received.total"),
    "full_online": ("received.full_online", "received.total"),
}


def _sum(*names: str) -> SummaryTotal:
    return lambda totals, _: sum(totals[n] for n in names)


# --- report 06 (contract section 9) --------------------------------------------------------

register(
    Figure(
        "received_online",
        "Hồ sơ tiếp nhận trực tuyến trong kỳ",
        "Report 06: received in the period, channel online.",
        lambda d, w: and_(received_in(d, w), d.c.channel == "online"),
        _sum("received_online"),
    )
)
register(
    Figure(
        "received_offline",
        "Hồ sơ tiếp nhận trực tiếp, dịch vụ bưu chính trong kỳ",
        "Report 06: received in the period in person or by post.",
        lambda d, w: and_(received_in(d, w), d.c.channel != "online"),
        _sum("received_offline"),
    )
)
register(
    Figure(
        "carried_over",
        "Hồ sơ từ kỳ trước chuyển sang",
        "Report 06: received before `from`, not ended before it.",
        lambda d, w: open_at(d, w.date_from - dt.timedelta(days=1)),
        _sum("carried_over"),
    )
)
register(
    Figure(
        "received_total",
        "Hồ sơ nhận giải quyết",
        "Report 06: carried over, or received in the period.",
        lambda d, w: or_(received_in(d, w), open_at(d, w.date_from - dt.timedelta(days=1))),
        _sum("carried_over", "received_online", "received_offline"),
    )
)
register(
    Figure(
        "finished_early",
        "Hồ sơ đã giải quyết trước hạn",
        "Report 06: ended in the period before the effective due date (not withdrawn).",
        lambda d, w: and_(ended_in(d, w), _judged(d), d.c.ended_on < d.c.effective_due_on),
        _sum("finished_early"),
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
        _sum("finished_on_time"),
    )
)
register(
    Figure(
        "finished_late",
        "Hồ sơ đã giải quyết quá hạn",
        "Report 06: ended in the period after the effective due date (not withdrawn).",
        lambda d, w: and_(ended_in(d, w), _judged(d), d.c.ended_on > d.c.effective_due_on),
        _sum("finished_late"),
    )
)
register(
    Figure(
        "finished_total",
        "Hồ sơ đã giải quyết",
        "Report 06: ended in the period.",
        ended_in,
        _sum("finished_early", "finished_on_time", "finished_late"),
    )
)
register(
    Figure(
        "pending_on_time",
        "Hồ sơ đang giải quyết trong hạn",
        "Report 06: open at the end of `to`, effective due date on or after `to`, or none.",
        lambda d, w: and_(open_at(d, w.date_to), ~overdue_at(d, w.date_to)),
        _sum("pending_on_time"),
    )
)
register(
    Figure(
        "pending_overdue",
        "Hồ sơ đang giải quyết quá hạn",
        "Report 06: open at the end of `to` with an effective due date before `to`.",
        lambda d, w: and_(open_at(d, w.date_to), overdue_at(d, w.date_to)),
        _sum("pending_overdue"),
    )
)
register(
    Figure(
        "pending_total",
        "Hồ sơ đang giải quyết",
        "Report 06: open at the end of `to`.",
        lambda d, w: open_at(d, w.date_to),
        _sum("pending_on_time", "pending_overdue"),
    )
)

# --- the online-filing ratio (contract section 6), with `basis` ------------------------------

register(
    Figure(
        "online",
        "Hồ sơ nộp trực tuyến (tử số tỷ lệ trực tuyến)",
        "Online ratio: the numerator for `basis` (received in the period).",
        lambda d, w: and_(received_in(d, w), _online_side(d, w)),
        lambda totals, w: totals[_BASIS_COUNTER[w.basis][0]],
    )
)
register(
    Figure(
        "total",
        "Hồ sơ tiếp nhận (mẫu số tỷ lệ trực tuyến)",
        "Online ratio: the denominator for `basis` (received in the period).",
        lambda d, w: and_(received_in(d, w), _total_side(d, w)),
        lambda totals, w: totals[_BASIS_COUNTER[w.basis][1]],
    )
)
