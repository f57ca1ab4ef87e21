"""CDK template assertions for scaling (spec 2.4 in serverless form, issue 14): reserved concurrency,
memory and timeout per function class; SnapStart on published versions behind a ``live`` alias that
every caller invokes; provisioned concurrency with target-tracking auto scaling; stage, route and
WebSocket throttles; the scaling-event log; the health canary; and their alarms."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from aws_cdk.assertions import Template

from infra.app import build_app
from infra.catalog import (
    DEFAULT_ACCOUNT_CONCURRENCY,
    FUNCTION_CLASSES,
    FUNCTIONS,
    UNRESERVED_CONCURRENCY_MINIMUM,
    FunctionDecl,
    api_functions,
    check_concurrency_headroom,
    function,
    reserved_concurrency_total,
)
from infra.constructs.api import THROTTLE_BURST, THROTTLE_RATE_PER_SECOND
from infra.constructs.health import CANARY_DIR, CANARY_HANDLER, HEALTH_PATH
from infra.constructs.notifications import WS_CONNECT_THROTTLE_BURST, WS_CONNECT_THROTTLE_RATE
from infra.constructs.scaling import SCALED_TO_MAX, SCALING_EVENT_SOURCE, ScalingConfig
from tests.infra.test_stack import Synthesized, synth  # noqa: F401 - the module's synthesized stack

pytestmark = pytest.mark.infra

Resource = dict[str, Any]
ZIP = [decl for decl in FUNCTIONS if decl.container_image is None]
RUNBOOK = Path(__file__).resolve().parents[2] / "docs" / "runbooks" / "alarms.md"
# CloudFormation's limit on resources per stack; the platform stack keeps a margin below it.
CFN_RESOURCE_LIMIT = 500


def _function(synth: Synthesized, name: str) -> Resource:  # noqa: F811
    return synth.resources[synth.function_id(name)]


def _alias_id(synth: Synthesized, name: str) -> str:  # noqa: F811
    return synth.logical_id(synth.stack.functions.aliases[name])


def _monitoring(synth: Synthesized) -> dict[str, Resource]:  # noqa: F811
    resources: dict[str, Resource] = Template.from_stack(synth.stack.observability.monitoring).to_json()["Resources"]
    return resources


def _alarms(synth: Synthesized) -> dict[str, Resource]:  # noqa: F811
    """The nested stack's alarms by name without the ``agents-meetings-<stage>-`` prefix."""
    return {
        res["Properties"]["AlarmName"].removeprefix("agents-meetings-prod-"): res["Properties"]
        for res in _monitoring(synth).values()
        if res["Type"] == "AWS::CloudWatch::Alarm"
    }


# --- reserved concurrency, memory, timeout ------------------------------------------------------


@pytest.mark.parametrize("decl", FUNCTIONS, ids=lambda decl: decl.name)
def test_every_function_gets_memory_timeout_and_reserved_concurrency_from_its_class_or_its_override(
    synth: Synthesized,  # noqa: F811
    decl: FunctionDecl,
) -> None:
    props = _function(synth, decl.name)["Properties"]
    assert (props["MemorySize"], props["Timeout"], props["ReservedConcurrentExecutions"]) == (
        decl.memory,
        decl.timeout,
        decl.reserved,
    )


def test_class_defaults_are_declared_once_and_overrides_only_where_a_function_differs() -> None:
    assert set(FUNCTION_CLASSES) == {"api", "websocket", "worker", "job", "pipeline"}
    users = function("users")
    assert (users.memory, users.timeout, users.reserved) == (1024, 29, FUNCTION_CLASSES["api"].reserved_concurrency)
    assert function("health").memory == 256 and function("notify-worker").timeout == 120
    assert FunctionDecl(name="x", folder="x", kind="worker").timeout == FUNCTION_CLASSES["worker"].timeout_seconds


