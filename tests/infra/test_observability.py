"""CDK template assertions for observability (spec 4.3): every resource is alarmed, every alarm reaches
the ops topic (customer-managed key CloudWatch may use), e-mail and Slack follow context, four
dashboards, the saved Logs Insights queries; the dashboards graph only metrics the code emits."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from agents_meetings.recordings.webhooks import LIVEKIT_EVENT_METRICS
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_sqs as sqs
from aws_cdk.assertions import Template

from infra.app import REPO_ROOT, build_app
from infra.constructs.observability import (
    BUSINESS_METRICS,
    LIVEKIT_METRICS,
    METRIC_DIMENSIONS,
    PLATFORM_METRICS,
    ObservabilityConfig,
    PlatformObservability,
)
from tests.infra.test_stack import Synthesized, synth  # noqa: F401 - the module's synthesized stack

pytestmark = pytest.mark.infra

Resource = dict[str, Any]
WATCHED_TYPES = (
    "AWS::Lambda::Function",
    "AWS::ApiGateway::RestApi",
    "AWS::ApiGatewayV2::Api",
    "AWS::DynamoDB::Table",
    "AWS::SQS::Queue",
    "AWS::StepFunctions::StateMachine",
    "AWS::Events::Rule",
)


def _monitoring_resources(synthesized: Synthesized) -> dict[str, Resource]:
    resources: dict[str, Resource] = Template.from_stack(synthesized.stack.observability.monitoring).to_json()[
        "Resources"
    ]
    return resources


def _nested_parameters(synthesized: Synthesized) -> dict[str, Any]:
    """The nested stack's parameter -> the parent expression passed to it (``Ref``/``GetAtt``), in the
    merged view's ids (a resource of another nested stack, e.g. the REST API's, by its own id)."""
    resource = synthesized.stack.observability.monitoring.nested_stack_resource
    nested = synthesized.resources[synthesized.logical_id(resource)]
    parameters: dict[str, Any] = nested["Properties"]["Parameters"]
    return parameters


def _references(value: Any) -> Iterator[str]:
    """Logical ids a CloudFormation expression refers to (``Ref`` and ``Fn::GetAtt``)."""
    if isinstance(value, dict):
        if "Ref" in value and isinstance(value["Ref"], str):
            yield value["Ref"]
        if "Fn::GetAtt" in value:
            yield value["Fn::GetAtt"][0]
        for item in value.values():
            yield from _references(item)
    elif isinstance(value, list):
        for item in value:
            yield from _references(item)


def _all_alarms(synthesized: Synthesized) -> list[tuple[Resource, dict[str, Any]]]:
    """Every alarm of the platform with how its references resolve to the parent stack's ids."""
    parameters = _nested_parameters(synthesized)
    nested = {name: list(_references(expression)) for name, expression in parameters.items()}
    parent_alarms: list[tuple[Resource, dict[str, Any]]] = [
        (alarm, {}) for alarm in synthesized.of_type("AWS::CloudWatch::Alarm").values()
    ]
    monitoring = _monitoring_resources(synthesized)
    nested_alarms = [(res, nested) for res in monitoring.values() if res["Type"] == "AWS::CloudWatch::Alarm"]
    return [*parent_alarms, *nested_alarms]


def _watched_ids(alarm: Resource, resolve: dict[str, list[str]]) -> set[str]:
    properties = alarm["Properties"]
    measured = [properties.get("Dimensions", []), properties.get("Metrics", [])]
    found: set[str] = set()
    for ref in _references(measured):
        found.update(resolve.get(ref, [ref]))
    return found


def test_every_function_api_table_queue_state_machine_and_rule_has_an_alarm(synth: Synthesized) -> None:  # noqa: F811
    alarmed: set[str] = set()
    api_names: set[str] = set()
    for alarm, resolve in _all_alarms(synth):
        alarmed |= _watched_ids(alarm, resolve)
        for metric in alarm["Properties"].get("Metrics", []):
            for dimension in metric.get("MetricStat", {}).get("Metric", {}).get("Dimensions", []):
                if dimension["Name"] == "ApiName":
                    api_names.add(dimension["Value"])
    missing = []
    for cfn_type in WATCHED_TYPES:
        for logical_id, resource in synth.of_type(cfn_type).items():
            if cfn_type == "AWS::ApiGateway::RestApi" and resource["Properties"]["Name"] in api_names:
                continue
            if logical_id not in alarmed:
                missing.append(f"{cfn_type} {logical_id}")
    assert missing == []
    assert len(synth.of_type("AWS::Lambda::Function")) > 20 and len(synth.of_type("AWS::Events::Rule")) >= 9


