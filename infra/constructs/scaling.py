"""Scaling (spec 2.4 in serverless form): its configuration, and scaling events made visible.

- ``ScalingConfig``: provisioned concurrency bounds and target (CDK context, defaults 2-10 at 0.7
  utilisation) and the account's concurrency quota the reservations are checked against.
- ``ScalingActivityLog``: Application Auto Scaling's events (``aws.application-autoscaling``: a
  scalable target scaled to its maximum) and the scaling actions themselves (CloudTrail's record of
  ``PutProvisionedConcurrencyConfig`` and the scalable-target and policy calls) land in one
  CloudWatch log group through EventBridge rules, so that every scale-out and scale-in is visible
  ("pod scaling events logged"). The rule on scaled-to-max events is also alarmed (observability).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

import jsii
from aws_cdk import ArnFormat, Duration, RemovalPolicy, Stack
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from constructs import Construct, Node

from infra.catalog import DEFAULT_ACCOUNT_CONCURRENCY

SCALE_OUT_COOLDOWN = Duration.minutes(1)
SCALE_IN_COOLDOWN = Duration.minutes(5)
SCALING_EVENT_SOURCE = "aws.application-autoscaling"
SCALED_TO_MAX = "Application Auto Scaling Scaling Activity State Change"
# The API calls that change capacity or scaling set-up, as CloudTrail records them (management events).
SCALING_API_CALLS = {
    "application-autoscaling.amazonaws.com": (
        "RegisterScalableTarget",
        "DeregisterScalableTarget",
        "PutScalingPolicy",
        "DeleteScalingPolicy",
    ),
    "lambda.amazonaws.com": ("PutProvisionedConcurrencyConfig", "DeleteProvisionedConcurrencyConfig"),
}


@dataclass(frozen=True)
class ScalingConfig:
    """Each field is the CDK context key of the same name."""

    provisioned_concurrency_min: int = 2
    provisioned_concurrency_max: int = 10
    # Target tracking on LambdaProvisionedConcurrencyUtilization (the spec's "CPU > 70 %").
    provisioned_concurrency_utilization: float = 0.7
    # The account's Lambda concurrency quota (Service Quotas), as in ObservabilityConfig.
    lambda_concurrency_limit: int = DEFAULT_ACCOUNT_CONCURRENCY

    @classmethod
    def from_context(cls, node: Node) -> ScalingConfig:
        values: dict[str, Any] = {}
        for field in fields(cls):
            value = node.try_get_context(field.name)
            if value is not None and value != "":
                values[field.name] = type(getattr(cls, field.name))(value)
        return cls(**values)

    def __post_init__(self) -> None:
        if not 1 <= self.provisioned_concurrency_min <= self.provisioned_concurrency_max:
            raise ValueError(
                "context provisioned_concurrency_min and provisioned_concurrency_max must satisfy 1 <= min <= max"
            )
        if not 0 < self.provisioned_concurrency_utilization < 1:
            raise ValueError("context provisioned_concurrency_utilization must be between 0 and 1 (e.g. 0.7)")
        if self.lambda_concurrency_limit <= 0:
            raise ValueError("context lambda_concurrency_limit must be positive")


@jsii.implements(events.IRuleTarget)
class _LogGroupTarget:
    """A log group as a rule target without CDK's custom resource for the log group's resource policy
    (``targets.CloudWatchLogGroup`` adds a Lambda-backed one); the policy is one plain resource here."""

    def __init__(self, log_group: logs.ILogGroup) -> None:
        self._log_group = log_group

    def bind(self, rule: events.IRule, id: str | None = None) -> events.RuleTargetConfig:
        arn = Stack.of(self._log_group).format_arn(
            service="logs",
            resource="log-group",
            resource_name=self._log_group.log_group_name,
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )
        return events.RuleTargetConfig(arn=arn)


class ScalingActivityLog(Construct):
    """``log_group`` receiving every scaling event; ``scaled_to_max`` and ``api_calls`` rules."""

    def __init__(self, scope: Construct, construct_id: str, *, removal_policy: RemovalPolicy) -> None:
        super().__init__(scope, construct_id)
        # EventBridge writes only to log groups named /aws/events/...
        self.log_group = logs.LogGroup(
            self,
            "Logs",
            log_group_name=f"/aws/events/{Stack.of(self).stack_name}-scaling",
            retention=logs.RetentionDays.THREE_MONTHS,
            removal_policy=removal_policy,
        )
        target = _LogGroupTarget(self.log_group)
        self.scaled_to_max = events.Rule(
            self,
            "ScaledToMax",
            description="Application Auto Scaling: a scalable target reached its maximum capacity",
            event_pattern=events.EventPattern(source=[SCALING_EVENT_SOURCE], detail_type=[SCALED_TO_MAX]),
            targets=[target],
        )
        self.api_calls = events.Rule(
            self,
            "ScalingActions",
            description="Scaling actions: provisioned concurrency set by Application Auto Scaling, scaling "
            "targets and policies changed (CloudTrail management events)",
            event_pattern=events.EventPattern(
                source=[SCALING_EVENT_SOURCE, "aws.lambda"],
                detail_type=["AWS API Call via CloudTrail"],
                detail={
                    "eventSource": list(SCALING_API_CALLS),
                    "eventName": [name for names in SCALING_API_CALLS.values() for name in names],
                },
            ),
            targets=[target],
        )
        self.policy = logs.ResourcePolicy(
            self,
            "EventsMayWrite",
            resource_policy_name=f"{Stack.of(self).stack_name}-scaling-events",
            policy_statements=[
                iam.PolicyStatement(
                    principals=[iam.ServicePrincipal("events.amazonaws.com")],
                    actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                    resources=[self.log_group.log_group_arn],
                )
            ],
        )
