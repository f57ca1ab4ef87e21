"""Domain errors: each carries the HTTP status and machine code of the one JSON error shape."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    status_code = 400
    default_code = "bad_request"

    def __init__(self, message: str, *, code: str | None = None, details: dict[str, Any] | None = None):
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code
        self.details = details or {}


class InvalidRequest(DomainError):
    status_code = 400
    default_code = "invalid_request"


class Unauthenticated(DomainError):
    status_code = 401
    default_code = "not_authenticated"


class Forbidden(DomainError):
    status_code = 403
    default_code = "forbidden"


class NotFound(DomainError):
    status_code = 404
    default_code = "not_found"


class Conflict(DomainError):
    status_code = 409
    default_code = "conflict"


class Unprocessable(DomainError):
    status_code = 422
    default_code = "validation_error"


class ServiceUnavailable(DomainError):
    status_code = 503
    default_code = "service_unavailable"

    def __init__(self, message: str, *, retry_after_seconds: int = 1, **kwargs: Any):
        super().__init__(message, **kwargs)
        self.retry_after_seconds = retry_after_seconds
