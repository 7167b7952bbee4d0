"""Heavy CPU work (building files) in worker processes, off the event loop.

A thread would not do: building a workbook is pure Python that holds the GIL, and a thread
cannot be stopped when the request times out. A worker process can: when the awaiting request
is cancelled (the request timeout) while its job runs, the pool's processes are killed and a
fresh pool takes over, so an abandoned export stops costing CPU at once. Jobs of other requests
that were in the killed pool are sent again to the fresh one.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request

from app.core.problems import ServiceUnavailable

T = TypeVar("T")


class WorkerPool:
    """A process pool that can be stopped in the middle of a job."""

    def __init__(self, workers: int) -> None:
        self.workers = max(1, workers)
        # forkserver: workers start from a clean, single-threaded process, never a fork of the
        # server with its threads and open connections.
        self._context = multiprocessing.get_context("forkserver")
        self._lock = threading.Lock()
        self._executor = self._new_executor()

    def _new_executor(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            max_workers=self.workers,
            mp_context=self._context,
            initializer=_start_worker,
            initargs=(os.getpid(),),
        )

    async def run(self, function: Callable[..., T], *args: Any) -> T:
        """`function(*args)` in a worker process; cancelling the await stops the job."""
        for attempt in (1, 2):
            executor = self._executor
            try:
                future = executor.submit(function, *args)
                return await asyncio.wrap_future(future)
            except asyncio.CancelledError:
                if not future.cancel():  # already running: stop the process that runs it
                    self._replace(executor)
                raise
            except BrokenProcessPool:
                # Killed under us (another request's job was stopped) or a worker died: the
                # job is sent again once to a fresh pool.
                self._replace(executor)
                if attempt == 2:
                    raise ServiceUnavailable("the file could not be built; retry shortly") from None
        raise AssertionError("unreachable")

    def _replace(self, broken: ProcessPoolExecutor) -> None:
        """Swap in a fresh pool (once per broken one) and kill the old one's processes."""
        with self._lock:
            if self._executor is not broken:
                return
            self._executor = self._new_executor()
        _kill(broken)

    def shutdown(self) -> None:
        """Stop every worker now; waiting jobs are dropped."""
        _kill(self._executor)


def _start_worker(server_pid: int) -> None:
    """In each worker: leave Ctrl-C to the server (it reaches the whole process group and the
    server stops its workers itself), and exit when the server is gone, even killed with
    SIGKILL: a worker waits on a queue whose write end it holds itself, so it would never see
    the server go and would outlive it."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_exit_with, args=(server_pid,), daemon=True).start()


def _exit_with(server_pid: int) -> None:
    while True:
        time.sleep(1)
        try:
            os.kill(server_pid, 0)
        except ProcessLookupError:
            os._exit(0)
        except PermissionError:  # the pid now belongs to someone else's process
            os._exit(0)


def _kill(executor: ProcessPoolExecutor) -> None:
    # ProcessPoolExecutor has no public way to stop a running job before Python 3.14
    # (terminate_workers); its process table is the only handle on the workers.
    processes = dict(getattr(executor, "_processes", None) or {})
    for process in processes.values():
        if process.is_alive():
            process.kill()
    executor.shutdown(wait=False, cancel_futures=True)


def worker_pool(request: Request) -> WorkerPool:
    """The app's pool, made in the lifespan."""
    pool: WorkerPool = request.app.state.workers
    return pool


Workers = Annotated[WorkerPool, Depends(worker_pool)]
