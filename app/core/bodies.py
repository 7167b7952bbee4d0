"""Reading a batch body whose items are validated one by one later: the checks of the body as
a whole (valid JSON, bounded nesting, an object holding a non-empty list under the limit),
shared by the native and the national ingest endpoints."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import orjson
from fastapi import Request

from app.config import get_settings
from app.core.middleware.limits import json_depth_exceeds
from app.core.problems import AppError, PayloadTooLarge, ValidationFailed, field_error

# (message, loc, code) -> the error to raise; callers add their own members (e.g. national codes).
Fail = Callable[[str, list[str | int], str], AppError]

# Below this a body parses in well under a millisecond: not worth a thread hop.
_PARSE_INLINE_BYTES = 64 * 1024


def _parse(raw: bytes, max_depth: int) -> tuple[Any, bool]:
    """The parsed body, and whether it nests deeper than `max_depth`. The size of the work is
    bounded before this runs: at most `max_body_bytes` and `max_json_values` (app.core.middleware.limits)."""
    body = orjson.loads(raw)
    return body, json_depth_exceeds(body, max_depth)


def invalid(message: str, loc: list[str | int], code: str) -> AppError:
    """The default: 422, or 413 for too many items."""
    error_class = PayloadTooLarge if code == "too_long" else ValidationFailed
    return error_class(message, errors=[field_error(loc, message, code)])


async def read_batch(
    request: Request,
    field: str,
    *,
    fail: Fail = invalid,
    check_object: Callable[[dict[str, Any]], None] | None = None,
    bare_list: bool = False,
) -> list[Any]:
    """The list under `field` of a JSON object body, checked as a whole."""
    settings = get_settings()
    raw = await request.body()
    try:
        if len(raw) < _PARSE_INLINE_BYTES:
            body, too_deep = _parse(raw, settings.max_json_depth)
        else:  # a big body is parsed in a thread, so other requests are served meanwhile
            body, too_deep = await asyncio.to_thread(_parse, raw, settings.max_json_depth)
    except orjson.JSONDecodeError as exc:
        raise fail(f"body is not valid JSON: {exc}", ["body"], "json_invalid") from None
    if too_deep:
        message = f"arrays and objects nest at most {settings.max_json_depth} levels deep"
        raise fail(message, ["body"], "json_too_deep")
    if bare_list and isinstance(body, list):  # the body may be the list itself
        body = {field: body}
    elif not isinstance(body, dict):
        raise fail(f"body must be an object with '{field}'", ["body"], "object_type")
    elif check_object is not None:
        check_object(body)
    items = body.get(field)
    if not isinstance(items, list):
        code = "missing" if items is None else "list_type"
        raise fail(f"{field} must be a list", ["body", field], code)
    if not items:
        raise fail(f"{field} is empty", ["body", field], "too_short")
    limit = settings.max_events_per_request
    if len(items) > limit:
        raise fail(
            f"at most {limit} items per request; got {len(items)}", ["body", field], "too_long"
        )
    return items
