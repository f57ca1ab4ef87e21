"""Conditional writes in notifications: a failed condition is told apart from any other refusal
(issue 12), so a throttled write is never taken for "capped", "already read" or "deleted"."""

from __future__ import annotations

from typing import Any

import pytest
from agents_meetings.notifications.conditions import is_condition_failure
from agents_meetings.notifications.delivery import DeliveryPlanner
from agents_meetings.tables import NotificationKeyModel
from pynamodb.exceptions import CancellationReason, TransactWriteError, UpdateError, VerboseClientError


def _refusal(code: str, reasons: list[CancellationReason | None] | None = None) -> VerboseClientError:
    return VerboseClientError(
        {"Error": {"Code": code, "Message": code}}, "TransactWriteItems", cancellation_reasons=reasons or []
    )


def test_a_single_write_failed_its_condition_only_when_dynamodb_says_so() -> None:
    assert is_condition_failure(UpdateError(cause=_refusal("ConditionalCheckFailedException")))
    assert not is_condition_failure(UpdateError(cause=_refusal("ProvisionedThroughputExceededException")))


def test_a_transaction_names_the_item_whose_condition_failed() -> None:
    reasons: list[CancellationReason | None] = [None, CancellationReason(code="ConditionalCheckFailed")]
    exc = TransactWriteError(
        "Failed to write transaction items", cause=_refusal("TransactionCanceledException", reasons)
    )
    assert is_condition_failure(exc)
    assert is_condition_failure(exc, item=1) and not is_condition_failure(exc, item=0)
    assert not is_condition_failure(exc, item=2)
    conflict = TransactWriteError(
        "Failed to write transaction items",
        cause=_refusal("TransactionCanceledException", [CancellationReason("TransactionConflict")]),
    )
    assert not is_condition_failure(conflict)


def test_a_throttled_hourly_cap_write_is_raised_not_taken_for_capped(monkeypatch: pytest.MonkeyPatch) -> None:
    def throttled(self: Any, *args: Any, **kwargs: Any) -> None:
        raise UpdateError(cause=_refusal("ProvisionedThroughputExceededException"))

    monkeypatch.setattr(NotificationKeyModel, "update", throttled)
    with pytest.raises(UpdateError):
        DeliveryPlanner._take_hourly_slot("throttled-user", 5)


def test_a_failed_hourly_cap_condition_means_capped(monkeypatch: pytest.MonkeyPatch) -> None:
    def full(self: Any, *args: Any, **kwargs: Any) -> None:
        raise UpdateError(cause=_refusal("ConditionalCheckFailedException"))

    monkeypatch.setattr(NotificationKeyModel, "update", full)
    assert DeliveryPlanner._take_hourly_slot("capped-user", 5) is False
