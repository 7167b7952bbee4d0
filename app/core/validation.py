"""Reusable input types: codes and names without control characters, bounded dates, timestamps
that carry an offset. Bodies, path segments and query parameters all use these, so one rule
holds at every door."""

import datetime as dt
import re
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    StringConstraints,
    WithJsonSchema,
)
from pydantic_core import PydanticCustomError

from app.vocabulary import SERVICE_LEVEL_BY_NAME, ServiceLevel

# C0 control characters and DEL (contract section 2 v2): they break spreadsheets and CSV
# readers, and PostgreSQL text cannot hold NUL at all.
_CONTROL_CHARACTER = re.compile(r"[\x00-\x1f\x7f]")

# The dates the API accepts, sent or asked for (local dates, both inclusive).
EARLIEST_DATE = dt.date(2000, 1, 1)
LATEST_DATE = dt.date(2099, 12, 31)
# The same bounds as instants: local midnight starting EARLIEST_DATE, and the one after LATEST_DATE
# (Vietnam is at a fixed UTC+7 over the whole range), so a timestamp is checked without
# converting it to local time.
_EARLIEST_INSTANT = dt.datetime.combine(
    EARLIEST_DATE, dt.time(), dt.timezone(dt.timedelta(hours=7))
)
_AFTER_LATEST_INSTANT = dt.datetime.combine(
    LATEST_DATE + dt.timedelta(days=1), dt.time(), dt.timezone(dt.timedelta(hours=7))
)
DATE_RANGE_TEXT = f"between {EARLIEST_DATE} and {LATEST_DATE}"


def refuse_control_characters(value: Any) -> Any:
    """Refuse text holding a C0 control character or DEL (checked before any trimming)."""
    if isinstance(value, str):
        found = _CONTROL_CHARACTER.search(value)
        if found:
            raise PydanticCustomError(
                "control_character",
                "must not contain control characters (U+0000–U+001F, U+007F); "
                f"found U+{ord(found.group()):04X} at position {found.start()}",
            )
    return value


def _not_blank(value: str) -> str:
    # Pydantic checks min_length before stripping, so " " would pass as "".
    if not value:
        raise PydanticCustomError("string_too_short", "must not be empty or blank")
    return value


def _date_in_range(value: dt.date) -> dt.date:
    if not EARLIEST_DATE <= value <= LATEST_DATE:
        raise PydanticCustomError(
            "date_out_of_range", "must be a date {range}", {"range": DATE_RANGE_TEXT}
        )
    return value


def _timestamp_in_range(value: dt.datetime) -> dt.datetime:
    # The year first: comparing year 1 or 9999 with an instant in another offset could overflow.
    near = EARLIEST_DATE.year - 1 <= value.year <= LATEST_DATE.year + 1
    if not (near and _EARLIEST_INSTANT <= value < _AFTER_LATEST_INSTANT):
        raise PydanticCustomError(
            "date_out_of_range",
            "must fall on a local date {range}",
            {"range": DATE_RANGE_TEXT},
        )
    return value


_TEXT = BeforeValidator(refuse_control_characters)

# A code: trimmed, then 1–64 characters (so a blank code is refused).
Code = Annotated[
    str,
    _TEXT,
    StringConstraints(min_length=1, max_length=64, strip_whitespace=True),
    AfterValidator(_not_blank),
]
EventId = Annotated[str, _TEXT, StringConstraints(min_length=1, max_length=128)]
Name = Annotated[str, _TEXT, StringConstraints(max_length=500)]
Timestamp = Annotated[AwareDatetime, AfterValidator(_timestamp_in_range)]
ReportDate = Annotated[dt.date, AfterValidator(_date_in_range)]


class StrictInput(BaseModel):
    """Base for request bodies: unknown fields are an error."""

    model_config = ConfigDict(extra="forbid")


def _level_by_name(value: Any) -> Any:
    """`"offline"` / `"partial"` / `"full"` (Decree 42/2022) → 2 / 3 / 4; numbers pass."""
    if isinstance(value, str) and value in SERVICE_LEVEL_BY_NAME:
        return SERVICE_LEVEL_BY_NAME[value]
    return value


# A service level as sent: 2, 3, 4 or the level's name; always the number once validated.
LevelInput = Annotated[
    ServiceLevel,
    BeforeValidator(_level_by_name),
    WithJsonSchema(
        {
            "anyOf": [
                {"enum": [2, 3, 4], "type": "integer"},
                {"enum": list(SERVICE_LEVEL_BY_NAME), "type": "string"},
            ],
            "description": "2, 3, 4, or offline (2), partial (3), full (4)",
        },
        mode="validation",
    ),
]
