"""A live `dossier-stats serve` on 127.0.0.1 for tests that need the real server."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import httpx


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(
    database_url: str, port: int, workers: int = 1, **env: str
) -> subprocess.Popen[bytes]:
    """Start `python -m app serve` on `port` with `workers` processes (a supervisor and its
    workers when more than one) and wait until /healthz answers."""
    server = subprocess.Popen(
        [sys.executable, "-m", "app", "serve"],
        env={
            **os.environ,
            "DATABASE_URL": database_url,
            "PORT": str(port),
            "LOG_LEVEL": "warning",
            "WORKERS": str(workers),
            **env,
        },
        stdout=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise AssertionError(f"the server exited on start ({server.returncode})")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return server
        except httpx.TransportError:
            time.sleep(0.1)
    server.kill()
    raise AssertionError("the server did not start")


def stop_server(server: subprocess.Popen[bytes]) -> None:
    """Stop the server if it still runs (SIGTERM, so that a supervisor stops its workers; a
    kill after 30 s), and reap it."""
    if server.poll() is None:
        server.terminate()
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()
    server.wait()