def test_reservations_leave_the_account_unreserved_headroom() -> None:
    total = reserved_concurrency_total()
    assert total == sum(decl.reserved for decl in FUNCTIONS)
    # Lambda keeps 100 unreserved; the rest of the headroom is for CDK's own functions, the canary,
    # and bursts of functions that scale beyond nothing else.
    assert DEFAULT_ACCOUNT_CONCURRENCY - total >= UNRESERVED_CONCURRENCY_MINIMUM
    assert check_concurrency_headroom(DEFAULT_ACCOUNT_CONCURRENCY) == DEFAULT_ACCOUNT_CONCURRENCY - total
    assert total <= 0.6 * DEFAULT_ACCOUNT_CONCURRENCY, "keep at least 40 % of a default account unreserved"
    # A runaway worker is capped: all the workers together reserve less than the API functions.
    workers = sum(decl.reserved for decl in FUNCTIONS if decl.kind in ("worker", "job", "pipeline"))
    assert workers < sum(decl.reserved for decl in api_functions())
    with pytest.raises(ValueError, match="lambda_concurrency_limit"):
        check_concurrency_headroom(total + UNRESERVED_CONCURRENCY_MINIMUM - 1)


def test_a_stack_whose_reservations_do_not_fit_the_account_is_refused() -> None:
    with pytest.raises(ValueError, match="unreserved"):
        build_app({"aws:cdk:bundling-stacks": [], "lambda_concurrency_limit": 500}, nag=False)


# --- SnapStart, versions and the live alias -----------------------------------------------------


@pytest.mark.parametrize("decl", ZIP, ids=lambda decl: decl.name)
def test_zip_functions_publish_versions_and_callers_invoke_the_live_alias(
    synth: Synthesized,  # noqa: F811
    decl: FunctionDecl,
) -> None:
    props = _function(synth, decl.name)["Properties"]
    assert float(props["Runtime"].removeprefix("python")) >= 3.12  # SnapStart for Python needs 3.12+
    if decl.warm_start == "snapstart":
        assert props["SnapStart"] == {"ApplyOn": "PublishedVersions"}
    else:
        assert "SnapStart" not in props
    alias = synth.resources[_alias_id(synth, decl.name)]["Properties"]
    assert alias["Name"] == "live" and alias["FunctionName"] == {"Ref": synth.function_id(decl.name)}
    [version_id] = [
        lid
        for lid, res in synth.of_type("AWS::Lambda::Version").items()
        if res["Properties"]["FunctionName"] == {"Ref": synth.function_id(decl.name)}
    ]
    assert alias["FunctionVersion"] == {"Fn::GetAtt": [version_id, "Version"]}
    # Nothing invokes the unqualified function (which would run $LATEST: no SnapStart, no PC).
    function_ref = {"Ref": synth.function_id(decl.name)}
    function_arn = {"Fn::GetAtt": [synth.function_id(decl.name), "Arn"]}
    for lid, res in synth.resources.items():
        if res["Type"] == "AWS::Lambda::Permission":
            assert res["Properties"]["FunctionName"] not in (function_ref, function_arn), lid
        if res["Type"] == "AWS::Lambda::EventSourceMapping":
            assert res["Properties"]["FunctionName"] not in (function_ref, function_arn), lid
        if res["Type"] == "AWS::Events::Rule":
            assert all(t["Arn"] != function_arn for t in res["Properties"].get("Targets", [])), lid
        if res["Type"] in ("AWS::ApiGateway::Method", "AWS::ApiGatewayV2::Integration"):
            assert json.dumps(function_arn) not in json.dumps(res["Properties"]), lid


def test_api_gateway_event_sources_schedules_and_websocket_invoke_aliases(synth: Synthesized) -> None:  # noqa: F811
    alias_ids = {_alias_id(synth, decl.name) for decl in ZIP}
    methods = [
        res for res in synth.of_type("AWS::ApiGateway::Method").values() if res["Properties"]["HttpMethod"] == "ANY"
    ]
    assert methods and all(
        any(alias in json.dumps(res["Properties"]["Integration"]["Uri"]) for alias in alias_ids) for res in methods
    )
    mappings = synth.of_type("AWS::Lambda::EventSourceMapping").values()
    assert mappings and all(
        ":live" in json.dumps(res["Properties"]["FunctionName"])
        and any(alias in json.dumps(res["Properties"]["FunctionName"]) for alias in alias_ids)
        for res in mappings
    )
    integrations = synth.of_type("AWS::ApiGatewayV2::Integration").values()
    assert all(_alias_id(synth, "ws") in json.dumps(res["Properties"]["IntegrationUri"]) for res in integrations)
    configs = synth.of_type("AWS::Lambda::EventInvokeConfig").values()
    assert configs and all(
        any(alias in json.dumps(res["Properties"]["Qualifier"]) for alias in alias_ids) for res in configs
    )


