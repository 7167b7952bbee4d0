"""The server entry point of `dossier-stats serve` (and so of the live-server tests): uvicorn
on h11 with the request head bounded in size and time before any application code runs, and a
cap on concurrent connections; with WORKERS > 1, a supervisor and that many worker processes
sharing its listening socket."""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import signal
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.protocols.http.h11_impl import RequestResponseCycle as _Cycle
from uvicorn.supervisors.multiprocess import Multiprocess

from app.config import Settings, get_settings
from app.core.problems import problem, problem_type, service_unavailable

logger = logging.getLogger("app.serving")

# What a spawned worker process imports by name (it cannot be handed objects made at run time).
WORKER_APP = "app.tools.server:worker_app"
WORKER_PROTOCOL = "app.tools.server:SettingsBoundedH11Protocol"
METRICS_DIR_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"


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


class SettingsBoundedH11Protocol(HeadDeadlineH11Protocol):
    """The bounded protocol with the limits of this process's settings: the protocol of a
    worker process, which loads it by name."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        settings = get_settings()
        self.head_timeout = settings.header_timeout_seconds
        self.max_head_bytes = settings.max_header_bytes
        self.max_connections = settings.max_connections


def _over_capacity_answer() -> bytes:
    """A whole HTTP/1.1 503 problem+json answer, written raw: no request has been read."""
    answer = service_unavailable("the server is at its connection limit; retry shortly")
    head = [b"HTTP/1.1 503 Service Unavailable"]
    head += [name + b": " + value for name, value in answer.raw_headers]
    head.append(b"connection: close")
    return b"\r\n".join(head) + b"\r\n\r\n" + bytes(answer.body)


def server_config(
    app: object, *, host: str, port: int, settings: Settings, workers: int = 1
) -> uvicorn.Config:
    """uvicorn's configuration with the service's limits on request heads and connections;
    with `workers` > 1, of the worker processes (`app` then names their app factory)."""
    protocol: type[HeadDeadlineH11Protocol] | str
    if workers > 1:
        protocol = WORKER_PROTOCOL
    else:
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
        workers=workers,
        factory=workers > 1,
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


# --- several worker processes ---------------------------------------------------------------


class Supervisor(Multiprocess):
    """uvicorn's supervisor of worker processes, which also remembers the stop signal it
    received and tells the metrics when a worker has gone.

    uvicorn restarts a worker that dies (or stops answering its health check); a worker that
    fails before it serves (its app or its lifespan fails) stops the supervisor instead, since every
    restart would fail the same way."""

    def __init__(self, config: uvicorn.Config, sockets: list[socket.socket], metrics: Path):
        super().__init__(config, sockets)
        self.metrics = metrics
        self.received: int | None = None

    def handle_int(self) -> None:
        self.received = signal.SIGINT
        super().handle_int()

    def handle_term(self) -> None:
        self.received = signal.SIGTERM
        super().handle_term()

    def keep_subprocess_alive(self) -> None:
        before = {process.pid for process in self.processes}
        super().keep_subprocess_alive()
        for pid in before - {process.pid for process in self.processes}:
            _mark_worker_gone(pid, self.metrics)

    def join_all(self) -> None:
        super().join_all()
        for process in self.processes:
            _mark_worker_gone(process.pid, self.metrics)


def _mark_worker_gone(pid: int | None, metrics: Path) -> None:
    """Drop the live-only gauges of a worker that has ended (its counters keep counting)."""
    from prometheus_client import multiprocess

    if pid is not None:
        multiprocess.mark_process_dead(pid, str(metrics))  # type: ignore[no-untyped-call]


def fresh_metrics_dir() -> tuple[Path, bool]:
    """The directory where the workers' metrics meet: PROMETHEUS_MULTIPROC_DIR emptied, or a new
    temporary one. Returns it and whether it is temporary (to be removed at the end)."""
    configured = os.environ.get(METRICS_DIR_VARIABLE)
    if not configured:
        return Path(tempfile.mkdtemp(prefix="dossier-stats-metrics-")), True
    path = Path(configured)
    path.mkdir(parents=True, exist_ok=True)
    for stale in path.glob("*.db"):  # a previous run's values would add to this one's
        stale.unlink()
    return path, False


def run_workers(*, host: str, port: int, settings: Settings, workers: int) -> None:
    """Serve with `workers` processes sharing one listening socket, until a stop signal (then
    raised again here, once every worker has drained) or a worker that cannot start (exit 3).

    This process stays the supervisor: it owns the socket and, through the caller, the
    embedded PostgreSQL and the migrations; the workers find the database by DATABASE_URL and
    write their metrics to PROMETHEUS_MULTIPROC_DIR, both set here before they start."""
    metrics, temporary = fresh_metrics_dir()
    os.environ[METRICS_DIR_VARIABLE] = str(metrics)
    if settings.database_url:
        os.environ["DATABASE_URL"] = settings.database_url
    config = server_config(WORKER_APP, host=host, port=port, settings=settings, workers=workers)
    listening = config.bind_socket()
    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
    supervisor = Supervisor(config, [listening], metrics)
    try:
        supervisor.run()
    finally:
        for sig, handler in handlers.items():
            signal.signal(sig, handler)
        listening.close()
        if temporary:
            shutil.rmtree(metrics, ignore_errors=True)
    if supervisor.received is not None:
        signal.raise_signal(supervisor.received)  # the caller's handler ends the service
    logger.error("a worker process could not start; stopping")
    sys.exit(3)  # uvicorn's own exit status for a failed start


def worker_app() -> Any:
    """The application of one worker process (uvicorn calls this in each process it starts)."""
    from app.core.observability.logs import configure_logging
    from app.main import create_app

    settings = get_settings()
    configure_logging(settings.log_level, settings.log_format)
    _stop_when_orphaned(os.getppid())
    return create_app(settings)


def _stop_when_orphaned(parent: int) -> None:
    """Stop this worker gracefully if its supervisor goes away without stopping it (killed):
    a worker left behind would go on holding the port and database connections."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="orphan-watch", daemon=True).start()
