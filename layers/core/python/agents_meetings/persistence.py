"""The storage as the HTTP layer sees it, without pynamodb: bind every table at start-up, and which
exceptions are storage failures and which of those are transient (retry) rather than a fault."""

from __future__ import annotations

from pynamodb.exceptions import PynamoDBConnectionError, PynamoDBException

from agents_meetings.tables import bind_tables

STORAGE_ERRORS: tuple[type[Exception], ...] = (PynamoDBException,)
"""What a storage call raises when DynamoDB fails (not a domain answer such as "not found")."""

# DynamoDB answers that mean "busy, try again": the client gets 503 + Retry-After. Anything else
# DynamoDB answers (validation, access denied, missing table) is a fault on our side: 500.
TRANSIENT_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "InternalServerError",
        "ServiceUnavailable",
        "TransactionConflictException",
        "LimitExceededException",
    }
)


def bind_storage() -> None:
    """Point every table model at its physical table and endpoint (each app does it once)."""
    bind_tables()


def is_transient(exc: Exception) -> bool:
    """True when the storage failure ``exc`` (one of STORAGE_ERRORS) is worth retrying."""
    code = getattr(exc, "cause_response_code", None)
    if code is None:
        # No answer from DynamoDB at all (connection refused, timed out): transient.
        return isinstance(exc, PynamoDBConnectionError)
    return code in TRANSIENT_CODES