def test_functions_that_cannot_use_snapstart_do_not() -> None:
    pipeline = function("recording-pipeline")
    # A container image with 10 GB of ephemeral storage: SnapStart takes neither.
    assert pipeline.container_image and pipeline.ephemeral_storage_mb > 512 and pipeline.warm_start == "none"
    with pytest.raises(ValueError, match="SnapStart"):
        FunctionDecl(name="x", folder="x", kind="job", ephemeral_storage_mb=1024, warm_start="snapstart")
    with pytest.raises(ValueError, match="SnapStart"):
        FunctionDecl(name="x", folder="x", kind="pipeline", container_image="x/Dockerfile", warm_start="snapstart")
    # Provisioned concurrency and SnapStart exclude each other on one version.
    assert {decl.name for decl in FUNCTIONS if decl.warm_start == "provisioned"} == {"auth"}


def test_the_pipeline_container_is_invoked_unqualified_by_its_state_machine(synth: Synthesized) -> None:  # noqa: F811
    assert "recording-pipeline" not in synth.stack.functions.aliases
    assert (
        synth.stack.functions.invocable["recording-pipeline"] is synth.stack.functions.functions["recording-pipeline"]
    )
    assert "SnapStart" not in _function(synth, "recording-pipeline")["Properties"]


# --- provisioned concurrency and auto scaling ---------------------------------------------------


def _scaling_of(template: dict[str, Resource], alias_id: str) -> tuple[Resource, Resource]:
    [(target_id, target)] = [
        (lid, res)
        for lid, res in template.items()
        if res["Type"] == "AWS::ApplicationAutoScaling::ScalableTarget" and alias_id in json.dumps(res["Properties"])
    ]
    [policy] = [
        res
        for res in template.values()
        if res["Type"] == "AWS::ApplicationAutoScaling::ScalingPolicy"
        and res["Properties"]["ScalingTargetId"] == {"Ref": target_id}
    ]
    return target["Properties"], policy["Properties"]


def test_auth_keeps_provisioned_concurrency_scaled_by_target_tracking_up_and_down(synth: Synthesized) -> None:  # noqa: F811
    config = ScalingConfig()
    assert (config.provisioned_concurrency_min, config.provisioned_concurrency_max) == (2, 10)
    assert config.provisioned_concurrency_utilization == 0.7
    alias_id = _alias_id(synth, "auth")
    alias = synth.resources[alias_id]["Properties"]
    assert alias["ProvisionedConcurrencyConfig"] == {"ProvisionedConcurrentExecutions": 2}
    target, policy = _scaling_of(synth.resources, alias_id)
    assert (target["MinCapacity"], target["MaxCapacity"]) == (2, 10)
    assert target["ScalableDimension"] == "lambda:function:ProvisionedConcurrency"
    assert target["ServiceNamespace"] == "lambda" and ":live" in json.dumps(target["ResourceId"])
    assert "AWSServiceRoleForApplicationAutoScaling_LambdaConcurrency" in json.dumps(target["RoleARN"])
    tracking = policy["TargetTrackingScalingPolicyConfiguration"]
    assert policy["PolicyType"] == "TargetTrackingScaling"
    assert tracking["TargetValue"] == 0.7
    assert (
        tracking["PredefinedMetricSpecification"]["PredefinedMetricType"] == "LambdaProvisionedConcurrencyUtilization"
    )
    # Scale-in is on: provisioned concurrency goes back down to the minimum when the load drops.
    assert tracking.get("DisableScaleIn", False) is False
    assert tracking["ScaleInCooldown"] >= tracking["ScaleOutCooldown"]
    # The maximum fits in the function's reservation (Lambda refuses more).
    assert target["MaxCapacity"] <= _function(synth, "auth")["Properties"]["ReservedConcurrentExecutions"]
    # Only auth is provisioned; the other aliases run on SnapStart.
    provisioned = [
        lid
        for lid, res in synth.of_type("AWS::Lambda::Alias").items()
        if "ProvisionedConcurrencyConfig" in res["Properties"]
    ]
    assert provisioned == [alias_id]
    assert len(synth.of_type("AWS::ApplicationAutoScaling::ScalableTarget")) == 1


