"""One correlation id per request path: set from the request, carried in event metadata and SQS
message attributes, adopted by each worker before it works, in every log line it writes."""

from __future__ import annotations

import io
import json
import logging
import threading
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from agents_meetings import observability
from agents_meetings.events.catalog import DomainEvent
from agents_meetings.events.publisher import RecordingPublisher, build_detail
from agents_meetings.notifications.email import SqsEmailQueue
from agents_meetings.observability import (
    adopt_correlation,
    correlation_id,
    correlation_metadata,
    event_correlation,
    logger,
    set_correlation_id,
    trace_root,
)
from agents_meetings.workers import adopt_message_correlation, sqs_worker
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

pytestmark = pytest.mark.unit

TRACE = "Root=1-67891233-abcdef012345678912345678;Parent=53995c3f42cd8ad8;Sampled=1"


LogLines = Callable[[], list[dict[str, Any]]]


@pytest.fixture()
def log_lines() -> Iterator[LogLines]:
    """The Logger's JSON lines, as CloudWatch would receive them."""
    buffer = io.StringIO()
    capture = logging.StreamHandler(buffer)
    capture.setFormatter(logger.registered_formatter)
    target = logging.getLogger(logger.name)
    target.addHandler(capture)
    level = target.level
    target.setLevel(logging.INFO)
    yield lambda: [json.loads(line) for line in buffer.getvalue().splitlines() if line.strip()]
    target.removeHandler(capture)
    target.setLevel(level)
    set_correlation_id(None)


@pytest.fixture(autouse=True)
def _no_correlation_before(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(observability.TRACE_HEADER_ENV, raising=False)
    set_correlation_id(None)
    logger.thread_safe_clear_keys()


def test_an_event_carries_the_correlation_id_of_the_request_that_caused_it() -> None:
    set_correlation_id("req-123")
    detail = build_detail(DomainEvent.USER_APPROVED, {"user_id": "u1", "approved_by": "a1"})
    assert detail["metadata"] == {"correlation_id": "req-123"}
    assert detail["user_id"] == "u1"


def test_an_event_nothing_caused_starts_a_path_of_its_own_named_by_its_event_id() -> None:
    detail = build_detail(DomainEvent.USER_APPROVED, {"user_id": "u1", "approved_by": "a1"})
    assert detail["metadata"]["correlation_id"] == detail["event_id"]


def test_an_event_carries_the_xray_trace_header_when_traced(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(observability.TRACE_HEADER_ENV, TRACE)
    set_correlation_id("req-1")
    publisher = RecordingPublisher()
    publisher.publish(DomainEvent.USER_APPROVED, {"user_id": "u1", "approved_by": "a1"})
    [(_, detail)] = publisher.published
    assert detail["metadata"] == {"correlation_id": "req-1", "trace_header": TRACE}
    assert trace_root(TRACE) == "1-67891233-abcdef012345678912345678"


def test_each_thread_logs_its_own_correlation_id(log_lines: LogLines) -> None:
    # The local runtime runs many invocations at once in one process: ids must not leak between them.
    ready = threading.Barrier(2)

    def invocation(name: str) -> None:
        set_correlation_id(name)
        ready.wait(timeout=5)
        logger.info("working", extra={"who": name})

    threads = [threading.Thread(target=invocation, args=(name,)) for name in ("first", "second")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert {(line["who"], line["correlation_id"]) for line in log_lines()} == {("first", "first"), ("second", "second")}


def test_a_worker_adopts_the_correlation_id_in_the_event_before_it_works(log_lines: LogLines) -> None:
    seen: list[str | None] = []

    def apply(event: dict[str, Any]) -> str:
        seen.append(correlation_id())
        logger.info("applying")
        return "done"

    handler = sqs_worker(apply, report=lambda event, result: logger.info("applied"), idempotent=False)
    events = [
        {"id": f"evt-{n}", "detail-type": "UserApproved", "detail": {"metadata": {"correlation_id": f"req-{n}"}}}
        for n in (1, 2)
    ]
    records = [
        {"messageId": str(uuid.uuid4()), "body": json.dumps(event), "attributes": {}, "messageAttributes": {}}
        for event in events
    ]
    context = type("Context", (), {"function_name": "w", "memory_limit_in_mb": 128, "aws_request_id": "lambda-1"})()
    context.invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:w"
    assert handler({"Records": records}, context) == {"batchItemFailures": []}
    assert seen == ["req-1", "req-2"]
    worked = [(line["message"], line["correlation_id"]) for line in log_lines()]
    assert worked == [("applying", "req-1"), ("applied", "req-1"), ("applying", "req-2"), ("applied", "req-2")]


def test_an_event_without_metadata_is_correlated_by_its_event_id() -> None:
    assert event_correlation({"id": "evt-9", "detail": {"user_id": "u1"}}) == "evt-9"
    assert correlation_id() == "evt-9"


def test_a_worker_notes_the_senders_trace_as_origin_trace_id(log_lines: LogLines) -> None:
    adopt_correlation({"correlation_id": "req-7", "trace_header": TRACE})
    logger.info("traced")
    [line] = log_lines()
    assert line["correlation_id"] == "req-7"
    assert line["origin_trace_id"] == "1-67891233-abcdef012345678912345678"


class RecordingSqs:
    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    def send_message(self, **kwargs: Any) -> dict[str, Any]:
        self.sent.append(kwargs)
        return {}

    def send_message_batch(self, QueueUrl: str, Entries: list[dict[str, Any]]) -> dict[str, Any]:
        self.sent.extend({"QueueUrl": QueueUrl, **entry} for entry in Entries)
        return {"Failed": []}


def test_the_email_queue_sends_the_correlation_id_as_a_message_attribute(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(observability.TRACE_HEADER_ENV, TRACE)
    set_correlation_id("req-42")
    sqs = RecordingSqs()
    queue = SqsEmailQueue("https://queue.invalid/q", client=sqs)
    queue.enqueue("u1", "n1")
    queue.enqueue_many([("u2", "n2"), ("u3", "n3")])
    assert len(sqs.sent) == 3
    for message in sqs.sent:
        assert message["MessageAttributes"] == {
            "correlation_id": {"DataType": "String", "StringValue": "req-42"},
            "trace_header": {"DataType": "String", "StringValue": TRACE},
        }


def test_a_message_worker_adopts_the_correlation_id_attribute() -> None:
    record = SQSRecord(
        {
            "messageId": "m-1",
            "body": "{}",
            "attributes": {"AWSTraceHeader": TRACE},
            "messageAttributes": {"correlation_id": {"stringValue": "req-5", "dataType": "String"}},
        }
    )
    assert adopt_message_correlation(record) == "req-5"
    assert correlation_id() == "req-5"
    bare = SQSRecord({"messageId": "m-2", "body": "{}", "attributes": {}, "messageAttributes": {}})
    assert adopt_message_correlation(bare) == "m-2"


def test_correlation_metadata_names_a_new_path_when_nothing_is_current() -> None:
    first, second = correlation_metadata()["correlation_id"], correlation_metadata()["correlation_id"]
    assert uuid.UUID(first) and first != second
