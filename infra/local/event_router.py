"""Delivers events the way the cloud does: rule -> SQS queue -> worker (batch, partial failures),
and runs scheduled jobs at their declared rate."""

from __future__ import annotations

import hashlib
import json
import re
import threading
import uuid
from typing import Any

import boto3
from agents_meetings.observability import logger

from infra.catalog import SCHEDULES, ScheduleDecl
from infra.local.functions import FunctionRegistry
from infra.local.provision import MachineTrigger, RuleQueue

_RATE = re.compile(r"^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$")
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}
# Lambda's SQS event source mapping polls each queue with several pollers (five to start with) and
# runs their batches concurrently. One poller per queue made an event wait behind whatever batch the
# worker was still on (a notify batch under load, a long reindex): a frame then came after > 1 s.
POLLERS_PER_QUEUE = 4


def rate_seconds(expression: str) -> int:
    found = _RATE.match(expression)
    if not found:
        raise ValueError(f"unsupported schedule expression {expression!r} (use rate(N unit))")
    return int(found.group(1)) * _UNIT_SECONDS[found.group(2).rstrip("s")]


def lambda_message_attributes(attributes: dict[str, Any]) -> dict[str, Any]:
    """SQS message attributes as Lambda's event shape spells them (``stringValue``, ``dataType``)."""
    return {
        name: {
            "stringValue": value.get("StringValue"),
            "binaryValue": value.get("BinaryValue"),
            "stringListValues": [],
            "binaryListValues": [],
            "dataType": value.get("DataType", "String"),
        }
        for name, value in attributes.items()
    }


def sqs_event(messages: list[dict[str, Any]], queue_arn: str, region: str) -> dict[str, Any]:
    """Lambda's SQS event shape, as the event source mapping delivers it."""
    return {
        "Records": [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": m.get("Attributes", {}),
                "messageAttributes": lambda_message_attributes(m.get("MessageAttributes", {})),
                "md5OfBody": m.get("MD5OfBody") or hashlib.md5(m["Body"].encode()).hexdigest(),  # noqa: S324
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": region,
            }
            for m in messages
        ]
    }


class EventRouter:
    def __init__(
        self,
        registry: FunctionRegistry,
        queues: list[RuleQueue],
        endpoint_url: str,
        region: str,
        schedules: tuple[ScheduleDecl, ...] = SCHEDULES,
        triggers: tuple[MachineTrigger, ...] | list[MachineTrigger] = (),
    ):
        self.registry = registry
        self.queues = queues
        self.triggers = tuple(triggers)
        self.states = boto3.client("stepfunctions", region_name=region, endpoint_url=endpoint_url)
        self.region = region
        self.schedules = schedules
        from botocore.config import Config

        # One connection per concurrent long-poll (botocore's default pool holds 10).
        pool = POLLERS_PER_QUEUE * len(queues) + len(tuple(triggers)) + 10
        self.sqs = boto3.client(
            "sqs", region_name=region, endpoint_url=endpoint_url, config=Config(max_pool_connections=pool)
        )
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        for queue in self.queues:
            for poller in range(POLLERS_PER_QUEUE):
                self._spawn(f"poll-{queue.rule.name}-{poller}", self._poll, queue)
        for schedule in self.schedules:
            self._spawn(f"schedule-{schedule.name}", self._tick, schedule)
        for trigger in self.triggers:
            self._spawn(f"start-{trigger.machine.name}", self._poll_trigger, trigger)

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=5)

    def _spawn(self, name: str, target: Any, arg: Any) -> None:
        thread = threading.Thread(target=target, args=(arg,), name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    def deliver_once(self, queue: RuleQueue, wait_seconds: int = 0) -> int:
        """Receive one batch and hand it to the worker; returns how many messages were received."""
        received = self.sqs.receive_message(
            QueueUrl=queue.queue_url,
            MaxNumberOfMessages=10,
            WaitTimeSeconds=wait_seconds,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        if not received:
            return 0
        try:
            result = self.registry.invoke(queue.rule.target, sqs_event(received, queue.queue_arn, self.region))
            failed = {f["itemIdentifier"] for f in (result or {}).get("batchItemFailures", [])}
        except Exception:  # noqa: BLE001 - the whole batch failed: SQS redelivers it, then the DLQ takes it
            logger.exception("worker failed", extra={"function": queue.rule.target})
            failed = {m["MessageId"] for m in received}
        done = [m for m in received if m["MessageId"] not in failed]
        for start in range(0, len(done), 10):
            entries = [
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done[start : start + 10])
            ]
            self.sqs.delete_message_batch(QueueUrl=queue.queue_url, Entries=entries)
        return len(received)

    def _poll(self, queue: RuleQueue) -> None:
        while not self._stop.is_set():
            try:
                if self.deliver_once(queue, wait_seconds=1) == 0:
                    self._stop.wait(0.05)
            except Exception:  # noqa: BLE001 - keep polling through a transient failure
                logger.exception("event delivery failed", extra={"rule": queue.rule.name})
                self._stop.wait(1)

    def _tick(self, schedule: ScheduleDecl) -> None:
        interval = rate_seconds(schedule.expression)
        while not self._stop.wait(interval):
            try:
                self.registry.invoke(
                    schedule.target,
                    {
                        "source": "aws.events",
                        "detail-type": "Scheduled Event",
                        "detail": {},
                        "resources": [schedule.name],
                    },
                )
            except Exception:  # noqa: BLE001
                logger.exception("scheduled job failed", extra={"schedule": schedule.name})

    # --- state machines started by S3 objects ----------------------------------------------

    def start_executions_once(self, trigger: MachineTrigger, wait_seconds: int = 0) -> list[str]:
        """Start the machine for each matching Object Created event queued; returns execution ARNs.

        As EventBridge does in the cloud, the S3 event is the execution's input. A message is
        deleted only once its execution started (a failed start is redelivered, then dead-lettered).
        """
        received = self.sqs.receive_message(
            QueueUrl=trigger.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=wait_seconds
        ).get("Messages", [])
        started = []
        for message in received:
            event = json.loads(message["Body"])
            key = str(event.get("detail", {}).get("object", {}).get("key", ""))
            if trigger.machine.trigger is not None and trigger.machine.trigger.matches(key):
                # moto names an unnamed execution "None"; AWS would generate a name: so do we.
                name = f"{re.sub(r'[^A-Za-z0-9_-]', '-', key)[-40:]}-{uuid.uuid4().hex[:16]}"
                arn = self.states.start_execution(
                    stateMachineArn=trigger.state_machine_arn, name=name, input=json.dumps(event)
                )["executionArn"]
                started.append(str(arn))
                logger.info("state machine started", extra={"machine": trigger.machine.name, "key": key})
            self.sqs.delete_message(QueueUrl=trigger.queue_url, ReceiptHandle=message["ReceiptHandle"])
        return started

    def _poll_trigger(self, trigger: MachineTrigger) -> None:
        while not self._stop.is_set():
            try:
                if not self.start_executions_once(trigger, wait_seconds=1):
                    self._stop.wait(0.05)
            except Exception:  # noqa: BLE001 - keep polling through a transient failure
                logger.exception("state machine start failed", extra={"machine": trigger.machine.name})
                self._stop.wait(1)
