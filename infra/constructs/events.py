"""The platform event bus and everything routed from it: rules, queues, DLQs, schedules and alarms.

Rules come from ``infra.catalog.EVENT_RULES`` (bus -> rule -> SQS -> worker) and schedules from
``SCHEDULES`` (schedule -> job); every asynchronous hop ends in a dead-letter queue with an alarm.
"""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import Duration, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_destinations as destinations
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.catalog import EVENT_RULES, SCHEDULES, EventRuleDecl, FunctionKind, ScheduleDecl, function
from infra.constructs import acknowledge_nag, pascal_case
from infra.constructs.queues import dlq_with_alarm, worker_queue

ARCHIVE_RETENTION = Duration.days(30)
# EventBridge and Lambda async retries before a message lands in the DLQ.
DELIVERY_RETRY_ATTEMPTS = 2


class PlatformEventBus(Construct):
    """The custom bus every domain event is put on, archived for replay."""

    def __init__(self, scope: Construct, construct_id: str, *, bus_name: str) -> None:
        super().__init__(scope, construct_id)
        self.bus = events.EventBus(self, "Bus", event_bus_name=bus_name)
        self.archive = self.bus.archive(
            "Archive",
            description="Every event on the platform bus, kept for replay",
            # An archive needs a pattern; the account matches every event put on this bus.
            event_pattern=events.EventPattern(account=[Stack.of(self).account]),
            retention=ARCHIVE_RETENTION,
        )


class EventRouting(Construct):
    """Queues, rules and schedules from the catalog; ``dead_letter_queues`` and ``alarms`` by decl name."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        bus: events.IEventBus,
        functions: Mapping[str, lambda_.IFunction],
    ) -> None:
        super().__init__(scope, construct_id)
        self._bus = bus
        self._functions = functions
        self.queues: dict[str, sqs.Queue] = {}
        self.dead_letter_queues: dict[str, sqs.Queue] = {}
        self.alarms: dict[str, cloudwatch.Alarm] = {}
        for rule in EVENT_RULES:
            self._route(rule)
        for schedule in SCHEDULES:
            self._schedule(schedule)

    def _target(self, name: str, kind: FunctionKind) -> lambda_.IFunction:
        decl = function(name)
        if decl.kind != kind:
            raise ValueError(f"{name!r} is a {decl.kind} function; only a {kind} function can be targeted here")
        return self._functions[name]

    def _route(self, decl: EventRuleDecl) -> None:
        worker = self._target(decl.target, "worker")
        construct_id = pascal_case(decl.name)
        routed = worker_queue(
            self,
            construct_id,
            worker=worker,
            worker_timeout_seconds=function(decl.target).timeout,
            max_receive_count=decl.max_receive_count,
            alarm_description=f"Dead-letter queue holds events for rule {decl.name} that {decl.target} "
            "could not process",
        )
        queue, dlq = routed.queue, routed.dlq
        self.alarms[decl.name] = routed.alarm
        self.dead_letter_queues[decl.name] = dlq
        pattern = decl.pattern()
        events.Rule(
            self,
            f"{construct_id}Rule",
            event_bus=self._bus,
            description=decl.description or f"{', '.join(pattern['detail-type'])} -> {decl.target}",
            event_pattern=events.EventPattern(source=pattern["source"], detail_type=pattern["detail-type"]),
            # Events EventBridge cannot deliver go to the same DLQ; they have the same body as the
            # delivered ones, so one redrive serves both.
            targets=[targets.SqsQueue(queue, dead_letter_queue=dlq, retry_attempts=DELIVERY_RETRY_ATTEMPTS)],
        )
        self.queues[decl.name] = queue

    def _schedule(self, decl: ScheduleDecl) -> None:
        job = self._target(decl.target, "job")
        construct_id = pascal_case(decl.name)
        name = f"{decl.name}-schedule"
        dlq, self.alarms[name] = dlq_with_alarm(
            self,
            pascal_case(name),
            alarm_description=f"Dead-letter queue holds scheduled invocations of {decl.target} "
            "that failed after retries",
        )
        self.dead_letter_queues[name] = dlq
        acknowledge_nag(
            dlq,
            {
                "SQS3": "This queue is a dead-letter queue (the schedule target's DLQ and the job's on-failure "
                "destination); cdk-nag only recognises DLQs named in another queue's redrive policy.",
            },
        )
        events.Rule(
            self,
            f"{construct_id}Schedule",
            description=f"{decl.expression} -> {decl.target}",
            schedule=events.Schedule.expression(decl.expression),
            targets=[targets.LambdaFunction(job, dead_letter_queue=dlq, retry_attempts=DELIVERY_RETRY_ATTEMPTS)],
        )
        # The rule's DLQ only catches failed deliveries; a run that raises is an async invocation
        # failure, kept by the function's own on-failure destination.
        job.configure_async_invoke(on_failure=destinations.SqsDestination(dlq), retry_attempts=DELIVERY_RETRY_ATTEMPTS)
