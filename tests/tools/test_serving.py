"""Stopping the service stops what it started: the real CLI (and `make run`) in a subprocess with
its own embedded PostgreSQL, stopped by SIGTERM, SIGINT, `dossier-stats stop` and `make stop`,
also after a run that was killed and left stale process ids behind."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest

from tests.support.live import free_port

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 180  # the first start runs initdb and every migration on a busy machine


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One DATA_DIR for the module (initdb once); whatever a failed test leaves running is
    stopped at the end."""
    path = tmp_path_factory.mktemp("serve-data")
    yield path
    for process in postmasters(path / "postgres"):
        process.kill()


def service_env(data_dir: Path, port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    return env | {
        "DATA_DIR": str(data_dir),
        "PORT": str(port),
        "LOG_LEVEL": "warning",
        "WORKERS": "1",  # the default is one per core; tests that want more say so
    }


def postmasters(pgdata: Path) -> list[psutil.Process]:
    """PostgreSQL servers running on `pgdata`."""
    found = []
    for process in psutil.process_iter(["name", "cmdline"]):
        if process.info["name"] == "postgres" and str(pgdata) in (process.info["cmdline"] or []):
            found.append(process)
    return found


def no_postgres_left(data_dir: Path, timeout: float = 30) -> bool:
    deadline = time.monotonic() + timeout
    while postmasters(data_dir / "postgres"):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    return True


def wait_ready(process: subprocess.Popen[bytes], port: int) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the service exited on start ({process.returncode})")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    process.kill()
    raise AssertionError("the service did not become ready")


def start_cli(data_dir: Path, *args: str) -> tuple[subprocess.Popen[bytes], int]:
    """`python -m app serve` on its own embedded PostgreSQL, ready to answer."""
    port = free_port()
    with (data_dir / "serve.log").open("ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "app", "serve", *args],
            env=service_env(data_dir, port),
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
    wait_ready(process, port)
    return process, port


def start_make_run(data_dir: Path) -> tuple[subprocess.Popen[bytes], int]:
    """`make run` in a session of its own, as a terminal would run it."""
    port = free_port()
    with (data_dir / "make-run.log").open("ab") as log:
        process = subprocess.Popen(
            ["make", "--no-print-directory", "run"],
            cwd=ROOT,
            env=service_env(data_dir, port),
            stdout=subprocess.DEVNULL,
            stderr=log,
            start_new_session=True,
        )
    wait_ready(process, port)
    return process, port


def dead_pid() -> int:
    """The id of a process that has ended."""
    finished = subprocess.Popen(["true"])
    finished.wait()
    return finished.pid


def handles(data_dir: Path) -> list[int]:
    return list(json.loads((data_dir / "postgres" / ".handle_pids.json").read_text()))


def run_stop(data_dir: Path, port: int) -> subprocess.CompletedProcess[bytes]:
    """`dossier-stats stop` for the service of `data_dir`."""
    return subprocess.run(
        [sys.executable, "-m", "app", "stop"],
        env=service_env(data_dir, port),
        capture_output=True,
        timeout=120,
        check=False,
    )


def test_sigterm_then_sigint_stop_the_server_and_its_postgres_and_a_start_follows(
    data_dir: Path,
) -> None:
    server, _ = start_cli(data_dir)
    assert len(postmasters(data_dir / "postgres")) == 1
    assert json.loads((data_dir / "serve.pid").read_text())["pid"] == server.pid

    server.send_signal(signal.SIGTERM)
    assert server.wait(60) == -signal.SIGTERM  # a shell shows 143
    assert no_postgres_left(data_dir)
    assert not (data_dir / "serve.pid").exists()
    assert handles(data_dir) == []

    server, port = start_cli(data_dir)
    assert httpx.get(f"http://127.0.0.1:{port}/readyz").status_code == 200
    server.send_signal(signal.SIGINT)
    assert server.wait(60) == -signal.SIGINT  # a shell shows 130
    assert no_postgres_left(data_dir)


def test_sigterm_to_the_supervisor_of_two_workers_stops_them_and_its_postgres(
    data_dir: Path,
) -> None:
    server, port = start_cli(data_dir, "--workers", "2")
    assert len(postmasters(data_dir / "postgres")) == 1  # the supervisor's, not one per worker
    assert json.loads((data_dir / "serve.pid").read_text())["pid"] == server.pid
    workers = [p for p in psutil.Process(server.pid).children() if "spawn_main" in str(p.cmdline())]
    assert len(workers) == 2
    assert handles(data_dir) == [server.pid]  # the workers never touch the embedded server
    assert httpx.get(f"http://127.0.0.1:{port}/readyz").status_code == 200

    server.send_signal(signal.SIGTERM)
    assert server.wait(60) == -signal.SIGTERM  # a shell shows 143, as with one process
    assert no_postgres_left(data_dir)
    assert not (data_dir / "serve.pid").exists()
    assert handles(data_dir) == []
    assert not [w for w in workers if w.is_running() and w.status() != psutil.STATUS_ZOMBIE]


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT])
def test_a_stop_signal_while_starting_leaves_no_postgres(data_dir: Path, stop: int) -> None:
    """The signal arrives as soon as PostgreSQL is there, while the service migrates and seeds."""
    with (data_dir / "serve.log").open("ab") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "app", "serve"],
            env=service_env(data_dir, free_port()),
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
    deadline = time.monotonic() + START_TIMEOUT
    while not postmasters(data_dir / "postgres") and time.monotonic() < deadline:
        assert server.poll() is None, "the service exited on start"
        time.sleep(0.01)
    server.send_signal(stop)
    assert server.wait(60) == -stop
    assert no_postgres_left(data_dir)


