"""Request limits: body size (enforced while reading), request target, time, JSON nesting."""

from __future__ import annotations

import asyncio
import re
from typing import Any

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.problems import RETRY_AFTER_SECONDS, send_problem


class BodyTooLarge(HTTPException):
    """Raised inside `receive` when the body passes the cap. An HTTPException, so that FastAPI's
    body parsing passes it on (it turns other errors into 400) and the app answers 413."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__(413, f"the body is over {max_bytes} bytes")


class BodyTooManyValues(BodyTooLarge):
    """Raised inside `receive` when the body holds more JSON values than the cap."""

    def __init__(self, max_values: int) -> None:
        HTTPException.__init__(self, 413, f"the body holds more than {max_values} JSON values")


# The rest of a JSON string from inside it: anything but a quote or a backslash, and escaped pairs;
# and a whole string. Both run in C, so counting stays a scan of the bytes whatever the body holds.
_STRING_REST = re.compile(rb'[^"\\]*(?:\\.[^"\\]*)*', re.DOTALL)
_STRINGS = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)


class JsonValueCounter:
    """Counts `,`, `[` and `{` outside JSON strings, fed the body in chunks as they arrive: an
    upper bound of the values a body holds, which text inside names cannot inflate."""

    def __init__(self) -> None:
        self.values = 0
        self._in_string = False  # the last chunk ended inside a string
        self._escaped = False  # ... on a backslash, which escapes this chunk's first byte

    def feed(self, chunk: bytes) -> int:
        start = 0
        if self._in_string:
            if self._escaped and chunk:
                self._escaped, start = False, 1
            start = self._string_end(chunk, start)
            if self._in_string:
                return self.values
        # Complete strings removed, a quote left over opens a string this chunk does not close.
        outside = _STRINGS.sub(b"", chunk[start:])
        quote = outside.find(b'"')
        if quote != -1:
            self._in_string = True
            self._string_end(outside, quote + 1)
            outside = outside[:quote]
        self.values += outside.count(b",") + outside.count(b"[") + outside.count(b"{")
        return self.values

    def _string_end(self, chunk: bytes, start: int) -> int:
        """Where the string open at `start` ends in `chunk` (after its closing quote); the
        length of `chunk` when it runs on, noting a trailing lone backslash."""
        match = _STRING_REST.match(chunk, start)
        end = match.end() if match else start
        if end < len(chunk) and chunk[end] == ord('"'):
            self._in_string = False
            return end + 1
        self._escaped = end < len(chunk)  # stopped on a backslash that is the last byte
        return len(chunk)


class BodySizeLimitMiddleware:
    """Answers 413 problem+json for bodies over `max_bytes` (declared or streamed), or holding
    more than `max_values` JSON values.

    Values are counted on the raw bytes as they arrive (`,`, `[` and `{`, a cheap upper bound;
    outside strings only once that passes the cap, so names full of commas are not refused), so a
    body of millions of tiny values (`[[],[],...]`) is refused before anything parses it
    into hundreds of megabytes of objects."""

    def __init__(self, app: ASGIApp, max_bytes: int, max_values: int = 0) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.max_values = max_values

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._reject(send, f"the body is over {self.max_bytes} bytes")
            return
        received = 0
        rough = 0  # `,` `[` `{` anywhere: cheap, and an upper bound of the exact count
        seen: list[bytes] = []
        exact: JsonValueCounter | None = None  # only once the rough count passes the cap
        response_started = False

        def too_many_values(chunk: bytes) -> bool:
            nonlocal rough, exact
            if exact is not None:
                return exact.feed(chunk) > self.max_values
            rough += chunk.count(b",") + chunk.count(b"[") + chunk.count(b"{")
            seen.append(chunk)
            if rough <= self.max_values:
                return False
            # Text inside strings may have inflated the rough count: count exactly from here on.
            exact = JsonValueCounter()
            for part in seen:
                exact.feed(part)
            seen.clear()
            return exact.values > self.max_values

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                chunk = message.get("body", b"")
                received += len(chunk)
                if received > self.max_bytes:
                    raise BodyTooLarge(self.max_bytes)
                if self.max_values and too_many_values(chunk):
                    raise BodyTooManyValues(self.max_values)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal response_started
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLarge as exc:
            if not response_started:
                await self._reject(send, exc.detail)

    async def _reject(self, send: Send, detail: str) -> None:
        await send_problem(send, 413, detail)


def first_header(scope: Scope, name: bytes) -> bytes | None:
    """The first value of header `name` (lower case), as Starlette's `request.headers` reads it."""
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value)
    return None


# Headers that must come once: authentication and the rate limit would otherwise be able to
# read different ones (issue 13, item 4).
_SINGLE_HEADERS = (b"authorization",)


class RequestHeadMiddleware:
    """431 problem+json for a request head with more than `max_count` headers or more than
    `max_bytes` of header names and values; 400 `duplicate_header` for a second Authorization
    header. Outermost, before the rate limit, authentication or any handler runs.

    The server entry point (app/tools/server.py) bounds the head's size and time while it is read;
    this check holds for any other ASGI server too."""

    def __init__(self, app: ASGIApp, max_count: int, max_bytes: int) -> None:
        self.app = app
        self.max_count = max_count
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers: list[tuple[bytes, bytes]] = scope["headers"]
        size = sum(len(name) + len(value) + 4 for name, value in headers)
        if len(headers) > self.max_count or size > self.max_bytes:
            await send_problem(
                send,
                431,
                f"at most {self.max_count} headers and {self.max_bytes} bytes of headers; "
                f"got {len(headers)} headers, {size} bytes",
            )
            return
        for single in _SINGLE_HEADERS:
            if sum(1 for name, _ in headers if name == single) > 1:
                field = single.decode()
                message = f"the {field} header may be sent only once"
                await send_problem(
                    send,
                    400,
                    message,
                    errors=[{"loc": ["header", field], "msg": message, "code": "duplicate_header"}],
                )
                return
        await self.app(scope, receive, send)


class RequestTargetMiddleware:
    """400 for NUL bytes in the path or query (PostgreSQL text cannot hold them), 414 for a
    query string over `max_query_bytes`: refused before any handler or SQL sees them."""

    def __init__(self, app: ASGIApp, max_query_bytes: int = 4096) -> None:
        self.app = app
        self.max_query_bytes = max_query_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            query: bytes = scope.get("query_string", b"")
            if "\x00" in scope["path"] or b"\x00" in query or b"%00" in query:
                await send_problem(send, 400, "NUL bytes are not allowed")
                return
            if len(query) > self.max_query_bytes:
                await send_problem(
                    send,
                    414,
                    f"the query string is over {self.max_query_bytes} bytes",
                )
                return
        await self.app(scope, receive, send)


class RequestTimeoutMiddleware:
    """503 problem+json when a request runs longer than `seconds` before answering.

    The handler is cancelled, so its transaction rolls back: a timed-out ingest stores
    nothing and can be sent again."""

    def __init__(self, app: ASGIApp, seconds: float) -> None:
        self.app = app
        self.seconds = seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        deadline = asyncio.timeout(self.seconds)
        try:
            async with deadline:
                await self.app(scope, receive, tracking_send)
        except TimeoutError:
            if started or not deadline.expired():  # not ours, or too late for a clean answer
                raise
            await send_problem(
                send,
                503,
                f"the request took longer than {self.seconds:g} s and was abandoned; "
                "nothing was stored, retry later",
                slug="request-timeout",
                title="Request timed out",
                headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
            )


def json_depth_exceeds(value: Any, limit: int) -> bool:
    """True when `value` nests arrays or objects more than `limit` levels deep (iterative)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return False
