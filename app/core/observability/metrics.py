"""Prometheus metrics: requests and latencies by route template, ingest outcomes, the DB pool.

Each app gets its own registry (several apps may live in one process, as in the tests); the
pool gauges are read from the engine at scrape time.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import generate_latest
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

UNMATCHED_ROUTE = "<unmatched>"
OUTCOMES = ("applied", "stale", "duplicate", "rejected")


class _PoolCollector(Collector):
    """Gauges of the engine's connection pool, read at scrape time."""

    def __init__(self, state: Any) -> None:
        self._state = state

    def collect(self) -> Iterator[GaugeMetricFamily]:
        engine = getattr(self._state, "engine", None)
        if engine is None:
            return
        pool = engine.pool
        for name, doc, read in (
            ("db_pool_size", "Connections the pool keeps.", "size"),
            ("db_pool_checked_out", "Connections in use.", "checkedout"),
            ("db_pool_checked_in", "Idle connections in the pool.", "checkedin"),
            (
                "db_pool_overflow",
                "Connections beyond the pool size (negative: room left).",
                "overflow",
            ),
        ):
            gauge = GaugeMetricFamily(name, doc)
            gauge.add_metric([], float(getattr(pool, read)()))
            yield gauge


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
        self.registry.register(_PoolCollector(app_state))

    def count_events(self, api: str, **by_outcome: int) -> None:
        """Add a batch's outcome counts (applied=…, stale=…, duplicate=…, rejected=…)."""
        for outcome, n in by_outcome.items():
            if n:
                self.events.labels(outcome=outcome, api=api).inc(n)

    def exposition(self) -> bytes:
        """The registry in the Prometheus text format."""
        return generate_latest(self.registry)


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