def test_every_alarm_notifies_the_ops_topic(synth: Synthesized) -> None:  # noqa: F811
    topic_id = synth.logical_id(synth.stack.observability.topic)
    parameters = _nested_parameters(synth)
    alarms = _all_alarms(synth)
    assert len(alarms) > 100
    for alarm, resolve in alarms:
        properties = alarm["Properties"]
        name = properties.get("AlarmName") or properties.get("AlarmDescription")
        assert properties.get("ActionsEnabled", True) is not False, name
        for key in ("AlarmActions", "OKActions"):
            actions = properties.get(key, [])
            assert len(actions) == 1, f"{name}: {key} {actions}"
            [action] = actions
            if resolve:  # nested: a parameter the parent fills with the topic
                action = parameters[action["Ref"]]
            assert action == {"Ref": topic_id}, name


def test_the_thresholds_are_the_specs(synth: Synthesized) -> None:  # noqa: F811
    alarms = [alarm["Properties"] for alarm, _ in _all_alarms(synth)]

    def named(fragment: str) -> list[dict[str, Any]]:
        return [alarm for alarm in alarms if fragment in alarm.get("AlarmName", "")]

    [p95] = named("Latency-P95")
    assert p95["Threshold"] == 1000 and p95["Metrics"][0]["MetricStat"]["Stat"] == "p95"
    [api_errors] = named("rest-Api-RestApi-Fault-Rate")
    assert api_errors["Threshold"] == 0.05
    assert {alarm["Threshold"] for alarm in named("-Fault-Rate-")} == {0.05}
    assert len(named("-Throttled-Count-")) == len(synth.of_type("AWS::Lambda::Function"))
    [concurrency] = named("lambda-concurrency")
    assert concurrency["Threshold"] == 800 and concurrency["MetricName"] == "ConcurrentExecutions"
    # The Synthetics canary's success rate (tests/infra/test_scaling_stack.py has the details).
    [health] = named("health-down")
    assert health["MetricName"] == "SuccessPercent" and health["ComparisonOperator"] == "LessThanThreshold"
    quota = named("-quota-")
    assert len(quota) == len(synth.of_type("AWS::S3::Bucket"))
    assert {alarm["Threshold"] for alarm in quota} == {ObservabilityConfig().storage_quota_gb * 1024**3}
    tables = len(synth.of_type("AWS::DynamoDB::Table"))
    assert len(named("Read-Throttled-Events")) == len(named("Write-Throttled-Events")) == tables
    assert len(named("failed-invocations")) == len(synth.of_type("AWS::Events::Rule"))


def test_the_ops_topic_is_encrypted_with_a_key_cloudwatch_may_use(synth: Synthesized) -> None:  # noqa: F811
    observability = synth.stack.observability
    key_id = synth.logical_id(observability.key)
    topic = synth.resources[synth.logical_id(observability.topic)]
    assert topic["Properties"]["KmsMasterKeyId"] == {"Fn::GetAtt": [key_id, "Arn"]}
    key = synth.resources[key_id]["Properties"]
    assert key["EnableKeyRotation"] is True
    statements = key["KeyPolicy"]["Statement"]
    [cloudwatch_use] = [s for s in statements if s.get("Principal") == {"Service": "cloudwatch.amazonaws.com"}]
    assert cloudwatch_use["Effect"] == "Allow"
    assert set(cloudwatch_use["Action"]) == {"kms:Decrypt", "kms:GenerateDataKey*"}
    [policy] = synth.of_type("AWS::SNS::TopicPolicy").values()
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    assert any(s.get("Principal") == {"Service": "cloudwatch.amazonaws.com"} for s in statements)


