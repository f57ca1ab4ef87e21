"""CDK: the WAF web ACL in front of the REST API (spec 2.3's outer layer) and the rate-limit tables."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk import Stack

from infra.app import build_app
from infra.catalog import api_functions
from infra.constructs.api import THROTTLE_BURST, THROTTLE_RATE_PER_SECOND
from infra.constructs.waf import WAF_EVALUATION_WINDOW_SECONDS, WAF_RATE_LIMIT_PER_IP
from infra.stacks import PlatformStack
from tests.infra.templates import platform_resources

pytestmark = pytest.mark.infra


@pytest.fixture(scope="module")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> tuple[PlatformStack, dict[str, Any]]:
    app, stack = build_app({"aws:cdk:bundling-stacks": []}, outdir=str(tmp_path_factory.mktemp("cdk.out")))
    app.synth()  # raises on any unacknowledged cdk-nag finding
    return stack, platform_resources(stack)  # the parent and its nested stacks (WAF is in Api)


def _of_type(resources: dict[str, Any], cfn_type: str) -> dict[str, Any]:
    return {lid: res for lid, res in resources.items() if res["Type"] == cfn_type}


def test_a_regional_web_acl_has_a_per_ip_rate_based_rule(synthesized: Any) -> None:
    _, resources = synthesized
    (acl,) = _of_type(resources, "AWS::WAFv2::WebACL").values()
    properties = acl["Properties"]
    assert properties["Scope"] == "REGIONAL" and properties["DefaultAction"] == {"Allow": {}}
    (rule,) = properties["Rules"]
    statement = rule["Statement"]["RateBasedStatement"]
    assert statement == {
        "AggregateKeyType": "IP",
        "Limit": WAF_RATE_LIMIT_PER_IP,
        "EvaluationWindowSec": WAF_EVALUATION_WINDOW_SECONDS,
    }
    block = rule["Action"]["Block"]["CustomResponse"]
    assert block["ResponseCode"] == 429
    assert {"Name": "Retry-After", "Value": str(WAF_EVALUATION_WINDOW_SECONDS)} in block["ResponseHeaders"]
    assert rule["VisibilityConfig"]["CloudWatchMetricsEnabled"] is True


def test_the_web_acl_is_associated_with_the_rest_api_stage(synthesized: Any) -> None:
    stack, resources = synthesized
    (association,) = _of_type(resources, "AWS::WAFv2::WebACLAssociation").values()
    acl_id = next(iter(_of_type(resources, "AWS::WAFv2::WebACL")))
    assert association["Properties"]["WebACLArn"] == {"Fn::GetAtt": [acl_id, "Arn"]}
    stage = stack.api.rest_api.deployment_stage.node.default_child
    stage_id = Stack.of(stage).get_logical_id(stage)
    rendered = str(association["Properties"]["ResourceArn"])
    assert stage_id in rendered or stack.api.rest_api.deployment_stage.stage_name in rendered
    assert stage_id in association.get("DependsOn", [])


def test_the_stage_still_throttles_every_caller(synthesized: Any) -> None:
    _, resources = synthesized
    (stage,) = _of_type(resources, "AWS::ApiGateway::Stage").values()
    settings = stage["Properties"]["MethodSettings"][0]
    assert (settings["ThrottlingRateLimit"], settings["ThrottlingBurstLimit"]) == (
        THROTTLE_RATE_PER_SECOND,
        THROTTLE_BURST,
    )


def test_rate_limit_tables_exist_with_ttl_and_api_functions_may_use_them(synthesized: Any) -> None:
    stack, resources = synthesized
    tables = stack.data.tables
    counters = resources[stack.get_logical_id(tables["rate-limit-counters"].node.default_child)]
    assert counters["Properties"]["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    assert stack.get_logical_id(tables["rate-limit-config"].node.default_child) in resources
    for decl in api_functions():
        if decl.name == "health":  # liveness probes are not rate limited (EXEMPT_PATHS)
            continue
        assert "rate-limit-counters" in decl.read_write_tables, decl.name
        assert "rate-limit-config" in (*decl.read_write_tables, *decl.read_tables), decl.name
