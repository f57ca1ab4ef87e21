"""The one JSON error shape: {"error": {"code", "message", "details", "request_id"}}."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from agents_meetings.errors import DomainError, ServiceUnavailable
from agents_meetings.http.security_headers import security_headers
from agents_meetings.observability import logger, metrics
from agents_meetings.persistence import STORAGE_ERRORS, is_transient


class ErrorBody(BaseModel):
    code: str = Field(examples=["meeting_not_found"])
    message: str = Field(examples=["Meeting not found."])
    details: dict[str, Any] = Field(default_factory=dict)
    request_id: str | None = Field(None, examples=["c6af9ac6-7b61-11e6-9a41-93e8deadbeef"])


class ErrorResponse(BaseModel):
    error: ErrorBody


def request_id_of(request: Request) -> str | None:
    return getattr(request.state, "request_id", None)


def error_response(
    request: Request,
    status: int,
    code: str,
    message: str,
    details: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    request_id = request_id_of(request)
    body = ErrorResponse(error=ErrorBody(code=code, message=message, details=details or {}, request_id=request_id))
    # Set here as well as by the middleware: a 500 is answered outside the middleware stack.
    all_headers = {
        **security_headers(request.url.path),
        **(headers or {}),
        **({"X-Request-Id": request_id} if request_id else {}),
    }
    return JSONResponse(body.model_dump(), status_code=status, headers=all_headers)


_HTTP_CODES = {
    400: "bad_request",
    401: "not_authenticated",
    403: "forbidden",
    404: "route_not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
}

# FastAPI's HTTPException detail for a body it cannot parse (not UTF-8, a broken form).
_UNREADABLE_BODY = "There was an error parsing the body"


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def _domain(request: Request, exc: DomainError) -> JSONResponse:
        headers = None
        if isinstance(exc, ServiceUnavailable):
            headers = {"Retry-After": str(exc.retry_after_seconds)}
        return error_response(request, exc.status_code, exc.code, exc.message, exc.details, headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [
            {
                "field": ".".join(str(p) for p in err.get("loc", ()) if p != "body"),
                "problem": err.get("msg", ""),
                "type": err.get("type", ""),
            }
            for err in exc.errors()
        ]
        return error_response(
            request, 422, "validation_error", "The request is not valid; see details.", {"errors": problems}
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _HTTP_CODES.get(exc.status_code, "http_error")
        message = exc.detail if isinstance(exc.detail, str) else "Request failed."
        if exc.status_code == 400 and message == _UNREADABLE_BODY:
            # FastAPI's answer to a body it could not read at all (not UTF-8, a broken form).
            code, message = "invalid_body", "The request body could not be read: send UTF-8 JSON."
        if exc.status_code == 404 and message == "Not Found":
            message = f"No route for {request.method} {request.url.path}."
        return error_response(request, exc.status_code, code, message, headers=getattr(exc, "headers", None))

    async def _storage(request: Request, exc: Exception) -> JSONResponse:
        # Throttling and connection failures are transient: tell the client to retry, never a bare 500.
        if is_transient(exc):
            logger.warning("storage temporarily unavailable", extra={"error": str(exc)})
            metrics.add_metric(name="StorageThrottled", unit="Count", value=1)
            return error_response(
                request,
                503,
                "service_unavailable",
                "The service is busy; retry in a moment.",
                headers={"Retry-After": "1"},
            )
        return await _unexpected(request, exc)

    for storage_error in STORAGE_ERRORS:
        app.add_exception_handler(storage_error, _storage)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        logger.exception("unhandled error", extra={"path": request.url.path})
        metrics.add_metric(name="ServerErrors", unit="Count", value=1)
        return error_response(
            request, 500, "internal_error", "Something went wrong on our side; the request id helps us find it."
        )


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses=`` entry documenting the error shape for the given statuses.

    422 is always included: any route with a parameter can answer it, and in this shape (not
    FastAPI's default ``HTTPValidationError``).
    """
    descriptions = {
        400: "Bad request",
        401: "Not authenticated",
        403: "Forbidden",
        404: "Not found",
        409: "Conflict with the current state",
        422: "Validation error",
        429: "Too many requests",
        503: "Temporarily unavailable",
    }
    return {
        status: {"model": ErrorResponse, "description": descriptions.get(status, "Error")}
        for status in sorted({*statuses, 422})
    }
