"""Reusable input types: bounded strings without NUL bytes, timestamps that carry an offset."""

import datetime as dt
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, StringConstraints


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain NUL bytes")
    return value


def _reasonable_year(value: dt.datetime) -> dt.datetime:
    if not 1900 <= value.year <= 2200:
        raise ValueError("year must be between 1900 and 2200")
    return value


Code = Annotated[
    str,
    StringConstraints(min_length=1, max_length=64, strip_whitespace=True),
    AfterValidator(_no_nul),
]
EventId = Annotated[str, StringConstraints(min_length=1, max_length=128), AfterValidator(_no_nul)]
Name = Annotated[str, StringConstraints(max_length=500), AfterValidator(_no_nul)]
Timestamp = Annotated[AwareDatetime, AfterValidator(_reasonable_year)]


class StrictInput(BaseModel):
    """Base for request bodies: unknown fields are an error."""

    model_config = ConfigDict(extra="forbid")
