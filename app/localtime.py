"""The reporting calendar: Asia/Ho_Chi_Minh (UTC+7, no daylight saving)."""

import datetime as dt
from zoneinfo import ZoneInfo

REPORT_TIMEZONE_NAME = "Asia/Ho_Chi_Minh"
REPORT_TIMEZONE = ZoneInfo(REPORT_TIMEZONE_NAME)


def local_date(moment: dt.datetime | None) -> dt.date | None:
    """The Vietnam calendar date of an aware timestamp."""
    if moment is None:
        return None
    return moment.astimezone(REPORT_TIMEZONE).date()
