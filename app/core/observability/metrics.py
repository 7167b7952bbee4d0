"""Prometheus metrics: requests and latencies by route template, ingest outcomes, the DB pool.

Each app gets its own registry (several apps may live in one process, as in the tests); the
pool gauges are read from the engine at scrape time.

Under a supervisor (`WORKERS` > 1) the supervisor sets PROMETHEUS_MULTIPROC_DIR and
prometheus_client's multiprocess mode takes over: every worker writes its values to files
there, and GET /metrics, whichever worker answers it, sums the counters and histograms of all
workers (those that have ended included). The pool gauges are per worker then, with a `pid`
label, of the live workers only (mode `liveall`), as is `worker_requests_answered`.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import generate_latest
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

UNMATCHED_ROUTE = "<unmatched>"
OUTCOMES = ("applied", "stale", "duplicate", "rejected")


POOL_GAUGES = (
    ("db_pool_size", "Connections the pool keeps.", "size"),
    ("db_pool_checked_out", "Connections in use.", "checkedout"),
    ("db_pool_checked_in", "Idle connections in the pool.", "checkedin"),
    ("db_pool_overflow", "Connections beyond the pool size (negative: room left).", "overflow"),
)


def multiprocess_dir() -> str | None:
    """PROMETHEUS_MULTIPROC_DIR when this process is a worker of a supervisor, else None."""
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


class _PoolCollector(Collector):
    """Gauges of the engine's connection pool, read at scrape time."""

    def __init__(self, state: Any) -> None:
        self._state = state

    def collect(self) -> Iterator[GaugeMetricFamily]:
        engine = getattr(self._state, "engine", None)
        if engine is None:
            return
        pool = engine.pool
        for name, doc, read in POOL_GAUGES:
            gauge = GaugeMetricFamily(name, doc)
            gauge.add_metric([], float(getattr(pool, read)()))
            yield gauge


class _WorkerGauges:
    """The pool gauges and the request count of this worker, in multiprocess mode: written to
    the shared directory after each request (a scrape may land on any worker)."""

    def __init__(self, state: Any, registry: CollectorRegistry) -> None:
        self._state = state
        self.pool = [
            (Gauge(name, doc, multiprocess_mode="liveall", registry=registry), read)
            for name, doc, read in POOL_GAUGES
        ]
        self.answered = Gauge(
            "worker_requests_answered",
            "HTTP requests this worker process has answered since it started (label pid).",
            multiprocess_mode="liveall",
            registry=registry,
        )

    def refresh(self) -> None:
        engine = getattr(self._state, "engine", None)
        if engine is not None:
            for gauge, read in self.pool:
                gauge.set(float(getattr(engine.pool, read)()))


class Metrics:
    """The metrics of one application."""

    def __init__(self, app_state: Any) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "http_requests_total",
            "HTTP requests by method, route template and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "http_request_duration_seconds",
            "Time to answer, by method, route template and status.",
            ["method", "route", "status"],
            registry=self.registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
        )
        self.events = Counter(
            "dossier_events_ingested_total",
            "Dossier events (or national records) by outcome and the API that took them.",
            ["outcome", "api"],
            registry=self.registry,
        )
        for api in ("events", "dvcqg"):
            for outcome in OUTCOMES:
                self.events.labels(outcome=outcome, api=api)
        self.shared_dir = multiprocess_dir()
        self.worker: _WorkerGauges | None = None
        if self.shared_dir is None:
            self.registry.register(_PoolCollector(app_state))
        else:
            self.worker = _WorkerGauges(app_state, self.registry)

    def answered(self) -> None:
        """A request has been answered (counted per worker under a supervisor)."""
        if self.worker is not None:
            self.worker.answered.inc()
            self.worker.refresh()

    def count_events(self, api: str, **by_outcome: int) -> None:
        """Add a batch's outcome counts (applied=…, stale=…, duplicate=…, rejected=…)."""
        for outcome, n in by_outcome.items():
            if n:
                self.events.labels(outcome=outcome, api=api).inc(n)

    def exposition(self) -> bytes:
        """The registry in the Prometheus text format; under a supervisor, every worker's."""
        if self.shared_dir is None:
            return generate_latest(self.registry)
        from prometheus_client import multiprocess

        assert self.worker is not None
        self.worker.refresh()
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path=self.shared_dir)  # type: ignore[no-untyped-call]
        return generate_latest(registry)


def metrics_of(request: Request) -> Metrics:
    """The metrics of the app serving `request`."""
    metrics: Metrics = request.app.state.metrics
    return metrics


def route_template(scope: Scope) -> str:
    """`/v1/dossiers/{code}`, not the concrete path: label values stay few."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else UNMATCHED_ROUTE


class MetricsMiddleware:
    """Counts and times every HTTP request by route template and status."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            labels = {
                "method": scope["method"],
                "route": route_template(scope),
                "status": str(status),
            }
            self.metrics.requests.labels(**labels).inc()
            self.metrics.latency.labels(**labels).observe(time.perf_counter() - started)
            self.metrics.answered()


router = APIRouter(tags=["operations"])


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    description="Requests and latencies by route template and status, dossier events ingested "
    "by outcome, database pool use; Prometheus text format. No key needed: expose it only to "
    "the monitoring network.",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_LATEST: {"schema": {"type": "string"}}}}},
)
async def metrics_endpoint(request: Request) -> Response:
    return Response(metrics_of(request).exposition(), media_type=CONTENT_TYPE_LATEST)