def test_a_start_after_a_killed_run_recovers_and_its_stop_leaves_nothing(data_dir: Path) -> None:
    server, _ = start_cli(data_dir)
    server.kill()  # no clean-up at all: PostgreSQL stays, its handle file names a dead process
    server.wait()
    assert len(postmasters(data_dir / "postgres")) == 1
    assert handles(data_dir) == [server.pid]

    server, _ = start_cli(data_dir)  # attaches to the running PostgreSQL
    server.send_signal(signal.SIGINT)
    assert server.wait(60) == -signal.SIGINT
    assert no_postgres_left(data_dir)


def test_a_start_recovers_from_a_planted_stale_handle_file_and_postmaster_pid(
    data_dir: Path,
) -> None:
    server, _ = start_cli(data_dir)
    postmaster_pid = (data_dir / "postgres" / "postmaster.pid").read_text()
    server.send_signal(signal.SIGTERM)
    server.wait(60)
    assert no_postgres_left(data_dir)

    gone = dead_pid()
    lines = postmaster_pid.splitlines()
    (data_dir / "postgres" / "postmaster.pid").write_text("\n".join([str(gone), *lines[1:]]) + "\n")
    (data_dir / "postgres" / ".handle_pids.json").write_text(json.dumps([gone, dead_pid()]))

    server, port = start_cli(data_dir)
    assert httpx.get(f"http://127.0.0.1:{port}/readyz").status_code == 200
    stop = run_stop(data_dir, port)
    assert stop.returncode == 0, stop.stderr
    assert b"stopped the server" in stop.stderr
    assert server.wait(10) == -signal.SIGTERM
    assert no_postgres_left(data_dir)


def test_stop_also_stops_the_postgres_a_killed_service_left_running(data_dir: Path) -> None:
    server, port = start_cli(data_dir)
    server.kill()
    server.wait()
    assert len(postmasters(data_dir / "postgres")) == 1
    stop = run_stop(data_dir, port)
    assert stop.returncode == 0, stop.stderr
    assert b"stopped the embedded PostgreSQL" in stop.stderr
    assert no_postgres_left(data_dir)


def test_make_run_stops_on_sigterm_ctrl_c_and_make_stop(data_dir: Path) -> None:
    make, _ = start_make_run(data_dir)
    make.send_signal(signal.SIGTERM)  # `kill -TERM` of make: make passes it on to the server
    make.wait(60)
    assert no_postgres_left(data_dir)

    make, _ = start_make_run(data_dir)
    os.killpg(make.pid, signal.SIGINT)  # Ctrl-C in a terminal signals the whole group
    make.wait(60)
    assert no_postgres_left(data_dir)

    make, port = start_make_run(data_dir)
    stop = subprocess.run(
        ["make", "--no-print-directory", "stop"],
        cwd=ROOT,
        env=service_env(data_dir, port),
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert stop.returncode == 0, stop.stderr
    make.wait(60)
    assert no_postgres_left(data_dir)
    assert not [p for p in psutil.process_iter(["cmdline"]) if _serves(p, data_dir)]


def _serves(process: psutil.Process, data_dir: Path) -> bool:
    try:
        return "serve" in (process.info["cmdline"] or []) and process.environ().get(
            "DATA_DIR"
        ) == str(data_dir)
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return False
