"""Application errors, and the one way to answer a problem+json (RFC 9457): `problem_body` builds
every body, whether a handler answers it (`problem`), a middleware sends it below the handlers
(`send_problem`), or the OpenAPI document shows it as an example (app/core/openapi.py)."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import Send

from app.core.observability.logs import current_request_id

# Named as before the move to app/core/: log names are seen by operations.
logger = logging.getLogger("app.errors")

PROBLEM_JSON = "application/problem+json"
PROBLEM_BASE = "https://dossier-stats.example/problems/"


# The type (slug) and title of each status the service answers, unless an answer names its own.
PROBLEM_TYPES: dict[int, tuple[str, str]] = {
    400: ("bad-request", "Bad request"),
    401: ("unauthorized", "Unauthorized"),
    403: ("forbidden", "Forbidden"),
    404: ("not-found", "Not found"),
    405: ("method-not-allowed", "Method not allowed"),
    406: ("not-acceptable", "Not acceptable"),
    409: ("conflict", "Conflict"),
    413: ("payload-too-large", "Payload too large"),
    414: ("uri-too-long", "URI too long"),
    415: ("unsupported-media-type", "Unsupported media type"),
    422: ("validation-error", "Validation error"),
    429: ("too-many-requests", "Too many requests"),
    431: ("request-header-fields-too-large", "Request header fields too large"),
    500: ("internal-error", "Internal server error"),
    503: ("service-unavailable", "Service unavailable"),
}


class AppError(Exception):
    """Base of the errors the service answers on purpose; a subclass names its `status`, and
    its type (slug) and title are that status's own (`PROBLEM_TYPES`)."""

    status = 400
    slug, title = PROBLEM_TYPES[status]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.slug, cls.title = PROBLEM_TYPES[cls.status]

    def __init__(
        self,
        detail: str,
        *,
        errors: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
        extensions: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors
        self.headers = headers
        self.extensions = extensions


class ValidationFailed(AppError):
    """Input that is well-formed but breaks a rule; carries per-field errors."""

    status = 422


class NotAuthenticated(AppError):
    """No key, or a key the service does not know."""

    status = 401

    def __init__(self, detail: str) -> None:
        super().__init__(detail, headers={"WWW-Authenticate": "Bearer"})


class Forbidden(AppError):
    """A known key without the scope the endpoint needs."""

    status = 403


class NotFound(AppError):
    """The named resource does not exist."""

    status = 404


class Conflict(AppError):
    """The request contradicts stored data."""

    status = 409


class PayloadTooLarge(AppError):
    """The body, or the number of events in it, is over the limit."""

    status = 413


class ServiceUnavailable(AppError):
    """The database cannot be reached; the client should retry."""

    status = 503


def field_error(loc: list[str | int], msg: str, code: str) -> dict[str, Any]:
    """One entry of a problem's `errors` list."""
    return {"loc": loc, "msg": msg, "code": code}


def validation_failed(loc: list[str | int], msg: str, code: str) -> ValidationFailed:
    """A 422 about a single field."""
    return ValidationFailed(msg, errors=[field_error(loc, msg, code)])


def pydantic_errors(errors: Any, prefix: list[str | int] | None = None) -> list[dict[str, Any]]:
    """Pydantic's error list in the contract's `{loc, msg, code}` form."""
    base = list(prefix or [])
    return [field_error(base + list(e["loc"]), e["msg"], e["type"]) for e in errors]


def problem_type(status: int) -> tuple[str, str]:
    """The type (slug) and title of a status (`PROBLEM_TYPES`; a generic one for the others)."""
    return PROBLEM_TYPES.get(status, ("http-error", "HTTP error"))


def problem_body(
    status: int,
    detail: str,
    *,
    slug: str | None = None,
    title: str | None = None,
    errors: list[dict[str, Any]] | None = None,
    extensions: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The body of every problem answer: the type (slug) and title are the status's own
    (`PROBLEM_TYPES`) unless given; `extensions` are extra members (RFC 9457 section 3.2)."""
    standard_slug, standard_title = problem_type(status)
    body: dict[str, Any] = {
        **(extensions or {}),
        "type": PROBLEM_BASE + (slug or standard_slug),
        "title": title or standard_title,
        "status": status,
        "detail": detail,
    }
    if errors is not None:
        body["errors"] = errors
    return body


def problem(
    status: int,
    detail: str,
    *,
    slug: str | None = None,
    title: str | None = None,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
    extensions: dict[str, Any] | None = None,
) -> JSONResponse:
    """A problem+json response (`problem_body`), for the error handlers."""
    body = problem_body(
        status, detail, slug=slug, title=title, errors=errors, extensions=extensions
    )
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


async def send_problem(
    send: Send,
    status: int,
    detail: str,
    *,
    slug: str | None = None,
    title: str | None = None,
    headers: dict[str, str] | None = None,
    errors: list[dict[str, Any]] | None = None,
) -> None:
    """Answer a problem+json (`problem`) from a middleware, below the app's error handlers."""
    response = problem(status, detail, slug=slug, title=title, headers=headers, errors=errors)
    await send({"type": "http.response.start", "status": status, "headers": response.raw_headers})
    await send({"type": "http.response.body", "body": response.body})


# SQLSTATEs after which the same request, sent again, can succeed: connection failures (class
# 08), the server shutting down or starting (57P0x), too many connections, a statement timeout
# or lock timeout, and a serialization failure or deadlock that aborted the transaction.
_RETRYABLE_SQLSTATES = frozenset(
    {"40001", "40P01", "53300", "55P03", "57014", "57P01", "57P02", "57P03"}
)
_DOWN_ERROR_NAMES = frozenset(
    {"CannotConnectNowError", "ConnectionDoesNotExistError", "AdminShutdownError"}
)
RETRY_AFTER_SECONDS = 5


def is_database_down(exc: BaseException) -> bool:
    """True for errors that mean PostgreSQL is unreachable or busy, not a bug in a query."""
    if isinstance(exc, (OSError, PoolTimeoutError)):  # refused, reset, socket gone, timeouts
        return True
    if isinstance(exc, (OperationalError, InterfaceError)):
        return True
    if isinstance(exc, DBAPIError):
        if exc.connection_invalidated:
            return True
        sqlstate = getattr(exc.orig, "sqlstate", None) or ""
        if sqlstate.startswith("08") or sqlstate in _RETRYABLE_SQLSTATES:
            return True
    return type(getattr(exc, "orig", exc)).__name__ in _DOWN_ERROR_NAMES


def service_unavailable(
    detail: str = "The database is unavailable; retry shortly.",
    *,
    extensions: dict[str, Any] | None = None,
) -> JSONResponse:
    """503 problem+json telling the client when to retry."""
    return problem(
        503, detail, headers={"Retry-After": str(RETRY_AFTER_SECONDS)}, extensions=extensions
    )


def _internal_error(request: Request) -> JSONResponse:
    request_id = current_request_id() or uuid.uuid4().hex
    logger.exception("unexpected error (request %s)", request_id)
    return problem(500, f"Unexpected error; request id {request_id}.")


def install_error_handlers(app: FastAPI) -> None:
    """Render every error the app can raise as problem+json."""

    @app.exception_handler(AppError)
    async def _app_error(request: Request, exc: AppError) -> JSONResponse:
        return problem(
            exc.status,
            exc.detail,
            slug=exc.slug,
            title=exc.title,
            errors=exc.errors,
            headers=exc.headers,
            extensions=exc.extensions,
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = pydantic_errors(exc.errors())
        detail = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in errors[:5])
        return problem(422, detail or "invalid request", errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = exc.detail if isinstance(exc.detail, str) else problem_type(exc.status_code)[1]
        return problem(exc.status_code, detail, headers=dict(exc.headers) if exc.headers else None)

    # Database errors get handlers of their own (not only the catch-all below): Starlette
    # re-raises what reaches the catch-all to the server, which would log every retryable
    # outage as a crash.
    async def _database(request: Request, exc: Exception) -> JSONResponse:
        if is_database_down(exc):
            logger.warning("database unavailable: %s", type(exc).__name__)
            return service_unavailable()
        return _internal_error(request)

    for error_type in (DBAPIError, PoolTimeoutError, OSError):
        app.add_exception_handler(error_type, _database)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        return _internal_error(request)
