"""Reading DynamoDB's answer to a conditional write: did its condition fail (and, in a transaction,
which item's)? Local to notifications until the shared helper lands; swap the import then."""

from __future__ import annotations

from pynamodb.exceptions import PynamoDBException, TransactWriteError

CONDITION_FAILED = "ConditionalCheckFailed"


def is_condition_failure(exc: PynamoDBException, item: int | None = None) -> bool:
    """True when a write was refused because its condition failed: a single write's
    ``ConditionalCheckFailedException``, or a cancelled transaction's ``ConditionalCheckFailed``
    (on any item, or on the ``item``-th in pynamodb's order: condition checks, deletes, puts,
    updates)."""
    if not isinstance(exc, TransactWriteError):
        return exc.cause_response_code == f"{CONDITION_FAILED}Exception"
    codes = [str(reason.code) if reason is not None else "None" for reason in (exc.cancellation_reasons or [])]
    if item is None:
        return CONDITION_FAILED in codes
    return item < len(codes) and codes[item] == CONDITION_FAILED
