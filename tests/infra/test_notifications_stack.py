"""CDK template assertions for notification delivery: the WebSocket API, its routes and stage, the
management permission of exactly the functions that post to clients, the email queue and its DLQ."""

from __future__ import annotations

import json
from typing import Any

import pytest

from infra.catalog import EVENT_RULES, FUNCTIONS, QUEUES, function
from tests.infra.test_stack import Synthesized, synth  # noqa: F401 - the module's synthesized stack

pytestmark = pytest.mark.infra


def test_the_websocket_api_routes_connect_disconnect_and_default_to_the_ws_function(synth: Synthesized) -> None:  # noqa: F811
    [api] = synth.of_type("AWS::ApiGatewayV2::Api").values()
    assert api["Properties"]["ProtocolType"] == "WEBSOCKET"
    routes = {r["Properties"]["RouteKey"]: r["Properties"] for r in synth.of_type("AWS::ApiGatewayV2::Route").values()}
    assert set(routes) == {"$connect", "$disconnect", "$default"}
    # The ws function's live alias (SnapStart runs on published versions).
    ws_alias = {"Ref": synth.alias_id("ws")}
    for integration in synth.of_type("AWS::ApiGatewayV2::Integration").values():
        assert integration["Properties"]["IntegrationType"] == "AWS_PROXY"
        assert json.dumps(ws_alias) in json.dumps(integration["Properties"]["IntegrationUri"])
    assert len(synth.of_type("AWS::ApiGatewayV2::RouteResponse")) == 1  # $default answers (ping -> pong)
    [stage] = synth.of_type("AWS::ApiGatewayV2::Stage").values()
    assert stage["Properties"]["AutoDeploy"] is True
    assert stage["Properties"]["AccessLogSettings"]["DestinationArn"]
    assert stage["Properties"]["DefaultRouteSettings"]["ThrottlingRateLimit"] == 100
    assert "WebSocketUrl" in synth.outputs


def test_only_functions_that_post_to_clients_may_manage_connections(synth: Synthesized) -> None:  # noqa: F811
    from tests.infra.test_stack import _policy_documents_of_function

    for decl in FUNCTIONS:
        if not (decl.tables or decl.read_tables or decl.secrets or decl.sends_email):
            continue
        documents = _policy_documents_of_function(synth, decl.name)
        assert ("execute-api:ManageConnections" in documents) == decl.manages_websocket, decl.name


@pytest.mark.parametrize("decl", QUEUES, ids=lambda decl: decl.name)
def test_each_work_queue_has_a_dlq_an_alarm_and_feeds_its_worker(synth: Synthesized, decl: Any) -> None:  # noqa: F811
    queue = synth.stack.notifications.queues[decl.name]
    dlq = synth.stack.notifications.dead_letter_queues[decl.name]
    props = synth.resources[synth.logical_id(queue)]["Properties"]
    assert props["RedrivePolicy"]["maxReceiveCount"] == decl.max_receive_count
    assert props["RedrivePolicy"]["deadLetterTargetArn"] == {"Fn::GetAtt": [synth.logical_id(dlq), "Arn"]}
    assert props["VisibilityTimeout"] == function(decl.target).timeout_seconds * 6
    [mapping] = [
        m["Properties"]
        for m in synth.of_type("AWS::Lambda::EventSourceMapping").values()
        if m["Properties"]["EventSourceArn"] == {"Fn::GetAtt": [synth.logical_id(queue), "Arn"]}
    ]
    assert synth.alias_id(decl.target) in json.dumps(mapping["FunctionName"])  # <worker>:live
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    alarms = [
        a
        for a in synth.of_type("AWS::CloudWatch::Alarm").values()
        if json.dumps({"Fn::GetAtt": [synth.logical_id(dlq), "QueueName"]}) in json.dumps(a["Properties"])
    ]
    assert len(alarms) == 1
    queue_arn = json.dumps({"Fn::GetAtt": [synth.logical_id(queue), "Arn"]})
    for sender in FUNCTIONS:
        statements = [
            statement
            for document in json.loads(_sqs_documents(synth, sender.name) or "[]")
            for statement in document["Statement"]
            if queue_arn in json.dumps(statement["Resource"])
        ]
        may_send = any("sqs:SendMessage" in json.dumps(statement["Action"]) for statement in statements)
        assert may_send == (decl.name in sender.sends_to_queues), sender.name


def _sqs_documents(synthesized: Synthesized, name: str) -> str:
    from tests.infra.test_stack import _policy_documents_of_function

    try:
        return _policy_documents_of_function(synthesized, name)
    except AssertionError:
        return ""


def test_the_email_worker_may_send_email_and_the_schedule_runs_every_minute(synth: Synthesized) -> None:  # noqa: F811
    from tests.infra.test_stack import _policy_documents_of_function

    assert "ses:SendEmail" in _policy_documents_of_function(synth, "notification-email-worker")
    rules = [r["Properties"] for r in synth.of_type("AWS::Events::Rule").values()]
    assert any(r.get("ScheduleExpression") == "rate(1 minute)" for r in rules)
    # The notify rule (platform-statistics also listens to RecordingCompleted).
    description = next(d.description for d in EVENT_RULES if d.name == "notify")
    notify = [r for r in rules if r.get("Description") == description]
    assert len(notify) == 1 and "RecordingCompleted" in json.dumps(notify[0]["EventPattern"])
    assert "AnnouncementPublished" in json.dumps(notify[0]["EventPattern"])