def test_scaling_bounds_and_target_come_from_context(tmp_path: Path) -> None:
    context = {
        "aws:cdk:bundling-stacks": [],
        "provisioned_concurrency_min": "3",
        "provisioned_concurrency_max": 8,
        "provisioned_concurrency_utilization": "0.6",
    }
    _, stack = build_app(context, outdir=str(tmp_path), nag=False)
    resources = Template.from_stack(stack).to_json()["Resources"]
    alias_id = stack.get_logical_id(stack.functions.aliases["auth"].node.default_child)  # type: ignore[arg-type]
    assert resources[alias_id]["Properties"]["ProvisionedConcurrencyConfig"] == {"ProvisionedConcurrentExecutions": 3}
    target, policy = _scaling_of(resources, alias_id)
    assert (target["MinCapacity"], target["MaxCapacity"]) == (3, 8)
    assert policy["TargetTrackingScalingPolicyConfiguration"]["TargetValue"] == 0.6
    with pytest.raises(ValueError, match="min <= max"):
        ScalingConfig(provisioned_concurrency_min=5, provisioned_concurrency_max=4)
    with pytest.raises(ValueError, match="between 0 and 1"):
        ScalingConfig(provisioned_concurrency_utilization=70)


def test_provisioned_concurrency_beyond_the_reservation_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="exceeds its reserved concurrency"):
        build_app(
            {"aws:cdk:bundling-stacks": [], "provisioned_concurrency_max": function("auth").reserved + 1},
            outdir=str(tmp_path),
            nag=False,
        )


# --- throttling ----------------------------------------------------------------------------------


def test_the_stage_and_each_throttled_route_have_their_limits(synth: Synthesized) -> None:  # noqa: F811
    [stage] = synth.of_type("AWS::ApiGateway::Stage").values()
    settings = {(s["ResourcePath"], s["HttpMethod"]): s for s in stage["Properties"]["MethodSettings"]}
    stage_wide = settings[("/*", "*")]
    assert (stage_wide["ThrottlingRateLimit"], stage_wide["ThrottlingBurstLimit"]) == (
        THROTTLE_RATE_PER_SECOND,
        THROTTLE_BURST,
    )
    throttled = [decl for decl in api_functions() if decl.throttle is not None]
    assert {"auth", "health", "search"} <= {decl.name for decl in throttled}
    for decl in throttled:
        assert decl.throttle is not None
        rate, burst = decl.throttle
        assert rate < THROTTLE_RATE_PER_SECOND and burst < THROTTLE_BURST
        for prefix in decl.routes:
            for path in (prefix, f"{prefix}/{{proxy+}}"):
                setting = settings[("/~1" + path[1:].replace("/", "~1"), "*")]
                assert (setting["ThrottlingRateLimit"], setting["ThrottlingBurstLimit"]) == (rate, burst), path
                assert setting["MetricsEnabled"] is True and setting["DataTraceEnabled"] is False
    unthrottled = [decl for decl in api_functions() if decl.throttle is None]
    for decl in unthrottled:
        assert all("~1".join(decl.routes[0][1:].split("/")) not in path for path, _ in settings), decl.name


