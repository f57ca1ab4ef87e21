"""Conditional writes of the notifications package: reading DynamoDB's answer (did the condition
fail, and in a transaction on which item?) and the update of a notification its owner may have
deleted meanwhile."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pynamodb.exceptions import PynamoDBException, TransactWriteError, UpdateError

from agents_meetings.conditions import is_condition_failure as single_write_failed
from agents_meetings.conditions import transaction_cancelled_by_condition
from agents_meetings.tables import NotificationModel


def is_condition_failure(exc: PynamoDBException, item: int | None = None) -> bool:
    """True when a write was refused because its condition failed: a single write's
    ``ConditionalCheckFailedException``, or a cancelled transaction's ``ConditionalCheckFailed``
    (on any item, or on the ``item``-th in pynamodb's order: condition checks, deletes, puts,
    updates)."""
    if isinstance(exc, TransactWriteError):
        return transaction_cancelled_by_condition(exc, item)
    return single_write_failed(exc)


def update_if_present(notification: NotificationModel, actions: Sequence[Any]) -> bool:
    """Apply ``actions`` to a stored notification; False (nothing written) when it is gone."""
    try:
        notification.update(actions=list(actions), condition=NotificationModel.id.exists())
    except UpdateError as exc:
        if not is_condition_failure(exc):
            raise
        return False
    return True
