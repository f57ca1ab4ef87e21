"""CDK template assertions for the cache (spec 2.1): ElastiCache Serverless (Valkey) with TLS in a
VPC the stack creates, endpoints, security groups, and exactly the functions that write what the
cache holds placed in the VPC with REDIS_*."""

from __future__ import annotations

import json
from typing import Any

import pytest

from infra.app import build_app
from infra.catalog import FUNCTIONS
from infra.constructs.cache import INTERFACE_ENDPOINTS, REDIS_PORT, uses_cache
from tests.infra.templates import platform_resources

pytestmark = pytest.mark.infra


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    outdir = tmp_path_factory.mktemp("cdk.out")
    app, stack = build_app({"aws:cdk:bundling-stacks": []}, outdir=str(outdir))
    app.synth()
    report = json.loads((outdir / "validation-report.json").read_text())
    [nag] = [plugin for plugin in report["pluginReports"] if plugin["pluginName"] == "AwsSolutions"]
    assert nag["violations"] == [], nag["violations"]
    # The cache is in the Network nested stack, the functions in the parent: both, merged.
    return platform_resources(stack)


def of_type(resources: dict[str, Any], cfn_type: str) -> dict[str, Any]:
    return {lid: res for lid, res in resources.items() if res["Type"] == cfn_type}


def test_a_serverless_valkey_cache_in_isolated_subnets(template: dict[str, Any]) -> None:
    [cache] = of_type(template, "AWS::ElastiCache::ServerlessCache").values()
    props = cache["Properties"]
    assert props["Engine"] == "valkey"
    assert len(props["SubnetIds"]) == 2 and len(props["SecurityGroupIds"]) == 1
    # Serverless caches encrypt in transit always; the client side is REDIS_TLS_ENABLED (below).


def test_a_vpc_with_gateway_and_interface_endpoints(template: dict[str, Any]) -> None:
    assert len(of_type(template, "AWS::EC2::VPC")) == 1
    endpoints = of_type(template, "AWS::EC2::VPCEndpoint").values()
    kinds = [e["Properties"].get("VpcEndpointType", "Gateway") for e in endpoints]
    assert kinds.count("Gateway") == 2  # DynamoDB and S3
    assert kinds.count("Interface") == len(INTERFACE_ENDPOINTS)
    assert len(of_type(template, "AWS::EC2::NatGateway")) == 1


def test_only_the_functions_allowed_in_reach_the_cache_port(template: dict[str, Any]) -> None:
    ingress = [
        r["Properties"]
        for r in of_type(template, "AWS::EC2::SecurityGroupIngress").values()
        if r["Properties"].get("FromPort") == REDIS_PORT
    ]
    assert len(ingress) == 1 and "SourceSecurityGroupId" in ingress[0]


def test_functions_that_write_cached_tables_are_in_the_vpc_with_redis_settings(template: dict[str, Any]) -> None:
    functions = {
        res["Properties"].get("Environment", {}).get("Variables", {}).get("POWERTOOLS_SERVICE_NAME"): res["Properties"]
        for res in of_type(template, "AWS::Lambda::Function").values()
    }
    expected_in = {decl.name for decl in FUNCTIONS if uses_cache(decl)}
    assert {"auth", "users", "meetings"} <= expected_in
    for decl in FUNCTIONS:
        props = functions.get(decl.name)
        if props is None:
            continue
        env = props["Environment"]["Variables"]
        if decl.name in expected_in:
            assert "VpcConfig" in props, decl.name
            assert env["CACHE_BACKEND"] == "redis" and env["REDIS_CLUSTER_ENABLED"] == "true"
            assert env["REDIS_TLS_ENABLED"] == "true" and "REDIS_HOST" in env
        else:
            assert "VpcConfig" not in props, decl.name
            assert env["CACHE_BACKEND"] == "none", decl.name
