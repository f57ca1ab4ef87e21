"""The two shapes of queue the platform builds: a dead-letter queue with its depth alarm, and a worker
queue (visibility from the worker's timeout, a DLQ after ``max_receive_count``, drained by the worker
with partial batch responses). Used by the event routing, notification delivery and pipeline constructs.
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as event_sources
from aws_cdk import aws_sqs as sqs
from constructs import Construct

DLQ_RETENTION = Duration.days(14)
# AWS's guidance for SQS-triggered functions: visibility at least six times the function timeout,
# so a message is not redelivered while a retried batch is still in flight.
VISIBILITY_TIMEOUT_FACTOR = 6
WORKER_BATCH_SIZE = 10


@dataclass(frozen=True)
class WorkerQueue:
    queue: sqs.Queue
    dlq: sqs.Queue
    alarm: cloudwatch.Alarm


def dlq_with_alarm(
    scope: Construct, construct_id: str, *, alarm_description: str
) -> tuple[sqs.Queue, cloudwatch.Alarm]:
    """``<construct_id>Dlq`` and ``<construct_id>DlqDepth``, an alarm as soon as one message is in it."""
    dlq = sqs.Queue(
        scope,
        f"{construct_id}Dlq",
        encryption=sqs.QueueEncryption.SQS_MANAGED,
        enforce_ssl=True,
        retention_period=DLQ_RETENTION,
    )
    alarm = cloudwatch.Alarm(
        scope,
        f"{construct_id}DlqDepth",
        alarm_description=alarm_description,
        metric=dlq.metric_approximate_number_of_messages_visible(
            period=Duration.minutes(1), statistic=cloudwatch.Stats.MAXIMUM
        ),
        threshold=0,
        comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluation_periods=1,
        treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
    )
    return dlq, alarm


def worker_queue(
    scope: Construct,
    construct_id: str,
    *,
    worker: lambda_.IFunction,
    worker_timeout_seconds: int,
    max_receive_count: int,
    alarm_description: str,
) -> WorkerQueue:
    """``<construct_id>Queue`` with its DLQ and alarm, as the event source of ``worker``."""
    dlq, alarm = dlq_with_alarm(scope, construct_id, alarm_description=alarm_description)
    queue = sqs.Queue(
        scope,
        f"{construct_id}Queue",
        encryption=sqs.QueueEncryption.SQS_MANAGED,
        enforce_ssl=True,
        visibility_timeout=Duration.seconds(worker_timeout_seconds * VISIBILITY_TIMEOUT_FACTOR),
        dead_letter_queue=sqs.DeadLetterQueue(queue=dlq, max_receive_count=max_receive_count),
    )
    # Partial batch responses: one bad message is retried alone instead of its whole batch.
    worker.add_event_source(
        event_sources.SqsEventSource(queue, batch_size=WORKER_BATCH_SIZE, report_batch_item_failures=True)
    )
    return WorkerQueue(queue, dlq, alarm)
