"""Notification delivery infrastructure (spec 1.2): the API Gateway WebSocket API and the queues
functions send to directly (``infra.catalog.QUEUES``: the notification email queue and its DLQ).

- WebSocket API: routes ``$connect`` / ``$disconnect`` / ``$default`` to the ``ws`` function (the
  ``$default`` reply is the route response); a stage with access logs and throttling. Functions
  declared ``manages_websocket`` get ``execute-api:ManageConnections`` on this API's connections
  and ``WEBSOCKET_MANAGEMENT_URL``; the API function issuing tickets gets ``WEBSOCKET_URL``.
- Queues: each with a DLQ (alarm on depth), drained by its worker with partial batch responses;
  senders get ``sqs:SendMessage`` and the URL in the variable the declaration names.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from aws_cdk import RemovalPolicy, Stack
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_apigatewayv2_integrations as integrations
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.catalog import FUNCTIONS, QUEUES, QueueDecl, function
from infra.constructs import acknowledge_nag, pascal_case
from infra.constructs.queues import worker_queue

WS_FUNCTION = "ws"
TICKET_FUNCTION = "notifications"
WS_THROTTLE_RATE = 100
WS_THROTTLE_BURST = 200
# $connect redeems a ticket and writes the connection (a few DynamoDB writes): its own, lower limit,
# so a reconnect storm cannot take the messages' share of the stage's. API Gateway's fixed WebSocket
# quotas apply on top: 128 KB messages (32 KB frames), 10 minutes idle, 2 hours per connection.
WS_CONNECT_THROTTLE_RATE = 50
WS_CONNECT_THROTTLE_BURST = 100
ACCESS_LOG_FORMAT = {
    "requestId": "$context.requestId",
    "ip": "$context.identity.sourceIp",
    "requestTime": "$context.requestTime",
    "routeKey": "$context.routeKey",
    "status": "$context.status",
    "connectionId": "$context.connectionId",
    "eventType": "$context.eventType",
    "integrationError": "$context.integrationErrorMessage",
}


class NotificationDelivery(Construct):
    """``websocket_api``, ``stage``, ``management_url``, ``queues`` and ``dead_letter_queues`` by name."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        functions: Mapping[str, lambda_.Function],
        stage_name: str,
        removal_policy: RemovalPolicy,
        invocable: Mapping[str, lambda_.IFunction] | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        # What API Gateway and the queues invoke (the ``live`` aliases); grants and variables go to
        # the functions themselves.
        self._invocable = invocable or functions
        self.queues: dict[str, sqs.Queue] = {}
        self.dead_letter_queues: dict[str, sqs.Queue] = {}
        self.alarms: dict[str, cloudwatch.Alarm] = {}
        self._websocket(functions, stage_name, removal_policy)
        for decl in QUEUES:
            self._queue(decl, functions)

    def _websocket(
        self, functions: Mapping[str, lambda_.Function], stage_name: str, removal_policy: RemovalPolicy
    ) -> None:
        handler = self._invocable[WS_FUNCTION]
        integration = lambda name: integrations.WebSocketLambdaIntegration(name, handler)  # noqa: E731
        self.websocket_api = apigwv2.WebSocketApi(
            self,
            "WebSocketApi",
            description="Agents-Meetings real-time notifications (/ws/notifications)",
            connect_route_options=apigwv2.WebSocketRouteOptions(integration=integration("ConnectIntegration")),
            disconnect_route_options=apigwv2.WebSocketRouteOptions(integration=integration("DisconnectIntegration")),
            default_route_options=apigwv2.WebSocketRouteOptions(
                integration=integration("DefaultIntegration"), return_response=True
            ),
        )
        self.stage = apigwv2.WebSocketStage(
            self,
            "Stage",
            web_socket_api=self.websocket_api,
            stage_name=stage_name,
            auto_deploy=True,
            throttle=apigwv2.ThrottleSettings(rate_limit=WS_THROTTLE_RATE, burst_limit=WS_THROTTLE_BURST),
        )
        access_logs = logs.LogGroup(
            self, "AccessLogs", retention=logs.RetentionDays.ONE_MONTH, removal_policy=removal_policy
        )
        cfn_stage = self.stage.node.default_child
        assert isinstance(cfn_stage, apigwv2.CfnStage)
        cfn_stage.access_log_settings = apigwv2.CfnStage.AccessLogSettingsProperty(
            destination_arn=access_logs.log_group_arn, format=json.dumps(ACCESS_LOG_FORMAT)
        )
        cfn_stage.route_settings = {
            "$connect": {
                "ThrottlingRateLimit": WS_CONNECT_THROTTLE_RATE,
                "ThrottlingBurstLimit": WS_CONNECT_THROTTLE_BURST,
            }
        }
        acknowledge_nag(
            self.websocket_api,
            {
                "APIG4": "The $connect route is authorised by the handler: it redeems a short-lived single-use "
                "ticket issued to an authenticated user (POST /api/v1/notifications/ws-ticket); browsers cannot "
                "send an Authorization header on a WebSocket. $default and $disconnect only act on a connection "
                "that $connect accepted.",
            },
        )
        region = Stack.of(self).region
        # Built from the API id and the stage's name (not the stage resource) so that functions may
        # carry it without a dependency cycle (stage -> routes -> integration -> function).
        self.management_url = f"https://{self.websocket_api.api_id}.execute-api.{region}.amazonaws.com/{stage_name}"
        self.url = f"wss://{self.websocket_api.api_id}.execute-api.{region}.amazonaws.com/{stage_name}"
        api_id = Stack.of(self).get_logical_id(self.websocket_api.node.default_child)  # type: ignore[arg-type]
        connections = f"arn:<AWS::Partition>:execute-api:<AWS::Region>:<AWS::AccountId>:<{api_id}>/*/*/@connections/*"
        for decl in FUNCTIONS:
            if decl.manages_websocket:
                self.websocket_api.grant_manage_connections(functions[decl.name])
                functions[decl.name].add_environment("WEBSOCKET_MANAGEMENT_URL", self.management_url)
                acknowledge_nag(
                    functions[decl.name],
                    {
                        f"IAM5[Resource::{connections}]": "Posting to a client needs ManageConnections on every "
                        "connection of this one WebSocket API; connection ids are created per client at run time."
                    },
                )
        functions[TICKET_FUNCTION].add_environment("WEBSOCKET_URL", self.url)

    def _queue(self, decl: QueueDecl, functions: Mapping[str, lambda_.Function]) -> None:
        drained = worker_queue(
            self,
            pascal_case(decl.name),
            worker=self._invocable[decl.target],
            worker_timeout_seconds=function(decl.target).timeout,
            max_receive_count=decl.max_receive_count,
            alarm_description=f"Dead-letter queue holds {decl.description or decl.name} that failed every attempt",
        )
        queue, dlq = drained.queue, drained.dlq
        self.alarms[decl.name] = drained.alarm
        for sender in FUNCTIONS:
            if decl.name in sender.sends_to_queues:
                queue.grant_send_messages(functions[sender.name])
                functions[sender.name].add_environment(decl.url_variable, queue.queue_url)
        self.queues[decl.name] = queue
        self.dead_letter_queues[decl.name] = dlq
