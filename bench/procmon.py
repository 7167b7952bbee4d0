"""Watching processes: the server's peak RSS (sampled), and CPU seconds per phase for the server,
PostgreSQL and the benchmark client, which on a 2-core machine say where the time goes."""

from __future__ import annotations

import os
import threading
import time
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import psutil


def _tree(pid: int) -> list[psutil.Process]:
    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def tree_rss(pid: int) -> int:
    """Resident bytes of a process and all its children."""
    total = 0
    for p in _tree(pid):
        with suppress(psutil.NoSuchProcess):
            total += p.memory_info().rss
    return total


def largest_rss(pid: int) -> int:
    """Resident bytes of the largest process among a process and its children."""
    largest = 0
    for p in _tree(pid):
        with suppress(psutil.NoSuchProcess, psutil.AccessDenied):
            largest = max(largest, p.memory_info().rss)
    return largest


def tree_cpu(pid: int | None) -> float:
    """User + system CPU seconds of a process, its living children, and the children it reaped
    (PostgreSQL backends that ended: their time moves into the postmaster's children_* times)."""
    if pid is None:
        return 0.0
    total = 0.0
    for i, p in enumerate(_tree(pid)):
        with suppress(psutil.NoSuchProcess):
            t = p.cpu_times()
            total += t.user + t.system
            if i == 0:
                total += t.children_user + t.children_system
    return total


def postmaster_pid(data_directory: str) -> int | None:
    """The PostgreSQL postmaster's pid, when its data directory is on this machine."""
    try:
        pid = int((Path(data_directory) / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    return pid if psutil.pid_exists(pid) else None


class Monitor:
    """Samples the server's RSS every `interval` seconds; keeps the peak overall and per phase."""

    def __init__(self, server_pid: int, pg_pid: int | None, interval: float = 0.1) -> None:
        self.server_pid = server_pid
        self.pg_pid = pg_pid
        self.interval = interval
        self.peak = 0
        self.peak_process = 0
        self.phase = "start"
        self.phase_peak: dict[str, int] = {}
        self.cpu: dict[str, dict[str, float]] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="rss-sampler")

    def _run(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self.interval)

    def sample(self) -> None:
        rss = tree_rss(self.server_pid)
        self.peak = max(self.peak, rss)
        self.peak_process = max(self.peak_process, largest_rss(self.server_pid))
        self.phase_peak[self.phase] = max(self.phase_peak.get(self.phase, 0), rss)

    def start(self) -> None:
        self.sample()
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
        self.sample()

    def _cpu_now(self) -> dict[str, float]:
        return {
            "server": tree_cpu(self.server_pid),
            "postgres": tree_cpu(self.pg_pid),
            "client": sum(os.times()[:2]),
        }

    @contextmanager
    def measure(self, phase: str) -> Any:
        """Within the block: RSS samples count for `phase`; CPU seconds per side are recorded."""
        self.phase = phase
        before = self._cpu_now()
        wall = time.perf_counter()
        try:
            yield
        finally:
            elapsed = time.perf_counter() - wall
            after = self._cpu_now()
            self.cpu[phase] = {
                "wall_s": round(elapsed, 3),
                **{f"{k}_cpu_s": round(after[k] - before[k], 3) for k in after},
            }
            self.sample()
            self.phase = "between"
