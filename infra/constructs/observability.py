"""Dashboards, alarms and saved log queries for the whole platform (spec 4.3), and where alarms go.

``PlatformObservability`` is built last in the stack and watches what exists in it by kind, so a
function, table, queue, state machine, rule or API added later is monitored without a change here:

- Four CloudWatch dashboards (one ``cdk-monitoring-constructs`` ``MonitoringFacade`` each):
  ``<prefix>-overview`` (API, functions, state machines, rules, WebSocket, health),
  ``<prefix>-data`` (DynamoDB tables, queues and their DLQs, buckets, search domain),
  ``<prefix>-livekit`` (the LiveKit webhook receiver, recording control and pipeline metrics),
  ``<prefix>-business`` (the business metrics the functions emit, ``BUSINESS_METRICS``).
- Alarms: error rate > 5 %, API p95 latency > 1 s, throttles (functions, tables, and the REST and
  WebSocket stages' 429 rate), DLQ depth (the queues' own alarms), failed/timed-out state-machine
  executions, concurrency near its limit (the account's, its unreserved pool, each function's
  reservation), provisioned concurrency spilling over and scaling stuck at its maximum, health down
  (the Synthetics canary), storage over the quota, rule invocations that failed.
- Every alarm in the stack notifies the one ops topic (SNS, customer-managed KMS key CloudWatch may
  use), which fans out to e-mail and Slack (AWS Chatbot) when their context is set.
- Logs Insights saved queries: errors by route, slowest requests, one request's path.

Other constructs with alarms of their own hand them to ``notify_ops`` (idempotent).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, fields
from typing import Any, TypeVar

import cdk_monitoring_constructs as monitoring
from aws_cdk import CfnResource, Duration, NestedStack, Stack
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_chatbot as chatbot
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_opensearchservice as opensearch
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_synthetics as synthetics
from constructs import Construct, IConstruct, Node

from infra.catalog import FUNCTIONS, api_functions, check_concurrency_headroom
from infra.constructs import pascal_case
from infra.constructs.scaling import ScalingActivityLog

METRICS_NAMESPACE = "AgentsMeetings"  # POWERTOOLS_METRICS_NAMESPACE (infra/constructs/functions.py)
HEALTH_FUNCTION = "health"
WEBHOOK_FUNCTION = "webhooks"

MAX_ERROR_RATE = 0.05  # cdk-monitoring-constructs rates are fractions: 5 %
# More than this share of a stage's requests answered 429 (stage/route throttles, WAF, the limiter).
MAX_THROTTLED_RATE = 0.05
HEALTH_PERIOD = Duration.minutes(1)  # one canary run per minute
HEALTH_FAILED_RUNS = 3  # consecutive failed (or missing) runs before health-down
MAX_P95_LATENCY = Duration.seconds(1)
CONCURRENCY_ALARM_FRACTION = 0.8
QUEUE_MAX_AGE = Duration.minutes(15)
SEARCH_DISK_MAX_PERCENT = 80
PERIOD = Duration.minutes(5)
GIB = 1024**3

# Metrics the platform emits (Powertools EMF, namespace AgentsMeetings, dimension ``service``); each
# name is checked against the code's ``add_metric`` calls by tests/infra/test_observability.py.
BUSINESS_METRICS = (
    ("Meetings created and completed", ("MeetingsCreated", "MeetingsCompleted")),
    ("Meeting duration (seconds)", ("MeetingDuration",)),
    ("Recordings and transcriptions", ("RecordingsCompleted", "TranscriptionsCompleted")),
    ("Recording and transcription minutes", ("RecordingMinutes", "TranscriptionMinutes")),
    ("Sign-ins by method", ("SignIns",)),
    ("Two-factor use by method", ("TwoFactorUsed",)),
    ("Search queries by entity type", ("SearchQueries",)),
    ("Notifications delivered by channel", ("NotificationsDelivered",)),
    ("Notifications", ("NotificationCreated", "NotificationsFromEvents", "NotificationCapped")),
    ("Notification e-mail", ("NotificationEmailSent", "NotificationEmailFailed", "PasswordResetEmailFailed")),
    ("Reminders", ("MeetingRemindersSent", "HeldNotificationsReleased")),
    ("Real-time clients", ("WebSocketConnected", "WebSocketGoneRemoved")),
    ("Recordings", ("RecordingTracksReconciled", "RecordingsDeletedByRetention")),
    ("Abuse protection", ("RateLimited",)),
)
# The dimensions (besides ``service``) a metric is emitted with (``emit_dimensioned``): its graph
# searches that schema and draws one line per value (per channel, method, ...).
METRIC_DIMENSIONS: dict[str, tuple[str, ...]] = {
    "MeetingsCreated": ("meeting_type",),
    "MeetingsCompleted": ("meeting_type",),
    "MeetingDuration": ("meeting_type",),
    "RecordingsCompleted": ("output_format",),
    "RecordingMinutes": ("output_format",),
    "TranscriptionsCompleted": ("provider",),
    "TranscriptionMinutes": ("provider",),
    "SignIns": ("method",),
    "TwoFactorUsed": ("method",),
    "SearchQueries": ("entity_type",),
    "NotificationsDelivered": ("channel",),
}
# The LiveKit webhooks the receiver counts (agents_meetings.recordings.webhooks.LIVEKIT_EVENT_METRICS).
LIVEKIT_METRICS = (
    ("Rooms", ("LiveKitRoomsStarted", "LiveKitRoomsFinished")),
    ("Participants", ("LiveKitParticipantsJoined", "LiveKitParticipantsLeft")),
    ("Tracks", ("LiveKitTracksPublished", "LiveKitTracksUnpublished")),
)
PLATFORM_METRICS = (
    ("API requests and server errors", ("ApiRequests", "ApiServerErrors", "ServerErrors")),
    ("Storage and events", ("StorageThrottled", "EventPublishFailed", "OutboxRedriven", "OutboxStillFailing")),
    ("Rate limiter", ("RateLimitStoreErrors", "RateLimitConfigErrors")),
)
LIVEKIT_FUNCTIONS = ("webhooks", "recordings", "auto-record-worker", "recordings-reconcile", "recording-pipeline")

# Powertools Logger's JSON keys (agents_meetings.observability.logger) and the REST access log's.
QUERY_LOG_FIELDS = ("@timestamp", "service", "level", "message", "correlation_id", "function_request_id")
CORRELATION_ID_PLACEHOLDER = "PUT-THE-CORRELATION-ID-HERE"


@dataclass(frozen=True)
class ObservabilityConfig:
    """Alarm routing and thresholds; each field is the CDK context key of the same name. Empty: off."""

    alarm_email: str = ""
    slack_workspace_id: str = ""
    slack_channel_id: str = ""
    # Alarm when a bucket holds more than this (all storage classes), in GiB.
    storage_quota_gb: float = 1024.0
    # The account's Lambda concurrency quota (Service Quotas); the alarm fires at 80 % of it.
    lambda_concurrency_limit: int = 1000

    @classmethod
    def from_context(cls, node: Node) -> ObservabilityConfig:
        values: dict[str, Any] = {}
        for field in fields(cls):
            value = node.try_get_context(field.name)
            if value is not None and value != "":
                kind = type(getattr(cls, field.name))
                values[field.name] = kind(value)
        return cls(**values)

    def __post_init__(self) -> None:
        if bool(self.slack_workspace_id) != bool(self.slack_channel_id):
            raise ValueError("context slack_workspace_id and slack_channel_id must be set together")
        if self.storage_quota_gb <= 0 or self.lambda_concurrency_limit <= 0:
            raise ValueError("context storage_quota_gb and lambda_concurrency_limit must be positive")


T = TypeVar("T")


class _Inventory:
    """The watched tree, listed once (each ``find_all`` is a round trip through jsii)."""

    def __init__(self, root: IConstruct) -> None:
        self.nodes = root.node.find_all()

    def of_type(self, kind: type[T]) -> list[T]:
        return [node for node in self.nodes if isinstance(node, kind)]


class PlatformObservability(Construct):
    """``topic`` (ops alarms), ``dashboards`` by name, ``queries`` by name, ``alarms`` it created."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        watched: Construct,
        config: ObservabilityConfig,
        name_prefix: str,
    ) -> None:
        super().__init__(scope, construct_id)
        self._watched = watched
        self._inventory = _Inventory(watched)
        # Names come from construct paths without the nested stacks a construct was put in
        # (infra/stacks.py), so that an alarm keeps its name wherever its resource is deployed.
        self._nested_paths = {stack.node.path for stack in self._inventory.of_type(NestedStack)}
        self._config = config
        self._prefix = name_prefix
        self._notified: set[str] = set()
        self.topic = self._ops_topic()
        self._subscribe(config)
        self._action = monitoring.SnsAlarmActionStrategy(on_alarm_topic=self.topic, on_ok_topic=self.topic)
        # The alarms and dashboards (a few hundred resources) would take the platform stack past
        # CloudFormation's 500-resource limit: they live in a nested stack, which counts as one.
        self.monitoring = NestedStack(self, "Monitoring", description="Agents-Meetings dashboards and alarms")
        self.facades = {name: self._facade(name) for name in ("overview", "data", "livekit", "business")}
        self._functions = self._all_functions()
        self._overview()
        self._data()
        self._livekit()
        self._business()
        self.queries = self._queries()
        # Alarms the other constructs made (DLQ depth, failed executions) notify the same topic.
        for alarm in self._inventory.of_type(cloudwatch.Alarm):
            self.notify_ops(alarm)

    # --- where alarms go ------------------------------------------------------------------------

    def _ops_topic(self) -> sns.Topic:
        key = kms.Key(
            self,
            "OpsTopicKey",
            description="Encrypts the ops alarm topic; CloudWatch may use it to publish alarms",
            enable_key_rotation=True,
        )
        # With the AWS-managed SNS key CloudWatch cannot publish (its key policy cannot be changed).
        key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="CloudWatchAlarmsPublish",
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                resources=["*"],
                conditions={"StringEquals": {"aws:SourceAccount": Stack.of(self).account}},
            )
        )
        topic = sns.Topic(self, "OpsTopic", display_name=f"{self._prefix} alarms", master_key=key, enforce_ssl=True)
        topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="CloudWatchAlarmsPublish",
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["sns:Publish"],
                resources=[topic.topic_arn],
                conditions={"StringEquals": {"aws:SourceAccount": Stack.of(self).account}},
            )
        )
        self.key = key
        return topic

    def _subscribe(self, config: ObservabilityConfig) -> None:
        if config.alarm_email:
            self.topic.add_subscription(subscriptions.EmailSubscription(config.alarm_email))
        self.slack: chatbot.SlackChannelConfiguration | None = None
        if config.slack_workspace_id and config.slack_channel_id:
            # The workspace must have been authorised once in the AWS Chatbot console.
            self.slack = chatbot.SlackChannelConfiguration(
                self,
                "Slack",
                slack_channel_configuration_name=f"{self._prefix}-alarms",
                slack_workspace_id=config.slack_workspace_id,
                slack_channel_id=config.slack_channel_id,
                notification_topics=[self.topic],
                # Alarm notifications only: the channel's users may read CloudWatch, nothing else.
                guardrail_policies=[iam.ManagedPolicy.from_aws_managed_policy_name("CloudWatchReadOnlyAccess")],
            )

    def notify_ops(self, alarm: cloudwatch.AlarmBase) -> cloudwatch.AlarmBase:
        """Send ``alarm``'s ALARM and OK transitions to the ops topic (e.g. backup job failures)."""
        path = alarm.node.path
        if path not in self._notified:
            self._notified.add(path)
            action = cw_actions.SnsAction(self.topic)
            alarm.add_alarm_action(action)
            alarm.add_ok_action(action)
        return alarm

    # --- dashboards -----------------------------------------------------------------------------

    def _facade(self, name: str) -> monitoring.MonitoringFacade:
        return monitoring.MonitoringFacade(
            self.monitoring,
            pascal_case(name),
            alarm_factory_defaults=monitoring.AlarmFactoryDefaults(
                actions_enabled=True,
                alarm_name_prefix=self._prefix,
                action=self._action,
                datapoints_to_alarm=3,
                evaluation_periods=3,
            ),
            metric_factory_defaults=monitoring.MetricFactoryDefaults(namespace=METRICS_NAMESPACE),
            dashboard_factory=monitoring.DefaultDashboardFactory(
                self.monitoring,
                f"{pascal_case(name)}Dashboards",
                dashboard_name_prefix=f"{self._prefix}-{name}",
                create_dashboard=True,
                create_summary_dashboard=False,
                create_alarm_dashboard=False,
            ),
        )

    def _all_functions(self) -> dict[str, lambda_.IFunction]:
        """Every ``AWS::Lambda::Function`` in the stack (CDK's own custom-resource handlers too)."""
        found: dict[str, lambda_.IFunction] = {}
        stack = Stack.of(self)
        for resource in self._inventory.of_type(CfnResource):
            if resource.cfn_resource_type != "AWS::Lambda::Function":
                continue
            owner = resource.node.scope
            if isinstance(owner, lambda_.Function):
                found[owner.node.path] = owner
            else:
                logical_id = stack.get_logical_id(resource)
                found[resource.node.path] = lambda_.Function.from_function_attributes(
                    self.monitoring,
                    f"Imported{logical_id}",
                    function_arn=resource.get_att("Arn").to_string(),
                    same_environment=True,
                )
        return found

    def _friendly(self, construct: IConstruct) -> str:
        return self._friendly_path(construct.node.path)

    def _overview(self) -> None:
        facade = self.facades["overview"]
        facade.add_large_header("Agents-Meetings: system overview")
        alarms: list[cloudwatch.IAlarm] = []
        for api in self._inventory.of_type(apigateway.RestApi):
            stage = api.deployment_stage.stage_name
            facade.monitor_api_gateway(
                api=api,
                api_stage=stage,
                alarm_friendly_name=f"rest-{self._friendly(api)}",
                add5_xx_fault_rate_alarm={"ErrorRate": monitoring.ErrorRateThreshold(max_error_rate=MAX_ERROR_RATE)},
                add_latency_p95_alarm={"P95": monitoring.LatencyThreshold(max_latency=MAX_P95_LATENCY)},
            )
        for websocket in self._inventory.of_type(apigwv2.WebSocketApi):
            self._websocket(facade, websocket)
        health = self._health(facade)
        if health is not None:
            alarms.append(health)
        alarms.append(self._concurrency(facade))
        alarms.extend(self._scaling(facade))
        self._throttled(facade)
        api_names = {decl.name for decl in api_functions()}
        for path, fn in sorted(self._functions.items()):
            facade.monitor_lambda_function(
                lambda_function=fn,
                alarm_friendly_name=self._friendly_path(path),
                human_readable_name=self._friendly_path(path),
                add_fault_rate_alarm={"ErrorRate": monitoring.ErrorRateThreshold(max_error_rate=MAX_ERROR_RATE)},
                add_throttles_count_alarm={
                    "Throttles": monitoring.ErrorCountThreshold(max_error_count=0, datapoints_to_alarm=1)
                },
                add_to_summary_dashboard=fn.node.id in api_names,
            )
        for machine in self._inventory.of_type(sfn.StateMachine):
            facade.monitor_step_function(
                state_machine=machine,
                alarm_friendly_name=self._friendly(machine),
                # Failed executions have their alarm beside the machine (infra/constructs/pipeline.py).
                add_timed_out_execution_count_alarm={
                    "TimedOut": monitoring.ErrorCountThreshold(max_error_count=0, datapoints_to_alarm=1)
                },
                add_aborted_execution_count_alarm={
                    "Aborted": monitoring.ErrorCountThreshold(max_error_count=0, datapoints_to_alarm=1)
                },
            )
        self._rules(facade)
        facade.add_widget(cloudwatch.AlarmStatusWidget(title="System health", alarms=alarms, width=24, height=3))

    def _friendly_path(self, path: str) -> str:
        components = path.split("/")
        parts = [
            part
            for i, part in enumerate(components)
            if i > 0 and part not in ("Resource", "Default") and "/".join(components[: i + 1]) not in self._nested_paths
        ]
        return "-".join(parts)

    def _custom_alarm(
        self,
        facade: monitoring.MonitoringFacade,
        *,
        title: str,
        name: str,
        metric: cloudwatch.IMetric,
        threshold: float,
        description: str,
        datapoints: int = 1,
        comparison: cloudwatch.ComparisonOperator = cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        missing: cloudwatch.TreatMissingData = cloudwatch.TreatMissingData.NOT_BREACHING,
    ) -> cloudwatch.IAlarm:
        """One metric with a threshold alarm through the facade (so with the ops action): greater than
        ``threshold`` unless ``comparison`` says otherwise."""
        over = comparison in (
            cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        )
        facade.monitor_custom(
            alarm_friendly_name=name,
            human_readable_name=title,
            metric_groups=[
                monitoring.CustomMetricGroup(
                    title=title,
                    metrics=[
                        monitoring.CustomMetricWithAlarm(
                            metric=metric,  # type: ignore[arg-type]
                            alarm_friendly_name="over" if over else "under",
                            add_alarm={
                                "Threshold": monitoring.CustomThreshold(
                                    threshold=threshold,
                                    comparison_operator=comparison,
                                    alarm_description_override=description,
                                    datapoints_to_alarm=datapoints,
                                    evaluation_periods=datapoints,
                                    treat_missing_data_override=missing,
                                )
                            },
                        )
                    ],
                )
            ],
        )
        created = facade.created_alarms()[-1].alarm
        return created

    def _websocket(self, facade: monitoring.MonitoringFacade, websocket: apigwv2.WebSocketApi) -> None:
        stages = [stage for stage in self._inventory.of_type(apigwv2.WebSocketStage) if stage.api is websocket]
        for stage in stages:
            dims = {"ApiId": websocket.api_id, "Stage": stage.stage_name}

            def metric(name: str, dims: dict[str, str] = dims) -> cloudwatch.Metric:
                return cloudwatch.Metric(
                    namespace="AWS/ApiGateway", metric_name=name, dimensions_map=dims, statistic="Sum", period=PERIOD
                )

            rate = cloudwatch.MathExpression(
                expression="IF(FILL(c, 0) + FILL(m, 0) > 0, "
                "(FILL(ie, 0) + FILL(ee, 0)) / (FILL(c, 0) + FILL(m, 0)), 0)",
                using_metrics={
                    "c": metric("ConnectCount"),
                    "m": metric("MessageCount"),
                    "ie": metric("IntegrationError"),
                    "ee": metric("ExecutionError"),
                },
                label="WebSocket error rate",
                period=PERIOD,
            )
            self._custom_alarm(
                facade,
                title="WebSocket API error rate",
                name=f"websocket-{self._friendly(websocket)}-error-rate",
                metric=rate,
                threshold=MAX_ERROR_RATE,
                datapoints=3,
                description="More than 5 % of WebSocket connects and messages failed in the integration "
                "(the ws function) or in API Gateway",
            )

    def _health(self, facade: monitoring.MonitoringFacade) -> cloudwatch.IAlarm | None:
        """Health down: the Synthetics canary (infra/constructs/health.py) failed its last three runs.

        It replaces the earlier metric-math alarm on the health function's errors and 503s, which saw
        nothing unless someone else called the endpoint; the canary calls it every minute, so a 503,
        a timeout, a broken stage or a missing canary run (missing data is breaching) all count.
        """
        canaries = self._inventory.of_type(synthetics.Canary)
        if not canaries:
            return None
        [canary] = canaries
        return self._custom_alarm(
            facade,
            title="Health (canary GET /api/v1/health)",
            name="health-down",
            metric=canary.metric_success_percent(period=HEALTH_PERIOD, statistic="Average"),
            threshold=100,
            datapoints=HEALTH_FAILED_RUNS,
            comparison=cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
            missing=cloudwatch.TreatMissingData.BREACHING,
            description="The health canary failed 3 runs in a row (one a minute): GET /api/v1/health did not "
            "answer 200 with status ok and every dependency ok, or the canary did not run",
        )

    def _concurrency(self, facade: monitoring.MonitoringFacade) -> cloudwatch.IAlarm:
        limit = self._config.lambda_concurrency_limit
        return self._custom_alarm(
            facade,
            title="Lambda concurrency (account)",
            name="lambda-concurrency",
            metric=cloudwatch.Metric(
                namespace="AWS/Lambda", metric_name="ConcurrentExecutions", statistic="Maximum", period=PERIOD
            ),
            threshold=limit * CONCURRENCY_ALARM_FRACTION,
            description=f"Lambda concurrency above 80 % of the account limit ({limit}, context "
            "lambda_concurrency_limit): requests are about to be throttled",
        )

    def _scaling(self, facade: monitoring.MonitoringFacade) -> list[cloudwatch.IAlarm]:
        """Concurrency near each limit, provisioned concurrency that spills over, scaling at its max."""
        made: list[cloudwatch.IAlarm] = []
        unreserved = check_concurrency_headroom(self._config.lambda_concurrency_limit)
        made.append(
            self._custom_alarm(
                facade,
                title="Lambda unreserved concurrency (account)",
                name="lambda-unreserved-concurrency",
                metric=cloudwatch.Metric(
                    namespace="AWS/Lambda",
                    metric_name="UnreservedConcurrentExecutions",
                    statistic="Maximum",
                    period=PERIOD,
                ),
                threshold=unreserved * CONCURRENCY_ALARM_FRACTION,
                description=f"Functions without a reservation (CDK's own, the canary's) use more than 80 % of the "
                f"{unreserved} executions the reservations leave unreserved",
            )
        )
        by_id = {fn.node.id: fn for fn in self._inventory.of_type(lambda_.Function)}
        aliases = {alias.node.id: alias for alias in self._inventory.of_type(lambda_.Alias)}
        for decl in FUNCTIONS:
            fn = by_id.get(pascal_case(decl.name))
            if fn is None:
                continue
            made.append(
                self._custom_alarm(
                    facade,
                    title=f"Concurrency {decl.name} (reserved {decl.reserved})",
                    name=f"concurrency-{decl.name}",
                    metric=fn.metric("ConcurrentExecutions", statistic="Maximum", period=PERIOD),
                    threshold=decl.reserved * CONCURRENCY_ALARM_FRACTION,
                    datapoints=2,
                    description=f"{decl.name} runs above 80 % of its reserved concurrency ({decl.reserved}, "
                    "infra/catalog.py): beyond it Lambda throttles it",
                )
            )
            alias = aliases.get(f"{pascal_case(decl.name)}Live")
            if decl.warm_start == "provisioned" and alias is not None:
                made.append(
                    self._custom_alarm(
                        facade,
                        title=f"Provisioned concurrency spillover {decl.name}",
                        name=f"provisioned-{decl.name}-spillover",
                        metric=alias.metric(
                            "ProvisionedConcurrencySpilloverInvocations", statistic="Sum", period=PERIOD
                        ),
                        threshold=0,
                        datapoints=3,
                        description=f"{decl.name}:live served requests beyond its provisioned concurrency for 15 "
                        "minutes (cold starts): auto scaling is at its maximum or too slow (context "
                        "provisioned_concurrency_max)",
                    )
                )
        for log in self._inventory.of_type(ScalingActivityLog):
            made.append(
                self._custom_alarm(
                    facade,
                    title="Scaled to maximum (Application Auto Scaling)",
                    name="scaling-at-max",
                    metric=cloudwatch.Metric(
                        namespace="AWS/Events",
                        metric_name="TriggeredRules",
                        dimensions_map={"RuleName": log.scaled_to_max.rule_name},
                        statistic="Sum",
                        period=PERIOD,
                    ),
                    threshold=0,
                    description="A scalable target reached its maximum capacity; scaling events are in log "
                    "group /aws/events/<stack>-scaling",
                )
            )
        return made

    def _throttled(self, facade: monitoring.MonitoringFacade) -> None:
        """The share of each stage's requests answered 429, counted from its access log."""
        for group in self._inventory.of_type(logs.LogGroup):
            owner = group.node.scope
            if group.node.id != "AccessLogs" or owner is None:
                continue
            kind = (
                "websocket" if isinstance(owner.node.try_find_child("WebSocketApi"), apigwv2.WebSocketApi) else "rest"
            )
            name = f"{kind}-throttled"
            filter_ = logs.MetricFilter(
                self.monitoring,
                f"{pascal_case(name)}Filter",
                log_group=group,
                filter_pattern=logs.FilterPattern.string_value("$.status", "=", "429"),
                metric_namespace=METRICS_NAMESPACE,
                # One metric per stage kind: RestStageThrottled, WebsocketStageThrottled.
                metric_name=f"{kind.capitalize()}StageThrottled",
                metric_value="1",
                default_value=0,
            )
            throttled = filter_.metric(statistic="Sum", period=PERIOD)
            if kind == "rest":
                api = next(iter(self._inventory.of_type(apigateway.RestApi)))
                requests: dict[str, cloudwatch.IMetric] = {
                    "r": cloudwatch.Metric(
                        namespace="AWS/ApiGateway",
                        metric_name="Count",
                        dimensions_map={"ApiName": api.rest_api_name, "Stage": api.deployment_stage.stage_name},
                        statistic="Sum",
                        period=PERIOD,
                    )
                }
            else:
                websocket = owner.node.find_child("WebSocketApi")
                assert isinstance(websocket, apigwv2.WebSocketApi)
                stage = next(s for s in self._inventory.of_type(apigwv2.WebSocketStage) if s.api is websocket)
                dims = {"ApiId": websocket.api_id, "Stage": stage.stage_name}
                requests = {
                    f"r{i}": cloudwatch.Metric(
                        namespace="AWS/ApiGateway",
                        metric_name=metric,
                        dimensions_map=dims,
                        statistic="Sum",
                        period=PERIOD,
                    )
                    for i, metric in enumerate(("ConnectCount", "MessageCount"))
                }
            total = " + ".join(f"FILL({key}, 0)" for key in requests)
            self._custom_alarm(
                facade,
                title=f"{kind.upper() if kind == 'rest' else 'WebSocket'} stage: share of requests throttled (429)",
                name=name,
                metric=cloudwatch.MathExpression(
                    expression=f"IF({total} > 0, FILL(t, 0) / ({total}), 0)",
                    using_metrics={"t": throttled, **requests},
                    label="429 share",
                    period=PERIOD,
                ),
                threshold=MAX_THROTTLED_RATE,
                datapoints=3,
                description=f"More than 5 % of the {kind} stage's requests were answered 429 for 15 minutes: the "
                "stage or route throttle (infra/constructs/api.py, notifications.py), WAF's per-IP rule or the "
                "per-tier limiter is turning callers away",
            )

    def _rules(self, facade: monitoring.MonitoringFacade) -> None:
        for rule in self._inventory.of_type(events.Rule):
            name = self._friendly(rule)

            def metric(metric_name: str, rule: events.Rule = rule) -> cloudwatch.Metric:
                return cloudwatch.Metric(
                    namespace="AWS/Events",
                    metric_name=metric_name,
                    dimensions_map={"RuleName": rule.rule_name},
                    statistic="Sum",
                    period=PERIOD,
                )

            facade.monitor_custom(
                alarm_friendly_name=f"rule-{name}",
                human_readable_name=f"Rule {name}",
                metric_groups=[
                    monitoring.CustomMetricGroup(
                        title="Invocations and dead letters",
                        metrics=[metric("Invocations"), metric("DeadLetterInvocations")],
                    ),
                    monitoring.CustomMetricGroup(
                        title="Failed invocations",
                        metrics=[
                            monitoring.CustomMetricWithAlarm(
                                metric=metric("FailedInvocations"),
                                alarm_friendly_name="failed-invocations",
                                add_alarm={
                                    "Failed": monitoring.CustomThreshold(
                                        threshold=0,
                                        comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
                                        alarm_description_override=f"Rule {name} could not deliver events to its "
                                        "target or to its dead-letter queue",
                                        datapoints_to_alarm=1,
                                        evaluation_periods=1,
                                        treat_missing_data_override=cloudwatch.TreatMissingData.NOT_BREACHING,
                                    )
                                },
                            )
                        ],
                    ),
                ],
            )

    def _data(self) -> None:
        facade = self.facades["data"]
        facade.add_large_header("Agents-Meetings: data (DynamoDB, queues, storage, search)")
        for table in self._inventory.of_type(dynamodb.Table):
            throttled = monitoring.ThrottledEventsThreshold(max_throttled_events_threshold=0, datapoints_to_alarm=1)
            facade.monitor_dynamo_table(
                table=table,
                alarm_friendly_name=f"table-{table.node.id}",
                add_read_throttled_events_count_alarm={"Throttled": throttled},
                add_write_throttled_events_count_alarm={"Throttled": throttled},
            )
        queues = self._inventory.of_type(sqs.Queue)
        dead_letter_targets = {id(q.dead_letter_queue.queue) for q in queues if q.dead_letter_queue is not None}
        for queue in queues:
            name = self._friendly(queue)
            if queue.dead_letter_queue is not None:
                # The DLQ's depth alarm is its own (infra/constructs/queues.py): the graph only here.
                facade.monitor_sqs_queue_with_dlq(
                    queue=queue,
                    dead_letter_queue=queue.dead_letter_queue.queue,
                    alarm_friendly_name=f"queue-{name}",
                    add_queue_max_message_age_alarm={
                        "Backlog": monitoring.MaxMessageAgeThreshold(max_age_in_seconds=QUEUE_MAX_AGE.to_seconds())
                    },
                )
            elif id(queue) not in dead_letter_targets:
                # A rule's or schedule's DLQ: its depth alarm is beside it, the graph is here.
                facade.monitor_sqs_queue(queue=queue, alarm_friendly_name=f"queue-{name}")
        quota_bytes = self._config.storage_quota_gb * GIB
        for bucket in self._inventory.of_type(s3.Bucket):
            name = self._friendly(bucket)
            facade.monitor_s3_bucket(bucket=bucket, alarm_friendly_name=f"bucket-{name}")
            classes = ("StandardStorage", "StandardIAStorage", "GlacierInstantRetrievalStorage", "GlacierStorage")
            size = cloudwatch.MathExpression(
                expression=" + ".join(f"FILL(s{i}, 0)" for i in range(len(classes))),
                using_metrics={
                    f"s{i}": cloudwatch.Metric(
                        namespace="AWS/S3",
                        metric_name="BucketSizeBytes",
                        dimensions_map={"BucketName": bucket.bucket_name, "StorageType": storage},
                        statistic="Average",
                        period=Duration.days(1),
                    )
                    for i, storage in enumerate(classes)
                },
                label=f"{name} bytes (all classes)",
                period=Duration.days(1),
            )
            self._custom_alarm(
                facade,
                title=f"Storage {name}",
                name=f"bucket-{name}-quota",
                metric=size,
                threshold=quota_bytes,
                description=f"Bucket {name} holds more than the quota of {self._config.storage_quota_gb:g} GiB "
                "(context storage_quota_gb)",
            )
        for domain in self._inventory.of_type(opensearch.Domain):
            facade.monitor_open_search_cluster(
                domain=domain,
                alarm_friendly_name=f"search-{self._friendly(domain)}",
                add_disk_space_usage_alarm={
                    "Disk": monitoring.UsageThreshold(max_usage_percent=SEARCH_DISK_MAX_PERCENT)
                },
            )

    def _service_metrics(self, names: Iterable[str], title: str) -> monitoring.CustomMetricGroup:
        """One graph: each metric summed over every function (``service``) that emits it; one line
        per dimension value for a metric with dimensions of its own (``METRIC_DIMENSIONS``)."""
        searches: list[Any] = []
        for name in names:
            extra = METRIC_DIMENSIONS.get(name, ())
            schema = ",".join((METRICS_NAMESPACE, "service", *extra))
            search = f"SEARCH('{{{schema}}} MetricName=\"{name}\"', 'Sum', 300)"
            searches.append(
                cloudwatch.MathExpression(
                    # One line per (function, value) of its dimensions.
                    expression=search if extra else f"SUM({search})",
                    using_metrics={},
                    label="" if extra else name,
                    period=PERIOD,
                )
            )
        return monitoring.CustomMetricGroup(title=title, metrics=searches)

    def _livekit(self) -> None:
        facade = self.facades["livekit"]
        facade.add_large_header("Agents-Meetings: LiveKit (webhooks, recordings, egress)")
        facade.monitor_custom(
            human_readable_name="Metrics the LiveKit webhook receiver emits",
            alarm_friendly_name="livekit-webhook-metrics",
            metric_groups=[
                monitoring.CustomMetricGroup(
                    title="Webhook receiver metrics (every metric of service=webhooks)",
                    metrics=[
                        cloudwatch.MathExpression(
                            expression=f"SEARCH('{{{METRICS_NAMESPACE},service}} service=\"{WEBHOOK_FUNCTION}\"', "
                            "'Sum', 300)",
                            using_metrics={},
                            label="",
                            period=PERIOD,
                        )
                    ],
                ),
                *(self._service_metrics(names, f"LiveKit {title.lower()}") for title, names in LIVEKIT_METRICS),
                self._service_metrics(("RecordingTracksReconciled", "RecordingsDeletedByRetention"), "Recordings"),
                self._service_metrics(("RecordingsCompleted", "RecordingMinutes"), "Recordings completed, minutes"),
            ],
        )
        for path, fn in sorted(self._functions.items()):
            if fn.node.id in {pascal_case(name) for name in LIVEKIT_FUNCTIONS}:
                # Graphs only: the function's alarms are on the overview.
                facade.monitor_lambda_function(
                    lambda_function=fn,
                    alarm_friendly_name=f"livekit-{self._friendly_path(path)}",
                    human_readable_name=self._friendly_path(path),
                )

    def _business(self) -> None:
        facade = self.facades["business"]
        facade.add_large_header("Agents-Meetings: business and platform metrics")
        facade.monitor_custom(
            human_readable_name="Business",
            alarm_friendly_name="business",
            metric_groups=[self._service_metrics(names, title) for title, names in BUSINESS_METRICS],
        )
        facade.monitor_custom(
            human_readable_name="Platform",
            alarm_friendly_name="platform",
            metric_groups=[self._service_metrics(names, title) for title, names in PLATFORM_METRICS],
        )

    @property
    def dashboards(self) -> dict[str, str]:
        return {name: f"{self._prefix}-{name}" for name in self.facades}

    # --- saved Logs Insights queries ------------------------------------------------------------

    def _queries(self) -> dict[str, logs.QueryDefinition]:
        function_logs = [fn.log_group for fn in self._inventory.of_type(lambda_.Function)]
        # The REST and WebSocket stages' access logs (infra/constructs/api.py, notifications.py).
        access_logs: list[logs.ILogGroup] = [
            group for group in self._inventory.of_type(logs.LogGroup) if group.node.id == "AccessLogs"
        ]
        definitions: dict[str, tuple[list[logs.ILogGroup], logs.QueryString]] = {
            # Function errors (Powertools level/path) and 5xx the REST stage logged (resourcePath).
            "errors-by-route": (
                [*function_logs, *access_logs],
                logs.QueryString(
                    fields=["coalesce(path, resourcePath) as route", "coalesce(service, 'api-gateway') as source"],
                    filter_statements=['level = "ERROR" or status like /^5/'],
                    stats_statements=["count(*) as errors by source, route"],
                    sort="errors desc",
                    limit=100,
                ),
            ),
            # Lambda's REPORT line of each invocation: duration, memory, cold start.
            "slowest-requests": (
                function_logs,
                logs.QueryString(
                    fields=["@timestamp", "@log", "@requestId", "@duration", "@billedDuration", "@initDuration"],
                    filter_statements=['@type = "REPORT"'],
                    sort="@duration desc",
                    limit=50,
                ),
            ),
            # One request end to end: every function's lines and the stage's access log line.
            "request-path-by-correlation-id": (
                [*function_logs, *access_logs],
                logs.QueryString(
                    fields=[*QUERY_LOG_FIELDS, "xray_trace_id", "requestId", "resourcePath", "status"],
                    filter_statements=[
                        f'correlation_id = "{CORRELATION_ID_PLACEHOLDER}" or requestId = "{CORRELATION_ID_PLACEHOLDER}"'
                    ],
                    sort="@timestamp asc",
                    limit=1000,
                ),
            ),
        }
        return {
            name: logs.QueryDefinition(
                self,
                f"{pascal_case(name)}Query",
                query_definition_name=f"{self._prefix}/{name}",
                query_string=query,
                log_groups=groups,
            )
            for name, (groups, query) in definitions.items()
        }
