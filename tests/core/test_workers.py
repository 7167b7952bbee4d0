"""The worker pool that builds files: jobs run in other processes, and a cancelled job's process
is stopped at once while the jobs of other requests still finish."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from app.core.workers import WorkerPool


def pid_of_worker() -> int:
    return os.getpid()


def sleep_then(seconds: float, answer: str, pid_file: str | None = None) -> str:
    if pid_file is not None:
        Path(pid_file).write_text(str(os.getpid()))
    time.sleep(seconds)
    return answer


def process_is_gone(pid: int) -> bool:
    """No such process, or one that has exited and waits to be reaped."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return True
    return state in {"Z", "X"}


async def wait_for(predicate, seconds: float = 30) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, "timed out waiting"
        await asyncio.sleep(0.05)


@pytest.fixture
async def pool() -> AsyncIterator[WorkerPool]:
    workers = WorkerPool(2)
    yield workers
    workers.shutdown()


async def test_a_job_runs_in_a_worker_process(pool: WorkerPool) -> None:
    assert await pool.run(pid_of_worker) != os.getpid()


async def test_a_cancelled_running_job_stops_its_process_and_others_still_finish(
    pool: WorkerPool, tmp_path: Path
) -> None:
    pid_file = tmp_path / "pid"
    other = asyncio.create_task(pool.run(sleep_then, 1.0, "other"))
    stuck = asyncio.create_task(pool.run(sleep_then, 600, "never", str(pid_file)))
    await wait_for(pid_file.exists)
    await asyncio.sleep(0.1)
    pid = int(pid_file.read_text())
    stuck.cancel()  # what the request timeout does to the handler awaiting it
    with pytest.raises(asyncio.CancelledError):
        await stuck
    await wait_for(lambda: process_is_gone(pid), seconds=10)
    # The other request's job was in the killed pool: it is sent again and answers.
    assert await asyncio.wait_for(other, 60) == "other"
    assert await pool.run(sleep_then, 0, "after") == "after"


async def test_a_request_timeout_around_a_job_stops_it(pool: WorkerPool, tmp_path: Path) -> None:
    pid_file = tmp_path / "pid"
    await pool.run(pid_of_worker)  # workers started, so the timeout measures the job alone
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(3):
            await pool.run(sleep_then, 600, "never", str(pid_file))
    assert time.monotonic() - started < 30
    await wait_for(lambda: process_is_gone(int(pid_file.read_text())), seconds=10)


KILLED_SERVER = """
import asyncio, os, signal
from app.core.workers import WorkerPool
from tests.core.test_workers import pid_of_worker

async def main():
    pool = WorkerPool(1)
    print(await pool.run(pid_of_worker), flush=True)
    os.kill(os.getpid(), signal.SIGKILL)

asyncio.run(main())
"""


async def test_workers_do_not_outlive_a_killed_server() -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", KILLED_SERVER, stdout=asyncio.subprocess.PIPE
    )
    output, _ = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == -signal.SIGKILL
    worker = int(output.decode().split()[0])
    await wait_for(lambda: process_is_gone(worker), seconds=15)
