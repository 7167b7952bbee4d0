"""The server entry point of `dossier-stats serve` (and so of the live-server tests): uvicorn
on h11 with the request head bounded in size and time before any application code runs, and a
cap on concurrent connections."""

from __future__ import annotations

import asyncio
import sys

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.protocols.http.h11_impl import RequestResponseCycle as _Cycle

from app.config import Settings
from app.core.problems import problem, problem_type, service_unavailable


class HeadDeadlineH11Protocol(H11Protocol):
    """uvicorn's h11 protocol, closing a connection whose request head is not complete within
    `head_timeout` seconds of the connection opening or the previous answer ending.

    uvicorn arms no timer on a new connection, and its keep-alive timer is cancelled by the
    first byte, so a client sending a head byte by byte would otherwise hold a connection (and
    its buffer) for as long as it likes."""

    head_timeout: float = 10.0
    max_head_bytes: int = 16 * 1024
    max_connections: int = 1000
    _head_deadline: asyncio.TimerHandle | None = None
    _armed_for: _Cycle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if len(self.connections) > self.max_connections:
            # Over the cap: answer at once and close, before reading anything. (uvicorn's own
            # limit_concurrency would answer a plain-text 503, not problem+json.)
            transport.write(_over_capacity_answer())
            transport.close()
            return
        self._arm_head_deadline()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_head_deadline()
        super().connection_lost(exc)

    def handle_events(self) -> None:
        super().handle_events()
        if self._head_deadline is not None and self.cycle is not self._armed_for:
            self._cancel_head_deadline()  # a whole head arrived: a new request cycle began

    def on_response_complete(self) -> None:
        super().on_response_complete()  # may start a pipelined request at once
        idle = self.cycle is None or self.cycle.response_complete
        if idle and not self.transport.is_closing():
            self._arm_head_deadline()

    def send_400_response(self, msg: str) -> None:
        """The answer to a head h11 cannot parse, as problem+json like every other error:
        431 when the head outgrew the buffer limit, else 400; then the connection closes."""
        buffered = len(self.conn.trailing_data[0])
        too_large = buffered > self.max_head_bytes
        status = 431 if too_large else 400
        detail = (
            f"the request head is over {self.max_head_bytes} bytes"
            if too_large
            else "the request head could not be parsed"
        )
        answer = problem(status, detail)
        _, title = problem_type(status)
        headers = [*answer.raw_headers, (b"connection", b"close")]
        for event in (
            h11.Response(status_code=status, headers=headers, reason=title.encode()),
            h11.Data(data=bytes(answer.body)),
            h11.EndOfMessage(),
        ):
            self.transport.write(self.conn.send(event) or b"")
        self.transport.close()

    def _arm_head_deadline(self) -> None:
        self._cancel_head_deadline()
        self._armed_for = self.cycle
        self._head_deadline = self.loop.call_later(self.head_timeout, self._head_timed_out)

    def _cancel_head_deadline(self) -> None:
        if self._head_deadline is not None:
            self._head_deadline.cancel()
            self._head_deadline = None

    def _head_timed_out(self) -> None:
        self._head_deadline = None
        if not self.transport.is_closing():
            self.transport.close()


def _over_capacity_answer() -> bytes:
    """A whole HTTP/1.1 503 problem+json answer, written raw: no request has been read."""
    answer = service_unavailable("the server is at its connection limit; retry shortly")
    head = [b"HTTP/1.1 503 Service Unavailable"]
    head += [name + b": " + value for name, value in answer.raw_headers]
    head.append(b"connection: close")
    return b"\r\n".join(head) + b"\r\n\r\n" + bytes(answer.body)


def server_config(app: object, *, host: str, port: int, settings: Settings) -> uvicorn.Config:
    """uvicorn's configuration with the service's limits on request heads and connections."""
    protocol = type(
        "BoundedH11Protocol",
        (HeadDeadlineH11Protocol,),
        {
            "head_timeout": settings.header_timeout_seconds,
            "max_head_bytes": settings.max_header_bytes,
            "max_connections": settings.max_connections,
        },
    )
    return uvicorn.Config(
        app,  # type: ignore[arg-type]
        host=host,
        port=port,
        http=protocol,  # h11: the parser whose head buffer can be bounded
        ws="none",
        # h11 refuses a head whose unparsed bytes pass this (431 problem+json, then close);
        # the app's RequestHeadMiddleware answers 431 for a complete head over the limits.
        h11_max_incomplete_event_size=settings.max_header_bytes,
        timeout_keep_alive=5,
        log_level=settings.log_level,
        log_config=None,  # keep configure_logging's handlers: JSON lines with request ids
        access_log=False,  # RequestIdMiddleware logs one access line per request
        timeout_graceful_shutdown=30,
        server_header=False,
    )


def run_server(app: object, *, host: str, port: int, settings: Settings) -> None:
    """Serve `app` until stopped; exit non-zero when the server could not start."""
    server = uvicorn.Server(server_config(app, host=host, port=port, settings=settings))
    server.run()
    if not server.started:
        sys.exit(3)  # uvicorn's own exit status for a failed start