def test_without_context_there_is_no_email_or_slack(synth: Synthesized) -> None:  # noqa: F811
    assert synth.of_type("AWS::SNS::Subscription") == {}
    assert synth.of_type("AWS::Chatbot::SlackChannelConfiguration") == {}


def test_alarm_email_and_slack_context_subscribe_to_the_ops_topic(tmp_path: Path) -> None:
    context = {
        "aws:cdk:bundling-stacks": [],
        "alarm_email": "ops@example.com",
        "slack_workspace_id": "T0123456789",
        "slack_channel_id": "C0123456789",
    }
    app, stack = build_app(context, outdir=str(tmp_path))
    app.synth()  # cdk-nag passes with the Chatbot role too
    resources = Template.from_stack(stack).to_json()["Resources"]
    topic = {"Ref": stack.get_logical_id(stack.observability.topic.node.default_child)}  # type: ignore[arg-type]
    [subscription] = [r["Properties"] for r in resources.values() if r["Type"] == "AWS::SNS::Subscription"]
    assert subscription == {"Protocol": "email", "TopicArn": topic, "Endpoint": "ops@example.com"}
    [slack] = [r["Properties"] for r in resources.values() if r["Type"] == "AWS::Chatbot::SlackChannelConfiguration"]
    assert slack["SlackWorkspaceId"] == "T0123456789" and slack["SlackChannelId"] == "C0123456789"
    assert slack["SnsTopicArns"] == [topic]
    assert slack["GuardrailPolicies"] and "AdministratorAccess" not in json.dumps(slack["GuardrailPolicies"])


def test_slack_needs_both_workspace_and_channel() -> None:
    with pytest.raises(ValueError, match="slack_workspace_id and slack_channel_id"):
        ObservabilityConfig(slack_workspace_id="T0123456789")


def test_storage_quota_and_concurrency_limit_come_from_context() -> None:
    app = cdk.App(context={"storage_quota_gb": "50", "lambda_concurrency_limit": 3000})
    config = ObservabilityConfig.from_context(app.node)
    assert config.storage_quota_gb == 50.0 and config.lambda_concurrency_limit == 3000
    assert config.alarm_email == ""


def test_four_dashboards_overview_data_livekit_business(synth: Synthesized) -> None:  # noqa: F811
    dashboards = {
        res["Properties"]["DashboardName"]: json.dumps(res["Properties"]["DashboardBody"])
        for res in _monitoring_resources(synth).values()
        if res["Type"] == "AWS::CloudWatch::Dashboard"
    }
    prefix = f"agents-meetings-{synth.stack.config.stage}"
    assert set(dashboards) == {f"{prefix}-{name}" for name in ("overview", "data", "livekit", "business")}
    assert "AWS/ApiGateway" in dashboards[f"{prefix}-overview"] and "System health" in dashboards[f"{prefix}-overview"]
    assert "AWS/DynamoDB" in dashboards[f"{prefix}-data"] and "AWS/SQS" in dashboards[f"{prefix}-data"]
    assert 'service=\\\\\\"webhooks\\\\\\"' in dashboards[f"{prefix}-livekit"]
    for _, names in BUSINESS_METRICS:
        for name in names:
            assert name in dashboards[f"{prefix}-business"]
    for body in dashboards.values():
        assert len(body) < 1_000_000  # CloudWatch's dashboard body limit (1 MB)


def _emitted_metric_names() -> set[str]:
    """``add_metric(name="X"`` and ``emit_dimensioned``'s ``{"X": ("Unit", value)}``, plus the
    LiveKit webhook counters (a table in the code)."""
    patterns = (
        re.compile(r'add_metric\(\s*name="([A-Za-z0-9]+)"'),
        re.compile(r'"([A-Za-z0-9]+)": \("(?:Count|Seconds|Milliseconds)"'),
    )
    roots = [REPO_ROOT / "layers" / "core" / "python", REPO_ROOT / "functions"]
    texts = [path.read_text() for root in roots for path in root.rglob("*.py")]
    found = {name for text in texts for pattern in patterns for name in pattern.findall(text)}
    return found | set(LIVEKIT_EVENT_METRICS.values())


