"""Did DynamoDB refuse a write because its condition failed? One answer for every adapter: pynamodb
errors (``cause_response_code``), raw botocore ``ClientError`` (``Error.Code``) and the per-item
cancellation reasons of a transaction."""

from __future__ import annotations

from typing import Any

# The error code of a single write whose condition failed, and a transaction item's cancellation code.
CONDITION_FAILED = "ConditionalCheckFailedException"
CANCELLED_BY_CONDITION = "ConditionalCheckFailed"


def is_condition_failure(exc: BaseException) -> bool:
    """True when ``exc`` (pynamodb or botocore) is DynamoDB's ConditionalCheckFailedException."""
    code = getattr(exc, "cause_response_code", None)
    if code is None:
        response: Any = getattr(exc, "response", None) or {}
        code = response.get("Error", {}).get("Code")
    return bool(code == CONDITION_FAILED)


def cancellation_codes(exc: BaseException) -> list[str | None]:
    """The cancellation code of each item of a cancelled transaction, in the order they were written."""
    reasons = getattr(exc, "cancellation_reasons", None) or []
    return [getattr(reason, "code", None) if reason else None for reason in reasons]


def cancelled_by_condition(exc: BaseException, index: int) -> bool:
    """True when the transaction's item at ``index`` was cancelled because its condition failed."""
    codes = cancellation_codes(exc)
    return index < len(codes) and codes[index] == CANCELLED_BY_CONDITION


def transaction_cancelled_by_condition(exc: BaseException, index: int | None = None) -> bool:
    """True when a cancelled transaction failed on a condition: on any item, or on the one at ``index``."""
    if index is not None:
        return cancelled_by_condition(exc, index)
    return CANCELLED_BY_CONDITION in cancellation_codes(exc)
