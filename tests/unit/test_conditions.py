"""One test of "the write's condition failed" for pynamodb, botocore and transaction errors."""

from agents_meetings.conditions import cancellation_codes, cancelled_by_condition, is_condition_failure
from botocore.exceptions import ClientError
from pynamodb.exceptions import CancellationReason, PutError, TransactWriteError, UpdateError, VerboseClientError


def client_error(code: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": "no"}}, "UpdateItem")


def test_a_pynamodb_error_caused_by_a_failed_condition_is_a_condition_failure() -> None:
    assert is_condition_failure(PutError(cause=client_error("ConditionalCheckFailedException")))
    assert not is_condition_failure(UpdateError(cause=client_error("ProvisionedThroughputExceededException")))
    assert not is_condition_failure(UpdateError("no cause"))


def test_a_raw_botocore_error_is_read_by_its_error_code() -> None:
    assert is_condition_failure(client_error("ConditionalCheckFailedException"))
    assert not is_condition_failure(client_error("ResourceNotFoundException"))
    assert not is_condition_failure(RuntimeError("connection reset"))


def test_a_cancelled_transaction_names_the_items_whose_condition_failed() -> None:
    reasons = [None, CancellationReason(code="ConditionalCheckFailed"), CancellationReason(code="None")]
    cause = VerboseClientError(
        {"Error": {"Code": "TransactionCanceledException", "Message": "cancelled"}},
        "TransactWriteItems",
        cancellation_reasons=reasons,
    )
    exc = TransactWriteError("Failed to write transaction items", cause=cause)
    assert cancellation_codes(exc) == [None, "ConditionalCheckFailed", "None"]
    assert cancelled_by_condition(exc, 1)
    assert not cancelled_by_condition(exc, 0) and not cancelled_by_condition(exc, 2)
    assert not cancelled_by_condition(exc, 5), "an index past the transaction's items is not a failure"
    assert not is_condition_failure(exc), "a cancelled transaction is not itself a single failed condition"
    assert cancellation_codes(TransactWriteError("no cause")) == []
