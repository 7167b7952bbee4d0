"""The reporting calendar: Asia/Ho_Chi_Minh (UTC+7, no daylight saving)."""

import datetime as dt
from zoneinfo import ZoneInfo

REPORT_TIMEZONE_NAME = "Asia/Ho_Chi_Minh"
REPORT_TIMEZONE = ZoneInfo(REPORT_TIMEZONE_NAME)


# Vietnam has kept UTC+7 without daylight saving since 1976: there a fixed offset is exact and
# much faster than a zone look-up; earlier instants take the zone's history.
_UTC_PLUS_7 = dt.timezone(dt.timedelta(hours=7))
_FIXED_SINCE = dt.datetime(1976, 1, 1, tzinfo=dt.UTC)


def local_date(moment: dt.datetime | None) -> dt.date | None:
    """The Vietnam calendar date of an aware timestamp."""
    if moment is None:
        return None
    zone = _UTC_PLUS_7 if moment >= _FIXED_SINCE else REPORT_TIMEZONE
    return moment.astimezone(zone).date()
