"""Issue 13 item 5 on a live `dossier-stats serve`: the request head is bounded in size and time
before any application code runs, and slow big heads cannot grow the process."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.live import free_port, start_server, stop_server

HEAD_TIMEOUT = 2.0
MAX_CONNECTIONS = 8


@pytest.fixture(scope="module")
def live(database_url: str) -> Iterator[tuple[int, subprocess.Popen[bytes]]]:
    port = free_port()
    server = start_server(
        database_url,
        port,
        HEADER_TIMEOUT_SECONDS=str(HEAD_TIMEOUT),
        MAX_CONNECTIONS=str(MAX_CONNECTIONS),
    )
    try:
        yield port, server
    finally:
        stop_server(server)


def connect(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    return sock


def read_until_closed(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection."""
    received = b""
    try:
        while chunk := sock.recv(65536):
            received += chunk
    except (ConnectionResetError, TimeoutError):
        pass
    return received


def resident_kib(server: subprocess.Popen[bytes]) -> int:
    for line in Path(f"/proc/{server.pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def test_an_8_mib_header_is_refused(live: tuple[int, subprocess.Popen[bytes]]) -> None:
    port, _ = live
    with connect(port) as sock:
        head = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * (8 << 20) + b"\r\n\r\n"
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            sock.sendall(head)  # the server may stop reading and close: refused
        answer = read_until_closed(sock)
    assert not answer.startswith(b"HTTP/1.1 200"), answer[:200]
    assert answer == b"" or answer.split(b" ")[1] in {b"400", b"431"}


def test_a_head_just_over_the_limit_in_one_piece_is_refused(
    live: tuple[int, subprocess.Popen[bytes]],
) -> None:
    port, _ = live
    with connect(port) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 20_000 + b"\r\n\r\n")
        answer = read_until_closed(sock)
    assert answer.startswith(b"HTTP/1.1 431 "), answer[:200]
    assert b"content-type: application/problem+json" in answer.lower()
    assert b'"status":431' in answer


def test_a_small_head_is_served(live: tuple[int, subprocess.Popen[bytes]]) -> None:
    port, _ = live
    with connect(port) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        assert read_until_closed(sock).startswith(b"HTTP/1.1 200")


@pytest.mark.parametrize("trickle", [False, True])
def test_a_half_sent_head_is_closed_within_the_bound(
    live: tuple[int, subprocess.Popen[bytes]], trickle: bool
) -> None:
    port, _ = live
    with connect(port) as sock:
        started = time.monotonic()
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        sock.settimeout(0.3)
        closed = False
        while time.monotonic() - started < HEAD_TIMEOUT + 5:
            try:
                if trickle:
                    sock.sendall(b"X")  # a byte now and then must not keep it open
                if sock.recv(1024) == b"":
                    closed = True
                    break
            except TimeoutError:
                continue
            except (BrokenPipeError, ConnectionResetError):
                closed = True
                break
        elapsed = time.monotonic() - started
    assert closed, "the connection was still open"
    assert elapsed < HEAD_TIMEOUT + 1.5


def test_the_next_head_on_a_kept_alive_connection_is_bounded_too(
    live: tuple[int, subprocess.Popen[bytes]],
) -> None:
    port, _ = live
    with connect(port) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        assert sock.recv(65536).startswith(b"HTTP/1.1 200")
        started = time.monotonic()
        sock.sendall(b"GET /healthz HTTP/1.1\r\n")
        sock.settimeout(0.3)
        while time.monotonic() - started < HEAD_TIMEOUT + 5:
            try:
                sock.sendall(b"X")
                if sock.recv(1024) == b"":
                    break
            except TimeoutError:
                continue
            except (BrokenPipeError, ConnectionResetError):
                break
        assert time.monotonic() - started < HEAD_TIMEOUT + 1.5


def test_slow_big_heads_do_not_grow_the_process(
    live: tuple[int, subprocess.Popen[bytes]],
) -> None:
    port, server = live
    before = resident_kib(server)
    sockets = [connect(port) for _ in range(4)]
    chunk = b"X-Pad: " + b"a" * (256 << 10) + b"\r\n"
    try:
        for sock in sockets:
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        for _ in range(64):  # up to 16 MiB per connection, unless the server stops reading
            for sock in sockets:
                try:
                    sock.settimeout(0.05)
                    sock.send(chunk)
                except (TimeoutError, BrokenPipeError, ConnectionResetError, BlockingIOError):
                    pass
        grown = resident_kib(server) - before
    finally:
        for sock in sockets:
            sock.close()
    assert grown < 32 * 1024, f"the server grew by {grown} KiB"
    with connect(port) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        assert read_until_closed(sock).startswith(b"HTTP/1.1 200")


def test_connections_over_the_cap_get_503_problem_json(
    live: tuple[int, subprocess.Popen[bytes]],
) -> None:
    port, _ = live
    held = [connect(port) for _ in range(MAX_CONNECTIONS)]
    try:
        time.sleep(0.2)
        with connect(port) as extra:
            extra.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            answer = read_until_closed(extra)
        assert answer.startswith(b"HTTP/1.1 503 "), answer[:200]
        assert b"application/problem+json" in answer
        assert b"retry-after: 5" in answer.lower()
        assert b'"status":503' in answer
    finally:
        for sock in held:
            sock.close()
    time.sleep(0.2)
    with connect(port) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        assert read_until_closed(sock).startswith(b"HTTP/1.1 200")


_FAILING_LIFESPAN = """
import contextlib
from fastapi import FastAPI
from app.config import Settings
from app.tools.server import run_server

@contextlib.asynccontextmanager
async def lifespan(app):
    raise RuntimeError("no database today")
    yield

run_server(FastAPI(lifespan=lifespan), host="127.0.0.1", port={port}, settings=Settings())
"""

# Workers build the service's own app: a database URL whose driver does not exist makes its
# lifespan (create_engine) fail in every worker.
_FAILING_WORKERS = """
from app.config import Settings
from app.tools.server import run_workers

if __name__ == "__main__":
    settings = Settings(database_url="postgresql+nosuchdriver://u@localhost/db")
    run_workers(host="127.0.0.1", port={port}, settings=settings, workers=2)
"""


@pytest.mark.parametrize("program", [_FAILING_LIFESPAN, _FAILING_WORKERS], ids=["one", "two"])
def test_a_server_whose_lifespan_fails_exits_3_instead_of_serving(
    program: str, tmp_path: Path
) -> None:
    """A lifespan that raises stops the server with status 3, uvicorn's startup failure; a
    supervisor whose workers fail so stops with 3 too, instead of restarting them for ever:
    never a server that answers without its database engine."""
    script = tmp_path / "serve.py"  # a file, so that the workers can import the main module
    script.write_text(program.format(port=free_port()))
    started = subprocess.run(
        [sys.executable, str(script)], capture_output=True, timeout=30, check=False
    )
    assert started.returncode == 3, started.stderr.decode()[-2000:]
    assert b"startup failed" in started.stderr.lower() or b"no database today" in started.stderr