def test_dashboards_graph_only_metrics_the_code_emits() -> None:
    graphed = {name for _, names in (*BUSINESS_METRICS, *PLATFORM_METRICS, *LIVEKIT_METRICS) for name in names}
    assert graphed - _emitted_metric_names() == set()
    assert set(METRIC_DIMENSIONS) <= graphed


def test_the_livekit_dashboard_graphs_every_livekit_webhook_counter(synth: Synthesized) -> None:  # noqa: F811
    bodies = {
        res["Properties"]["DashboardName"]: json.dumps(res["Properties"]["DashboardBody"])
        for res in _monitoring_resources(synth).values()
        if res["Type"] == "AWS::CloudWatch::Dashboard"
    }
    livekit = bodies[f"agents-meetings-{synth.stack.config.stage}-livekit"]
    graphed = {name for _, names in LIVEKIT_METRICS for name in names}
    assert graphed == set(LIVEKIT_EVENT_METRICS.values())
    for name in graphed:
        assert name in livekit
    business = bodies[f"agents-meetings-{synth.stack.config.stage}-business"]
    # A metric with dimensions of its own is searched in its own schema, one line per value.
    assert "AgentsMeetings,service,channel" in business and "AgentsMeetings,service,method" in business


def test_saved_queries_cover_errors_by_route_slowest_requests_and_one_request(synth: Synthesized) -> None:  # noqa: F811
    queries = {
        res["Properties"]["Name"]: res["Properties"] for res in synth.of_type("AWS::Logs::QueryDefinition").values()
    }
    prefix = f"agents-meetings-{synth.stack.config.stage}"
    assert set(queries) == {
        f"{prefix}/{n}" for n in ("errors-by-route", "slowest-requests", "request-path-by-correlation-id")
    }
    function_logs = {
        synth.logical_id(fn.log_group.node.default_child) for fn in synth.stack.functions.functions.values()
    }

    def groups(query: dict[str, Any]) -> set[str]:
        return {ref for name in query["LogGroupNames"] for ref in _references(name)}

    errors = queries[f"{prefix}/errors-by-route"]
    assert 'level = "ERROR"' in errors["QueryString"] and "stats count(*)" in errors["QueryString"]
    assert function_logs <= groups(errors)
    slowest = queries[f"{prefix}/slowest-requests"]
    assert "sort @duration desc" in slowest["QueryString"] and function_logs <= groups(slowest)
    path = queries[f"{prefix}/request-path-by-correlation-id"]
    assert "correlation_id =" in path["QueryString"] and "sort @timestamp asc" in path["QueryString"]
    assert function_logs <= groups(path)


def test_notify_ops_wires_an_alarm_made_elsewhere_once() -> None:
    """The hook for alarms other constructs create later (e.g. backup and restore-test failures)."""
    stack = cdk.Stack(cdk.App())
    queue = sqs.Queue(stack, "Queue")
    early = cloudwatch.Alarm(
        stack, "Early", metric=queue.metric_approximate_number_of_messages_visible(), threshold=1, evaluation_periods=1
    )
    observability = PlatformObservability(stack, "Obs", watched=stack, config=ObservabilityConfig(), name_prefix="t")
    late = cloudwatch.Alarm(
        stack, "Late", metric=queue.metric_approximate_age_of_oldest_message(), threshold=1, evaluation_periods=1
    )
    observability.notify_ops(late)
    observability.notify_ops(late)
    resources = Template.from_stack(stack).to_json()["Resources"]
    topic = {"Ref": stack.get_logical_id(observability.topic.node.default_child)}  # type: ignore[arg-type]
    for alarm in (early, late):
        properties = resources[stack.get_logical_id(alarm.node.default_child)]["Properties"]  # type: ignore[arg-type]
        assert properties["AlarmActions"] == [topic] and properties["OKActions"] == [topic]


def test_the_monitoring_nested_stack_is_cfn_lint_clean(synth: Synthesized) -> None:  # noqa: F811
    from tests.infra.test_stack import _lint

    [nested] = synth.outdir.glob("*Monitoring*.nested.template.json")
    assert list(_lint(nested)) == []
