"""One error shape for every 4xx: ``{"detail": "..."}`` (ErrorBody), and its OpenAPI entries.

FastAPI's own validation errors (a list of objects under ``detail``) and Starlette's plain 404/405
are rendered in the same shape. A body that is not JSON at all is a 400; JSON that does not fit the
schema is a 422. ``responses(...)`` builds the documented responses of a route from status codes,
so every route lists exactly the errors it can answer.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from streaming.service.schemas import ErrorBody

DESCRIPTIONS = {
    400: "the request body is not JSON",
    401: "no API token, or the wrong one (send `Authorization: Bearer TOKEN`)",
    403: "forbidden",
    404: "not found",
    413: "the request body is larger than service.max_body_bytes",
    422: "a parameter or the body does not fit the schema",
    429: "too many requests from this client; retry after the Retry-After header's seconds",
    503: "not available yet",
}
HEADERS = {
    401: {"WWW-Authenticate": {"description": "Bearer", "schema": {"type": "string"}}},
    429: {
        "Retry-After": {
            "description": "seconds until a request is accepted again",
            "schema": {"type": "integer", "minimum": 1},
        }
    },
}


def responses(*codes: int, described: dict[int, str] | None = None) -> dict[int | str, dict[str, Any]]:
    """OpenAPI responses of a route: each code with ErrorBody and its description (``described``
    replaces the generic one), plus the headers it carries."""
    documented: dict[int | str, dict[str, Any]] = {}
    for code in codes:
        description = (described or {}).get(code, DESCRIPTIONS[code])
        entry: dict[str, Any] = {"model": ErrorBody, "description": description}
        if code in HEADERS:
            entry["headers"] = HEADERS[code]
        documented[code] = entry
    return documented


def _location(loc: Sequence[int | str]) -> str:
    """("body", "posts", 0, "caption") -> "body posts[0].caption"; ("query", "k") -> "query k"."""
    where, *path = loc or ("request",)
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else f".{part}" if text else str(part)
    return f"{where} {text}".strip()


def validation_detail(errors: Sequence[dict[str, Any]]) -> str:
    return "; ".join(f"{_location(error.get('loc', ()))}: {error.get('msg', 'invalid')}" for error in errors)


def install(app: FastAPI) -> None:
    """Render every HTTP error of ``app`` as ErrorBody (headers such as Allow kept)."""

    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        body = ErrorBody(detail=str(exc.detail))
        return JSONResponse(body.model_dump(), status_code=exc.status_code, headers=exc.headers)

    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = list(exc.errors())
        status = 400 if any(error.get("type") == "json_invalid" for error in errors) else 422
        detail = "the body is not valid JSON" if status == 400 else validation_detail(errors)
        return JSONResponse(ErrorBody(detail=detail).model_dump(), status_code=status)

    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(RequestValidationError, invalid_request)