def test_websocket_connects_have_a_lower_limit_than_the_stage(synth: Synthesized) -> None:  # noqa: F811
    [stage] = synth.of_type("AWS::ApiGatewayV2::Stage").values()
    props = stage["Properties"]
    assert props["RouteSettings"] == {
        "$connect": {"ThrottlingRateLimit": WS_CONNECT_THROTTLE_RATE, "ThrottlingBurstLimit": WS_CONNECT_THROTTLE_BURST}
    }
    assert props["DefaultRouteSettings"]["ThrottlingRateLimit"] > WS_CONNECT_THROTTLE_RATE


def test_the_waf_still_guards_the_stage(synth: Synthesized) -> None:  # noqa: F811
    [association] = synth.of_type("AWS::WAFv2::WebACLAssociation").values()
    [stage_id] = synth.of_type("AWS::ApiGateway::Stage")
    assert stage_id in json.dumps(association["Properties"]["ResourceArn"])


# --- scaling events ------------------------------------------------------------------------------


def test_scaling_events_land_in_a_log_group_through_eventbridge(synth: Synthesized) -> None:  # noqa: F811
    scaling = synth.stack.scaling_log
    group_id = synth.logical_id(scaling.log_group)
    group = synth.resources[group_id]["Properties"]
    assert "/aws/events/" in json.dumps(group["LogGroupName"])
    rules = {
        name: synth.resources[synth.logical_id(rule)]["Properties"]
        for name, rule in (
            ("max", scaling.scaled_to_max),
            ("calls", scaling.api_calls),
        )
    }
    assert rules["max"]["EventPattern"] == {"source": [SCALING_EVENT_SOURCE], "detail-type": [SCALED_TO_MAX]}
    calls = rules["calls"]["EventPattern"]
    assert SCALING_EVENT_SOURCE in calls["source"] and "aws.lambda" in calls["source"]
    assert calls["detail-type"] == ["AWS API Call via CloudTrail"]
    assert "PutProvisionedConcurrencyConfig" in calls["detail"]["eventName"]
    for rule in rules.values():
        [target] = rule["Targets"]
        assert rule.get("EventBusName") is None  # the default bus, where AWS services put their events
        assert group_id in json.dumps(target["Arn"]) and ":log-group:" in json.dumps(target["Arn"])
    [policy] = synth.of_type("AWS::Logs::ResourcePolicy").values()
    document = (
        json.loads(policy["Properties"]["PolicyDocument"])
        if isinstance(policy["Properties"]["PolicyDocument"], str)
        else policy["Properties"]["PolicyDocument"]
    )
    text = json.dumps(document)
    assert "events.amazonaws.com" in text and "logs:PutLogEvents" in text and group_id in text
    # No Lambda-backed custom resource for the policy (CDK's CloudWatchLogGroup target adds one).
    assert not [lid for lid in synth.resources if "AWS679f53fac002430cb0da5b7982bd2287" in lid]


# --- the health canary ---------------------------------------------------------------------------


def test_a_python_synthetics_canary_gets_the_health_check_every_minute(synth: Synthesized) -> None:  # noqa: F811
    [canary] = synth.of_type("AWS::Synthetics::Canary").values()
    props = canary["Properties"]
    assert props["RuntimeVersion"].startswith("syn-python-selenium-")
    assert props["Schedule"]["Expression"] == "rate(1 minute)"
    assert props["Code"]["Handler"] == CANARY_HANDLER
    assert props["StartCanaryAfterCreation"] is True
    url = json.dumps(props["RunConfig"]["EnvironmentVariables"]["HEALTH_URL"])
    [rest_api_id] = synth.of_type("AWS::ApiGateway::RestApi")
    assert rest_api_id in url and HEALTH_PATH in url
    assert (CANARY_DIR / "python" / f"{CANARY_HANDLER.split('.')[0]}.py").is_file()


def test_health_down_is_the_canary_failing_three_runs_in_a_row(synth: Synthesized) -> None:  # noqa: F811
    alarms = _alarms(synth)
    [health] = [props for name, props in alarms.items() if name.startswith("health-down")]
    assert health["MetricName"] == "SuccessPercent" and health["Namespace"] == "CloudWatchSynthetics"
    assert health["ComparisonOperator"] == "LessThanThreshold" and health["Threshold"] == 100
    assert health["Period"] == 60 and health["EvaluationPeriods"] == health["DatapointsToAlarm"] == 3
    assert health["TreatMissingData"] == "breaching"  # a canary that stops running is down too
    # The old metric-math alarm on the health function is gone (replaced, not duplicated).
    assert not [props for props in alarms.values() if "unhealthy" in json.dumps(props.get("Metrics", []))]


