"""State machines from ``infra.catalog.STATE_MACHINES``, built from the same ASL files the local
runtime runs, and the EventBridge rules that start them (the recording pipeline: an object created
in the recordings bucket whose key is a recording's manifest, ``recordings.enums.manifest_key``)."""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from infra.catalog import STATE_MACHINES, StateMachineDecl
from infra.constructs import acknowledge_nag, pascal_case
from infra.constructs.queues import dlq_with_alarm

START_RETRY_ATTEMPTS = 4


class PipelineStateMachines(Construct):
    """``state_machines[name]`` for every declared machine; ``bucket`` is the recordings bucket."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        functions: Mapping[str, lambda_.Function],
        removal_policy: RemovalPolicy,
        bucket: s3.IBucket,
    ) -> None:
        super().__init__(scope, construct_id)
        self._removal_policy = removal_policy
        # The recordings bucket (infra/constructs/storage.py), whose EventBridge notifications start runs.
        self.bucket = bucket
        self.state_machines: dict[str, sfn.StateMachine] = {}
        self.start_dead_letter_queues: dict[str, sqs.Queue] = {}
        self.alarms: dict[str, cloudwatch.Alarm] = {}
        for decl in STATE_MACHINES:
            self._machine(decl, functions)

    def _machine(self, decl: StateMachineDecl, functions: Mapping[str, lambda_.Function]) -> None:
        construct_id = pascal_case(decl.name)
        used = {placeholder: functions[name] for placeholder, name in decl.functions.items()}
        log_group = logs.LogGroup(
            self,
            f"{construct_id}Logs",
            retention=logs.RetentionDays.ONE_MONTH,
            removal_policy=self._removal_policy,
        )
        machine = sfn.StateMachine(
            self,
            construct_id,
            definition_body=sfn.DefinitionBody.from_string(decl.template()),
            definition_substitutions={placeholder: fn.function_arn for placeholder, fn in used.items()},
            logs=sfn.LogOptions(destination=log_group, level=sfn.LogLevel.ALL, include_execution_data=True),
            tracing_enabled=True,
        )
        for fn in used.values():
            fn.grant_invoke(machine)
        acknowledge_nag(
            machine,
            {
                "IAM5[Resource::*]": "CloudWatch Logs delivery and X-Ray actions of the state machine's role have no "
                "resource-level permissions (AWS documents Resource '*').",
                **{
                    f"IAM5[Resource::<{Stack.of(self).get_logical_id(fn.node.default_child)}.Arn>:*]": "Invoking the "  # type: ignore[arg-type]
                    "task function's versions and aliases (CDK's grant_invoke); only that one function."
                    for fn in used.values()
                },
            },
        )
        self.state_machines[decl.name] = machine
        self.alarms[f"{decl.name}-failed"] = cloudwatch.Alarm(
            self,
            f"{construct_id}Failed",
            alarm_description=f"Executions of {decl.name} failed (the job is marked failed; see the execution)",
            metric=machine.metric_failed(period=Duration.minutes(5), statistic=cloudwatch.Stats.SUM),
            threshold=0,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            evaluation_periods=1,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        if decl.trigger is not None:
            self._trigger(decl, machine, construct_id)

    def _trigger(self, decl: StateMachineDecl, machine: sfn.StateMachine, construct_id: str) -> None:
        assert decl.trigger is not None
        dlq, self.alarms[f"{decl.name}-start"] = dlq_with_alarm(
            self, f"{construct_id}Start", alarm_description=f"Object Created events that could not start {decl.name}"
        )
        acknowledge_nag(dlq, {"SQS3": "This queue is the dead-letter queue of the rule that starts the state machine."})
        pattern = decl.trigger.pattern(self.bucket.bucket_name)
        events.Rule(
            self,
            f"{construct_id}Start",
            description=f"S3 Object Created {decl.trigger.prefix}*{decl.trigger.suffix} -> {decl.name}",
            event_pattern=events.EventPattern(
                source=list(pattern["source"]),  # type: ignore[call-overload]
                detail_type=list(pattern["detail-type"]),  # type: ignore[call-overload]
                detail=dict(pattern["detail"]),  # type: ignore[call-overload]
            ),
            targets=[targets.SfnStateMachine(machine, dead_letter_queue=dlq, retry_attempts=START_RETRY_ATTEMPTS)],
        )
        self.start_dead_letter_queues[decl.name] = dlq
