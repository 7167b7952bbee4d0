"""The application factory: routers, error rendering, limits, and the database lifecycle."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute
from fastapi_offline import FastAPIOffline
from pydantic.json_schema import models_json_schema

from app import __version__
from app.catalog.endpoints import router as catalog_router
from app.config import Settings, get_settings
from app.core.health import router as health_router
from app.core.middleware.limits import (
    BodySizeLimitMiddleware,
    RequestHeadMiddleware,
    RequestTargetMiddleware,
    RequestTimeoutMiddleware,
)
from app.core.middleware.ratelimit import RateLimitMiddleware
from app.core.middleware.security import SecurityHeadersMiddleware, install_cors
from app.core.observability.logs import RequestIdMiddleware
from app.core.observability.metrics import Metrics, MetricsMiddleware
from app.core.observability.metrics import router as metrics_router
from app.core.openapi import ANSWERED_EVERYWHERE, PROBLEM_SCHEMA
from app.core.problems import install_error_handlers
from app.core.workers import WorkerPool
from app.dashboard.endpoints import router as dashboard_router
from app.db import create_engine, create_sessionmaker, resolve_database_url
from app.dossiers.endpoints import router as dossiers_router
from app.ingest.endpoints import router as ingest_router
from app.ingest.national.endpoints import router as national_router
from app.ingest.national.schemas import SyncBody
from app.ingest.schemas import EventBatchIn
from app.migrate import head_revision
from app.stats.endpoints import router as stats_router
from app.stats.endpoints import scoring_router

DESCRIPTION = """
**dossier-stats** keeps the state of every one-stop-shop (một cửa) dossier and reports the
online-filing ratio and the other figures officials are judged on, exactly and at once.

* Send dossier state snapshots to `POST /v1/events` (or in the national `DongBoHoSoMC` form).
* Read figures from `/v1/stats/...`: every ratio names its `basis`.
* Every `/v1` request carries `Authorization: Bearer <key>`; keys are made with
  `dossier-stats keys create`. Scopes: `ingest`, `read`, `admin`.
* Dates: timestamps sent in carry an offset; reports use the calendar of Asia/Ho_Chi_Minh and
  `from` / `to` are local dates, both inclusive.
* Errors are `application/problem+json` (RFC 9457) with `errors: [{loc, msg, code}]`.
* Codes and names (in bodies, paths and query parameters) refuse control characters
  U+0000–U+001F and U+007F (`control_character`), and a blank code is refused; dates sent or
  asked for lie in 2000-01-01..2099-12-31 (`date_out_of_range`). One `Authorization` header per
  request (`duplicate_header`); at most 100 headers and 16 KiB of them (431).
"""


DOCS_ASSETS_URL = "/static/docs"


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the ASGI application; the database is opened in the lifespan, not at import."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        url = resolve_database_url(settings)
        engine = create_engine(url, settings)
        app.state.engine = engine
        app.state.sessionmaker = create_sessionmaker(engine)
        app.state.migration_head = head_revision()
        app.state.workers = WorkerPool(settings.export_workers)
        try:
            yield
        finally:
            app.state.workers.shutdown()
            await engine.dispose()

    # /docs and /redoc with Swagger UI and ReDoc served from the installed package: no CDN,
    # so the documentation works on a government network without internet access.
    app = FastAPIOffline(
        title="dossier-stats",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        static_url=DOCS_ASSETS_URL,
        # Swagger UI would otherwise load a validity badge from the validator's web site.
        swagger_ui_parameters={"validatorUrl": None},
    )
    app.router.generate_unique_id_function = operation_id
    install_error_handlers(app)
    app.state.metrics = metrics = Metrics(app.state)
    # Added innermost first: the limits, then metrics and request ids around them, then CORS
    # and the security headers, which wrap every answer, the middlewares' own too.
    app.add_middleware(
        BodySizeLimitMiddleware,
        max_bytes=settings.max_body_bytes,
        max_values=settings.max_json_values,
    )
    app.add_middleware(RequestTimeoutMiddleware, seconds=settings.request_timeout_seconds)
    if settings.rate_limit_per_minute > 0:
        app.add_middleware(RateLimitMiddleware, per_minute=settings.rate_limit_per_minute)
    app.add_middleware(RequestTargetMiddleware)
    app.add_middleware(
        RequestHeadMiddleware,
        max_count=settings.max_header_count,
        max_bytes=settings.max_header_bytes,
    )
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    app.add_middleware(RequestIdMiddleware)
    install_cors(app, settings.cors_origins)
    app.add_middleware(SecurityHeadersMiddleware)
    app.include_router(health_router)
    app.include_router(metrics_router)
    app.include_router(ingest_router)
    app.include_router(dossiers_router)
    app.include_router(stats_router)
    app.include_router(scoring_router)
    app.include_router(catalog_router)
    app.include_router(national_router)
    app.include_router(dashboard_router)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


def _openapi(app: FastAPI) -> dict[str, Any]:
    """The generated document, plus the body schemas that the ingest endpoints read by hand."""
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(
        title=app.title, version=app.version, description=app.description, routes=app.routes
    )
    _, extra = models_json_schema(
        [(EventBatchIn, "validation"), (SyncBody, "validation")],
        ref_template="#/components/schemas/{model}",
    )
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    for name, definition in extra.get("$defs", {}).items():
        components.setdefault(name, definition)
    components["Problem"] = PROBLEM_SCHEMA
    for operations in schema["paths"].values():
        for operation in operations.values():
            answers = operation.setdefault("responses", {})
            for status, response in ANSWERED_EVERYWHERE.items():
                answers.setdefault(str(status), response)
    app.openapi_schema = schema
    return schema


_VERBS = frozenset({"get", "put", "post", "delete", "patch", "list"})


def operation_id(route: APIRoute) -> str:
    """A clean operation id for generated clients: the handler's name, led by its HTTP method
    unless it begins with a verb (`post_events`, `get_online_ratio`, `list_units`)."""
    name = route.name
    if name.split("_", 1)[0] in _VERBS:
        return name
    return f"{sorted(route.methods or {'get'})[0].lower()}_{name}"
