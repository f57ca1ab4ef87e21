"""The local runtime delivers events as the cloud does: rule -> SQS -> worker, partial batch failures
retried, a poison message parked in the DLQ after max_receive_count, never lost."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from agents_meetings.events.catalog import DomainEvent
from agents_meetings.settings import get_settings, reset_settings

from infra.catalog import EventRuleDecl
from infra.local.embedded_aws import EmbeddedAws
from infra.local.event_router import EventRouter, rate_seconds, sqs_event
from infra.local.functions import FunctionRegistry
from infra.local.provision import Provisioner
from infra.local.runtime import free_port

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def embedded() -> Iterator[tuple[EmbeddedAws, FunctionRegistry]]:
    registry = FunctionRegistry()
    aws = EmbeddedAws(free_port(), None, registry)
    aws.start()
    yield aws, registry
    aws.stop()


def _publish(aws: EmbeddedAws, bus: str, user_id: str) -> None:
    events = boto3.client("events", region_name="us-east-1", endpoint_url=aws.url)
    detail = {"meeting_id": "m", "user_id": user_id, "joined_at": "2026-11-24T10:00:00Z"}
    result = events.put_events(
        Entries=[
            {
                "Source": DomainEvent.PARTICIPANT_JOINED.source,
                "DetailType": DomainEvent.PARTICIPANT_JOINED.value,
                "Detail": json.dumps(detail),
                "EventBusName": bus,
            }
        ]
    )
    assert result["FailedEntryCount"] == 0


def test_rule_queue_worker_with_partial_failure_and_dead_letter(embedded: Any) -> None:
    aws, registry = embedded
    reset_settings()
    settings = get_settings()
    provisioner = Provisioner(settings, aws.url)
    provisioner.provision()
    rule = EventRuleDecl(
        name="delivery-proof",
        detail_types=(DomainEvent.PARTICIPANT_JOINED,),
        target="delivery-proof-worker",
        max_receive_count=2,
    )
    queue = provisioner.rule_queue(rule, visibility_timeout=1)
    seen: list[str] = []

    def worker(event: dict[str, Any], context: Any) -> dict[str, Any]:
        failures = []
        for record in event["Records"]:
            body = json.loads(record["body"])
            assert record["eventSource"] == "aws:sqs" and record["eventSourceARN"] == queue.queue_arn
            if body["detail"]["user_id"] == "poison":
                failures.append({"itemIdentifier": record["messageId"]})
            else:
                seen.append(body["detail"]["user_id"])
        return {"batchItemFailures": failures}

    registry.register("delivery-proof-worker", worker)
    router = EventRouter(registry, [queue], aws.url, settings.aws_region, schedules=())
    _publish(aws, settings.event_bus_name, "alice")
    _publish(aws, settings.event_bus_name, "poison")

    sqs = boto3.client("sqs", region_name="us-east-1", endpoint_url=aws.url)
    import time

    deadline = time.monotonic() + 20
    dead: list[dict[str, Any]] = []
    while time.monotonic() < deadline and not dead:
        router.deliver_once(queue, wait_seconds=1)
        dead = sqs.receive_message(QueueUrl=queue.dlq_url, MaxNumberOfMessages=10).get("Messages", [])
    assert seen == ["alice"]  # the good message was applied once and deleted
    assert len(dead) == 1 and json.loads(dead[0]["Body"])["detail"]["user_id"] == "poison"


def test_schedule_expressions_and_sqs_event_shape() -> None:
    assert rate_seconds("rate(5 minutes)") == 300
    assert rate_seconds("rate(1 hour)") == 3600
    with pytest.raises(ValueError, match="unsupported schedule"):
        rate_seconds("cron(0 12 * * ? *)")
    event = sqs_event([{"MessageId": "1", "ReceiptHandle": "r", "Body": "{}"}], "arn:queue", "us-east-1")
    record = event["Records"][0]
    assert record["messageId"] == "1" and record["eventSource"] == "aws:sqs" and record["md5OfBody"]


def test_a_slow_batch_does_not_hold_up_the_next_event_on_its_queue(embedded: Any) -> None:
    """Lambda's SQS event source polls a queue with several pollers at once: an event arriving
    while a batch is still being worked on is delivered at once, not after that batch."""
    import threading

    aws, registry = embedded
    reset_settings()
    settings = get_settings()
    provisioner = Provisioner(settings, aws.url)
    provisioner.provision()
    rule = EventRuleDecl(
        name="concurrent-batches", detail_types=(DomainEvent.PARTICIPANT_JOINED,), target="concurrent-batches-worker"
    )
    queue = provisioner.rule_queue(rule)
    slow_started, fast_done = threading.Event(), threading.Event()
    finished: list[str] = []

    def worker(event: dict[str, Any], context: Any) -> dict[str, Any]:
        for record in event["Records"]:
            user_id = json.loads(record["body"])["detail"]["user_id"]
            if user_id == "slow":
                slow_started.set()
                fast_done.wait(15)  # a slow worker; a safety net, not the test's measure
            else:
                fast_done.set()
            finished.append(user_id)
        return {"batchItemFailures": []}

    registry.register("concurrent-batches-worker", worker)
    router = EventRouter(registry, [queue], aws.url, settings.aws_region, schedules=())
    router.start()
    try:
        _publish(aws, settings.event_bus_name, "slow")
        assert slow_started.wait(20), "the first event was never delivered"
        _publish(aws, settings.event_bus_name, "fast")
        assert fast_done.wait(20), "the second event was never delivered"
        import time

        deadline = time.monotonic() + 20
        while len(finished) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        router.stop()
    assert finished == ["fast", "slow"], "the second event waited for the slow batch to finish"