# --- alarms --------------------------------------------------------------------------------------


def test_concurrency_near_each_reservation_and_the_unreserved_pool_alarms(synth: Synthesized) -> None:  # noqa: F811
    alarms = _alarms(synth)
    for decl in FUNCTIONS:
        props = alarms[f"concurrency-{decl.name}-over-Threshold"]
        assert props["MetricName"] == "ConcurrentExecutions" and props["Statistic"] == "Maximum"
        assert props["Threshold"] == pytest.approx(0.8 * decl.reserved)
        assert props["Dimensions"] == [
            {"Name": "FunctionName", "Value": {"Ref": props["Dimensions"][0]["Value"]["Ref"]}}
        ]
    [unreserved] = [p for name, p in alarms.items() if name.startswith("lambda-unreserved-concurrency")]
    assert unreserved["MetricName"] == "UnreservedConcurrentExecutions"
    assert unreserved["Threshold"] == pytest.approx(0.8 * (DEFAULT_ACCOUNT_CONCURRENCY - reserved_concurrency_total()))
    assert [name for name in alarms if name.startswith("lambda-concurrency")]


def test_provisioned_spillover_scaling_at_max_and_stage_throttles_alarm(synth: Synthesized) -> None:  # noqa: F811
    alarms = _alarms(synth)
    [spillover] = [p for name, p in alarms.items() if name.startswith("provisioned-auth-spillover")]
    assert spillover["MetricName"] == "ProvisionedConcurrencySpilloverInvocations"
    assert {d["Name"] for d in spillover["Dimensions"]} == {"FunctionName", "Resource"}
    [at_max] = [p for name, p in alarms.items() if name.startswith("scaling-at-max")]
    assert at_max["MetricName"] == "TriggeredRules" and at_max["Namespace"] == "AWS/Events"
    for kind in ("rest", "websocket"):
        [throttled] = [p for name, p in alarms.items() if name.startswith(f"{kind}-throttled")]
        assert throttled["Threshold"] == 0.05
        assert f"{kind.capitalize()}StageThrottled" in json.dumps(throttled["Metrics"])
    filters = [res for res in _monitoring(synth).values() if res["Type"] == "AWS::Logs::MetricFilter"]
    assert sorted(f["Properties"]["FilterPattern"] for f in filters) == ['{ $.status = "429" }'] * 2


def test_every_alarm_the_platform_names_itself_has_a_response_in_the_alarm_runbook(synth: Synthesized) -> None:  # noqa: F811
    """The nested stack's own alarms (``<name>-over/under-Threshold``): each matches a name in the
    runbook, where ``<...>`` stands for a function, bucket or API."""
    runbook = RUNBOOK.read_text()
    patterns = [
        re.compile(re.sub(r"<[^>]+>", "[A-Za-z0-9-]+", re.escape(token).replace(r"\<", "<").replace(r"\>", ">")))
        for token in re.findall(r"`([a-z][a-z0-9<>-]*)`", runbook)
    ]
    missing = []
    for name in _alarms(synth):
        match = re.fullmatch(r"(.+)-(?:over|under)-Threshold", name)
        if match and not any(p.fullmatch(match.group(1)) for p in patterns):
            missing.append(match.group(1))
    assert not missing, f"add these alarms to docs/runbooks/alarms.md: {sorted(missing)}"


def test_the_platform_stack_stays_under_cloudformations_resource_limit(synth: Synthesized) -> None:  # noqa: F811
    # Every stack's own count, with the margin the next features need: tests/infra/test_stack.py.
    parent = synth.merged.parent["Resources"]
    assert len(parent) < CFN_RESOURCE_LIMIT - 10, len(parent)
