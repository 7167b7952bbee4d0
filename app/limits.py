"""Request limits: body size (enforced while reading), request target, time, JSON nesting."""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.errors import RETRY_AFTER_SECONDS, problem


class BodyTooLarge(Exception):
    """Raised inside `receive` when the body passes the cap."""


class BodyTooManyValues(BodyTooLarge):
    """Raised inside `receive` when the body holds more JSON values than the cap."""


class BodySizeLimitMiddleware:
    """Answers 413 problem+json for bodies over `max_bytes` (declared or streamed), or holding
    more than `max_values` JSON values.

    Values are counted on the raw bytes as they arrive (`,`, `[` and `{`, a cheap upper bound),
    so a body of millions of tiny values (`[[],[],...]`) is refused before anything parses it
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
            await self._reject(send)
            return
        received = 0
        values = 0
        cut: BodyTooLarge | None = None  # set once the body passed a cap
        response_started = False

        async def limited_receive() -> Message:
            nonlocal received, values, cut
            message = await receive()
            if message["type"] == "http.request":
                chunk = message.get("body", b"")
                received += len(chunk)
                if received > self.max_bytes:
                    cut = BodyTooLarge()
                elif self.max_values:
                    values += chunk.count(b",") + chunk.count(b"[") + chunk.count(b"{")
                    if values > self.max_values:
                        cut = BodyTooManyValues()
                if cut is not None:
                    raise cut
            return message

        replaced = False

        async def tracking_send(message: Message) -> None:
            nonlocal response_started, replaced
            if (
                message["type"] == "http.response.start"
                and cut is not None
                and not response_started
            ):
                # The app caught the error and answers something else (FastAPI turns any
                # failure while reading a body into 400): the answer is our 413.
                response_started = replaced = True
                await self._reject(send, too_many_values=isinstance(cut, BodyTooManyValues))
                return
            if replaced:
                return
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLarge as exc:
            if not response_started:
                await self._reject(send, too_many_values=isinstance(exc, BodyTooManyValues))

    async def _reject(self, send: Send, too_many_values: bool = False) -> None:
        detail = (
            f"the body holds more than {self.max_values} JSON values"
            if too_many_values
            else f"the body is over {self.max_bytes} bytes"
        )
        await send_problem(send, 413, "payload-too-large", "Payload too large", detail)


async def send_problem(
    send: Send,
    status: int,
    slug: str,
    title: str,
    detail: str,
    headers: dict[str, str] | None = None,
) -> None:
    """Answer a problem+json from a middleware, below the app's error handlers."""
    response = problem(status, title, detail, slug=slug, headers=headers)
    await send({"type": "http.response.start", "status": status, "headers": response.raw_headers})
    await send({"type": "http.response.body", "body": response.body})


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
                await send_problem(
                    send, 400, "bad-request", "Bad request", "NUL bytes are not allowed"
                )
                return
            if len(query) > self.max_query_bytes:
                await send_problem(
                    send,
                    414,
                    "uri-too-long",
                    "URI too long",
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
                "request-timeout",
                "Request timed out",
                f"the request took longer than {self.seconds:g} s and was abandoned; "
                "nothing was stored, retry later",
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
