"""OpenAPI descriptions of the error answers every endpoint can give, their examples built by
app/core/problems.py."""

from typing import Any

from pydantic import BaseModel

from app.core.problems import PROBLEM_JSON, problem_body

PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "loc": {
                        "type": "array",
                        "items": {"anyOf": [{"type": "string"}, {"type": "integer"}]},
                    },
                    "msg": {"type": "string"},
                    "code": {"type": "string"},
                },
            },
        },
    },
}


PROBLEM_REF = "#/components/schemas/Problem"


def problem_response(description: str, example: dict[str, Any] | None = None) -> dict[str, Any]:
    """An OpenAPI response answered as problem+json, referring to the one `Problem` schema."""
    media: dict[str, Any] = {"schema": {"$ref": PROBLEM_REF}}
    if example is not None:
        media["example"] = example
    return {"description": description, "content": {PROBLEM_JSON: media}}


def _problem(description: str, status: int, detail: str) -> dict[str, Any]:
    """A documented error answer with an example built as the service builds its answers."""
    return problem_response(description, problem_body(status, detail))


AUTH_ERRORS: dict[int | str, dict[str, Any]] = {
    400: _problem(
        "Malformed request: a body that is not JSON, or NUL bytes in the path or query.",
        400,
        "There was an error parsing the body",
    ),
    401: _problem("Missing, unknown or revoked key.", 401, "Unknown or revoked API key."),
    403: _problem("The key lacks the scope.", 403, "This key lacks the 'read' scope."),
    422: _problem(
        "Invalid input; `errors` names each field and reason.",
        422,
        "query.from: Field required",
    ),
    429: _problem(
        "Over the key's rate limit, or too many failed authentications from the client's "
        "address (when a limit is configured); retry after `Retry-After`.",
        429,
        "this key is limited to 600 requests per minute",
    ),
    503: _problem(
        "The database is unavailable, or the request timed out; retry after `Retry-After`.",
        503,
        "The database is unavailable; retry shortly.",
    ),
}

NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: _problem("Not found.", 404, "dossier 'X' is unknown")
}
CONFLICT: dict[int | str, dict[str, Any]] = {
    409: _problem(
        "The request contradicts stored data (e.g. an agency code another unit carries).",
        409,
        "agency code '000.00.00.H26' already belongs to unit 10444",
    )
}
TOO_LARGE: dict[int | str, dict[str, Any]] = {
    413: _problem(
        "Body over 10 MiB (declared or streamed), or more than 5,000 events.",
        413,
        "at most 5000 events per request",
    )
}


def hand_read_body(model: type[BaseModel]) -> dict[str, Any]:
    """`openapi_extra` documenting a JSON body that the handler reads and validates itself
    (item by item), with the model's schema and first example."""
    extra: Any = model.model_config.get("json_schema_extra") or {}
    media: dict[str, Any] = {"schema": {"$ref": f"#/components/schemas/{model.__name__}"}}
    if extra.get("examples"):
        media["example"] = extra["examples"][0]
    return {"requestBody": {"required": True, "content": {"application/json": media}}}


# What the middlewares can answer on any path, before a handler runs: every operation lists
# these (unless it documents its own), so the document names every status a client can get.
ANSWERED_EVERYWHERE: dict[int, dict[str, Any]] = {
    400: _problem(
        "Malformed request: a second Authorization header (`duplicate_header`), NUL bytes in "
        "the path or query, or a body that cannot be parsed.",
        400,
        "the authorization header may be sent only once",
    ),
    413: TOO_LARGE[413],
    414: _problem("The query string is over 4,096 bytes.", 414, "the query is too long"),
    429: AUTH_ERRORS[429],
    431: _problem(
        "More than 100 request headers, or more than 16 KiB of them.",
        431,
        "at most 100 headers and 16384 bytes of headers",
    ),
    503: AUTH_ERRORS[503],
}
