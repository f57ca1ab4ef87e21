"""CDK template assertions: the synthesized stack deploys exactly what the catalogs declare.

Every expectation is derived from ``infra.catalog`` and ``agents_meetings.tables``; the stack is
synthesized once per module (without bundling the dependency layer) and inspected as CloudFormation.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from agents_meetings.tables import TABLES, table_spec
from aws_cdk.assertions import Annotations, Match, Template
from cfnlint.api import ManualArgs, lint_file

from infra.app import build_app
from infra.bundling import LAMBDA_PLATFORM, PipLayerBundler, pip_install_arguments, runtime_dependencies
from infra.catalog import EVENT_RULES, FUNCTIONS, SCHEDULES, api_functions, function, queue
from infra.constructs.api import route_segments
from infra.constructs.cache import uses_cache
from infra.stacks import MAX_STACK_RESOURCES, PlatformStack
from tests.infra.templates import MergedTemplates, merge, template_files

pytestmark = pytest.mark.infra

Resource = dict[str, Any]

# W3005 (redundant DependsOn) is how CDK writes role -> function dependencies; harmless.
CFN_LINT_IGNORED = ["W3005"]


@dataclass(frozen=True)
class Synthesized:
    """The platform stack with its nested stacks (``PlatformStack.parts``) merged into one view.

    ``resources``/``template``/``outputs``: parent and nested resources, references across the
    stacks resolved (tests/infra/templates.py); ``merged.stack_of`` says where each resource lives,
    ``merged.nested[name]`` is each nested stack's own template.
    """

    stack: PlatformStack
    template: Template
    resources: dict[str, Resource]
    outputs: dict[str, Any]
    outdir: Path
    merged: MergedTemplates

    def of_type(self, cfn_type: str) -> dict[str, Resource]:
        return {lid: res for lid, res in self.resources.items() if res["Type"] == cfn_type}

    def one(self, cfn_type: str, where: Callable[[Resource], bool]) -> tuple[str, Resource]:
        found = [(lid, res) for lid, res in self.of_type(cfn_type).items() if where(res)]
        assert len(found) == 1, f"expected one {cfn_type} matching, found {[lid for lid, _ in found]}"
        return found[0]

    def logical_id(self, construct: cdk.CfnElement | Any) -> str:
        element = construct if isinstance(construct, cdk.CfnElement) else construct.node.default_child
        return cdk.Stack.of(element).get_logical_id(element)

    def resolve(self, value: Any) -> Any:
        """``value`` (tokens) as the merged view spells it, from whichever stack owns it."""
        return self.merged.resolve(self.stack.resolve(value))

    def function_id(self, name: str) -> str:
        return self.logical_id(self.stack.functions.functions[name])

    def alias_id(self, name: str) -> str:
        """The ``live`` alias callers invoke (SnapStart and provisioned concurrency live there)."""
        return self.logical_id(self.stack.functions.aliases[name])


@pytest.fixture(scope="module")
def synth(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    outdir = tmp_path_factory.mktemp("cdk.out")
    # An empty bundling-stacks list is what `cdk synth --exclusively` uses to skip asset bundling.
    app, stack = build_app({"aws:cdk:bundling-stacks": []}, outdir=str(outdir))
    # Raises if cdk-nag (a validation plugin) reports anything not acknowledged, in any stack, and
    # if a stack has more than CloudFormation's 500 resources.
    app.synth()
    merged = merge(stack, stack.parts)
    return Synthesized(
        stack=stack,
        template=merged.template(),
        resources=merged.resources,
        outputs=merged.outputs,
        outdir=outdir,
        merged=merged,
    )


def _env(resource: Resource) -> dict[str, Any]:
    variables: dict[str, Any] = resource["Properties"].get("Environment", {}).get("Variables", {})
    return variables


def _lambda_by_service(synth: Synthesized, name: str) -> tuple[str, Resource]:
    return synth.one("AWS::Lambda::Function", lambda res: _env(res).get("POWERTOOLS_SERVICE_NAME") == name)


def _policy_documents_of_function(synth: Synthesized, name: str) -> str:
    role = synth.stack.functions.functions[name].role
    assert role is not None
    role_id = synth.logical_id(role.node.default_child)
    policies = [
        res
        for res in synth.of_type("AWS::IAM::Policy").values()
        if {"Ref": role_id} in res["Properties"].get("Roles", [])
    ]
    assert policies, f"no IAM policy attached to {name}'s role"
    return json.dumps([policy["Properties"]["PolicyDocument"] for policy in policies])


def _notification_environment(synth: Synthesized, decl: Any) -> dict[str, Any]:
    """What NotificationDelivery adds: the WebSocket URLs and the URLs of queues the function sends to."""
    delivery = synth.stack.notifications
    environment: dict[str, Any] = {}
    if decl.manages_websocket:
        environment["WEBSOCKET_MANAGEMENT_URL"] = synth.resolve(delivery.management_url)
    if decl.name == "notifications":
        environment["WEBSOCKET_URL"] = synth.resolve(delivery.url)
    for name in decl.sends_to_queues:
        environment[queue(name).url_variable] = {"Ref": synth.logical_id(delivery.queues[name])}
    return environment


# --- functions ------------------------------------------------------------------------------


@pytest.mark.parametrize("decl", [d for d in FUNCTIONS if d.container_image is None], ids=lambda decl: decl.name)
def test_every_declared_function_is_deployed_as_declared(synth: Synthesized, decl: Any) -> None:
    logical_id, resource = _lambda_by_service(synth, decl.name)
    props = resource["Properties"]
    assert logical_id == synth.function_id(decl.name)
    assert props["Runtime"] == "python3.12"
    assert props["Architectures"] == ["arm64"]
    assert props["Handler"] == "handler.handler"
    assert props["MemorySize"] == decl.memory_mb
    assert props["Timeout"] == decl.timeout_seconds
    assert props["TracingConfig"] == {"Mode": "Active"}
    assert props["Layers"] == [
        {"Ref": synth.logical_id(synth.stack.layers.core)},
        {"Ref": synth.logical_id(synth.stack.layers.deps)},
    ]
    config = synth.stack.config
    assert _env(resource) == {
        "ENVIRONMENT": config.stage,
        "TABLE_PREFIX": config.table_prefix,
        "EVENT_BUS_NAME": config.event_bus_name,
        **({"JWT_SECRET_ARN": {"Ref": synth.logical_id(synth.stack.jwt_secret)}} if "jwt" in decl.secrets else {}),
        **(
            {"LIVEKIT_API_SECRET_ARN": {"Ref": synth.logical_id(synth.stack.livekit_secret)}}
            if "livekit" in decl.secrets
            else {}
        ),
        **(
            {"FEDERATION_SECRET_ARN": {"Ref": synth.logical_id(synth.stack.federation_secret)}}
            if "federation" in decl.secrets
            else {}
        ),
        **(
            {"DATA_KEY_ID": {"Fn::GetAtt": [synth.logical_id(synth.stack.data.key), "Arn"]}}
            if decl.encrypts_secrets
            else {}
        ),
        # The cache (tests/infra/test_cache_stack.py): REDIS_* where the function writes a cached table.
        **(synth.resolve(synth.stack.cache.environment) if uses_cache(decl) else {"CACHE_BACKEND": "none"}),
        "JWT_ISSUER": config.jwt_issuer,
        "JWT_AUDIENCE": config.jwt_audience,
        "POWERTOOLS_SERVICE_NAME": decl.name,
        "POWERTOOLS_METRICS_NAMESPACE": "AgentsMeetings",
        "POWERTOOLS_LOG_LEVEL": "INFO",
        **({"LIVEKIT_URL": config.livekit_url} if config.livekit_url else {}),
        **({"LIVEKIT_API_KEY": config.livekit_api_key} if config.livekit_api_key else {}),
        **({"EMAIL_FROM": config.email_from} if config.email_from else {}),
        **({"PUBLIC_APP_URL": config.public_app_url} if config.public_app_url else {}),
        **(
            {
                "SEARCH_BACKEND": "opensearch",
                "OPENSEARCH_URL": {
                    "Fn::Join": [
                        "",
                        ["https://", {"Fn::GetAtt": [synth.logical_id(synth.stack.search.domain), "DomainEndpoint"]}],
                    ]
                },
            }
            if decl.searches
            else {}
        ),
        **(
            {"MATERIALS_BUCKET_NAME": {"Ref": synth.logical_id(synth.stack.search.materials_bucket)}}
            if decl.materials_bucket
            else {}
        ),
        **(
            {"S3_BUCKET_NAME": {"Ref": synth.logical_id(synth.stack.recordings_bucket)}}
            if decl.uses_recordings_bucket or decl.reads_recordings
            else {}
        ),
        **_notification_environment(synth, decl),
    }
    log_group_id = props["LoggingConfig"]["LogGroup"]["Ref"]
    assert synth.resources[log_group_id]["Properties"]["RetentionInDays"] == 30


def test_functions_are_exactly_the_catalog(synth: Synthesized) -> None:
    services = sorted(
        str(_env(res).get("POWERTOOLS_SERVICE_NAME"))
        for res in synth.of_type("AWS::Lambda::Function").values()
        # CDK's own custom-resource handler (the recordings bucket's EventBridge notifications) aside.
        if "Custom::S3BucketNotifications" not in res["Properties"].get("Description", "")
    )
    assert services == sorted(decl.name for decl in FUNCTIONS)


def test_only_functions_that_seal_secrets_may_use_the_data_key_and_only_sms_senders_publish_to_sns(
    synth: Synthesized,
) -> None:
    key = synth.logical_id(synth.stack.data.key)
    for decl in FUNCTIONS:
        policies = json.loads(_policy_documents_of_function(synth, decl.name))
        statements = [statement for document in policies for statement in document["Statement"]]
        on_key = {
            action
            for statement in statements
            if {"Fn::GetAtt": [key, "Arn"]} in _as_list(statement["Resource"])
            for action in _as_list(statement["Action"])
        }
        if decl.encrypts_secrets:
            assert {"kms:Decrypt", "kms:GenerateDataKey*"} <= on_key, decl.name
        publishes_sms = any("sns:Publish" in _as_list(statement["Action"]) for statement in statements)
        assert publishes_sms == decl.sends_sms, decl.name
    assert function("auth").encrypts_secrets and function("auth").sends_sms


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def test_least_privilege_health_cannot_reach_the_meetings_table(synth: Synthesized) -> None:
    meetings_table = synth.logical_id(synth.stack.data.tables["meetings"])
    health = _policy_documents_of_function(synth, "health")
    assert meetings_table not in health
    assert "events:PutEvents" not in health  # health does not publish events
    # The same check passes for the right reason: the meetings function does get that table.
    assert meetings_table in _policy_documents_of_function(synth, "meetings")


@pytest.mark.parametrize("decl", FUNCTIONS, ids=lambda decl: decl.name)
def test_each_function_gets_only_its_declared_tables(synth: Synthesized, decl: Any) -> None:
    policies = _policy_documents_of_function(synth, decl.name)
    for logical_name, table in synth.stack.data.tables.items():
        granted = synth.logical_id(table) in policies
        wanted = logical_name in decl.read_write_tables or logical_name in decl.read_tables
        assert granted == wanted, f"{decl.name} on {logical_name}"
    assert ("events:PutEvents" in policies) == decl.publishes_events
    # A publisher can park refused events in the outbox (EventBridgePublisher._park).
    assert (synth.logical_id(synth.stack.data.tables["event-outbox"]) in policies) == (
        decl.publishes_events or "event-outbox" in decl.tables
    )
    secrets = (
        ("jwt", synth.stack.jwt_secret),
        ("livekit", synth.stack.livekit_secret),
        ("federation", synth.stack.federation_secret),
    )
    for name, secret in secrets:
        assert (synth.logical_id(secret) in policies) == (name in decl.secrets), f"{decl.name} reads {name}"


def test_read_only_tables_get_no_write_actions(synth: Synthesized) -> None:
    health = _policy_documents_of_function(synth, "health")
    assert synth.logical_id(synth.stack.data.tables["users"]) in health
    assert "dynamodb:PutItem" not in health and "dynamodb:UpdateItem" not in health


def test_jwt_signing_key_is_a_generated_64_character_secret(synth: Synthesized) -> None:
    synth.template.has_resource_properties(
        "AWS::SecretsManager::Secret",
        {"GenerateSecretString": Match.object_like({"PasswordLength": 64, "ExcludePunctuation": True})},
    )
    # The JWT key, the LiveKit API secret, federated sign-in's secrets and the Deepgram key.
    assert len(synth.of_type("AWS::SecretsManager::Secret")) == 4


def test_deepgram_key_is_a_secret_for_the_transcription_task(synth: Synthesized) -> None:
    secrets = synth.of_type("AWS::SecretsManager::Secret")
    assert any("Deepgram" in str(props.get("Properties", {}).get("Description", "")) for props in secrets.values())


# --- layers -----------------------------------------------------------------------------------


def test_layers_target_the_function_runtime(synth: Synthesized) -> None:
    layers = synth.of_type("AWS::Lambda::LayerVersion")
    assert len(layers) == 2
    for layer in layers.values():
        assert layer["Properties"]["CompatibleRuntimes"] == ["python3.12"]
        assert layer["Properties"]["CompatibleArchitectures"] == ["arm64"]


def test_dependency_layer_was_not_bundled_in_tests(synth: Synthesized) -> None:
    assert synth.stack.layers.deps_bundler.runs == 0


def test_dependency_layer_installs_pyproject_pins_for_lambda() -> None:
    pins = runtime_dependencies()
    assert any(pin.startswith("pynamodb==") for pin in pins)
    arguments = pip_install_arguments(pins, "/out/python")
    assert arguments[arguments.index("--platform") + 1] == LAMBDA_PLATFORM
    assert arguments[arguments.index("--python-version") + 1] == "3.12"
    assert "--only-binary=:all:" in arguments
    assert arguments[-len(pins) :] == list(pins)


def test_local_bundler_declines_when_pip_cannot_run(tmp_path: Path) -> None:
    bundler = PipLayerBundler(["example==1.0"], python=str(tmp_path / "no-such-python"))
    assert bundler.try_bundle(str(tmp_path), image=cdk.DockerImage.from_registry("example")) is False
    assert bundler.runs == 1


# --- data -------------------------------------------------------------------------------------


def _key_schema(partition: Any, sort: Any) -> list[dict[str, str]]:
    schema = [{"AttributeName": partition.name, "KeyType": "HASH"}]
    if sort is not None:
        schema.append({"AttributeName": sort.name, "KeyType": "RANGE"})
    return schema


@pytest.mark.parametrize("model", TABLES, ids=lambda model: model.logical_name)
def test_every_table_matches_its_model(synth: Synthesized, model: Any) -> None:
    spec = table_spec(model)
    name = f"{synth.stack.config.table_prefix}{spec.logical_name}"
    _, table = synth.one("AWS::DynamoDB::Table", lambda res: res["Properties"]["TableName"] == name)
    props = table["Properties"]
    assert props["KeySchema"] == _key_schema(spec.partition_key, spec.sort_key)
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert props["SSESpecification"]["SSEEnabled"] is True
    assert props["SSESpecification"]["SSEType"] == "KMS"
    assert props["SSESpecification"]["KMSMasterKeyId"] == {
        "Fn::GetAtt": [synth.logical_id(synth.stack.data.key), "Arn"]
    }
    if spec.ttl_attribute:
        assert props["TimeToLiveSpecification"] == {"AttributeName": spec.ttl_attribute, "Enabled": True}
    else:
        assert "TimeToLiveSpecification" not in props

    indexes = {index["IndexName"]: index for index in props.get("GlobalSecondaryIndexes", [])}
    assert sorted(indexes) == sorted(index.name for index in spec.indexes)
    for index in spec.indexes:
        assert indexes[index.name]["KeySchema"] == _key_schema(index.partition_key, index.sort_key)
        assert indexes[index.name]["Projection"] == {"ProjectionType": "ALL"}

    declared_types = {spec.partition_key.name: spec.partition_key.type}
    for key in (spec.sort_key, *(k for index in spec.indexes for k in (index.partition_key, index.sort_key))):
        if key is not None:
            declared_types[key.name] = key.type
    attribute_types = {a["AttributeName"]: a["AttributeType"] for a in props["AttributeDefinitions"]}
    assert attribute_types == declared_types
    # prod keeps its data when the stack goes (dev is the only stage that may delete it).
    assert table["DeletionPolicy"] == ("Delete" if synth.stack.config.stage == "dev" else "Retain")


def test_tables_are_exactly_the_models(synth: Synthesized) -> None:
    assert len(synth.of_type("AWS::DynamoDB::Table")) == len(TABLES)


def test_data_key_rotates(synth: Synthesized) -> None:
    synth.template.has_resource_properties("AWS::KMS::Key", {"EnableKeyRotation": True})


# --- API ----------------------------------------------------------------------------------------


def _resource_paths(synth: Synthesized) -> dict[str, str]:
    """Logical id of every AWS::ApiGateway::Resource -> its full path, from PathPart + ParentId."""
    resources = synth.of_type("AWS::ApiGateway::Resource")

    def path_of(logical_id: str) -> str:
        props = resources[logical_id]["Properties"]
        parent = props["ParentId"]
        prefix = "" if "Fn::GetAtt" in parent else path_of(parent["Ref"])
        return f"{prefix}/{props['PathPart']}"

    return {logical_id: path_of(logical_id) for logical_id in resources}


def _methods_by_path(synth: Synthesized) -> dict[str, dict[str, Resource]]:
    paths = _resource_paths(synth)
    methods: dict[str, dict[str, Resource]] = {}
    for method in synth.of_type("AWS::ApiGateway::Method").values():
        resource_id = method["Properties"]["ResourceId"]
        path = "/" if "Fn::GetAtt" in resource_id else paths[resource_id["Ref"]]
        methods.setdefault(path, {})[method["Properties"]["HttpMethod"]] = method
    return methods


ROUTES = [(decl.name, prefix) for decl in api_functions() for prefix in decl.routes]


@pytest.mark.parametrize(("name", "prefix"), ROUTES, ids=[prefix for _, prefix in ROUTES])
def test_every_route_prefix_proxies_to_its_function(synth: Synthesized, name: str, prefix: str) -> None:
    methods = _methods_by_path(synth)
    alias_id = synth.alias_id(name)
    for path in (prefix, f"{prefix}/{{proxy+}}"):
        assert path in methods, f"{path} is not an API Gateway resource"
        integration = methods[path]["ANY"]["Properties"]["Integration"]
        assert integration["Type"] == "AWS_PROXY"
        assert alias_id in json.dumps(integration["Uri"]), f"{path} does not invoke {name}:live"
        assert methods[path]["ANY"]["Properties"]["AuthorizationType"] == "NONE"
        assert "OPTIONS" in methods[path], f"{path} has no CORS preflight"


def test_api_has_no_resources_beyond_the_catalog(synth: Synthesized) -> None:
    expected: set[str] = set()
    for _, prefix in ROUTES:
        segments = route_segments(prefix)
        expected.update("/" + "/".join(segments[: i + 1]) for i in range(len(segments)))
        expected.add(f"{prefix}/{{proxy+}}")
    assert set(_resource_paths(synth).values()) == expected


def test_route_prefixes_must_be_literal_paths() -> None:
    assert route_segments("/api/v1/admin/users") == ["api", "v1", "admin", "users"]
    for bad in ("api/v1", "/api/v1/", "/api//v1", "/api/{id}"):
        with pytest.raises(ValueError):
            route_segments(bad)


def test_api_stage_traces_logs_and_throttles(synth: Synthesized) -> None:
    _, stage = synth.one("AWS::ApiGateway::Stage", lambda res: True)
    props = stage["Properties"]
    assert props["StageName"] == synth.stack.config.api_stage
    assert props["TracingEnabled"] is True
    assert "DestinationArn" in props["AccessLogSetting"]
    # The stage-wide setting; the routes' own throttles are in tests/infra/test_scaling_stack.py.
    [settings] = [s for s in props["MethodSettings"] if s["ResourcePath"] == "/*"]
    assert settings["HttpMethod"] == "*"
    assert settings["MetricsEnabled"] is True
    assert settings["ThrottlingRateLimit"] == 300
    assert settings["ThrottlingBurstLimit"] == 600
    assert all(s["DataTraceEnabled"] is False for s in props["MethodSettings"])


# --- events ---------------------------------------------------------------------------------------


def _arn_of(logical_id: str) -> dict[str, Any]:
    return {"Fn::GetAtt": [logical_id, "Arn"]}


@pytest.mark.parametrize("decl", EVENT_RULES, ids=lambda decl: decl.name)
def test_every_event_rule_feeds_its_worker_through_a_queue_with_a_dlq(synth: Synthesized, decl: Any) -> None:
    bus_id = synth.logical_id(synth.stack.event_bus.bus)
    _, rule = synth.one("AWS::Events::Rule", lambda res: res["Properties"].get("EventPattern") == decl.pattern())
    assert rule["Properties"]["EventBusName"] == {"Ref": bus_id}
    [target] = rule["Properties"]["Targets"]
    queue_id = target["Arn"]["Fn::GetAtt"][0]
    queue = synth.resources[queue_id]
    assert queue["Type"] == "AWS::SQS::Queue"
    assert queue["Properties"]["SqsManagedSseEnabled"] is True
    redrive = queue["Properties"]["RedrivePolicy"]
    assert redrive["maxReceiveCount"] == decl.max_receive_count
    dlq_id = redrive["deadLetterTargetArn"]["Fn::GetAtt"][0]
    assert target["DeadLetterConfig"] == {"Arn": _arn_of(dlq_id)}

    _, mapping = synth.one(
        "AWS::Lambda::EventSourceMapping", lambda res: res["Properties"]["EventSourceArn"] == _arn_of(queue_id)
    )
    # The worker's live alias: "<function name>:live".
    invoked = json.dumps(mapping["Properties"]["FunctionName"])
    assert synth.alias_id(decl.target) in invoked and ":live" in invoked
    assert mapping["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    # Visibility must outlast the worker's timeout, or messages are redelivered mid-flight.
    assert queue["Properties"]["VisibilityTimeout"] >= 6 * function(decl.target).timeout


def test_every_queue_enforces_tls(synth: Synthesized) -> None:
    queue_ids = set(synth.of_type("AWS::SQS::Queue"))
    enforced: set[str] = set()
    for policy in synth.of_type("AWS::SQS::QueuePolicy").values():
        statements = policy["Properties"]["PolicyDocument"]["Statement"]
        if any(
            s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}} for s in statements
        ):
            enforced.update(queue["Ref"] for queue in policy["Properties"]["Queues"])
    assert enforced == queue_ids


@pytest.mark.parametrize("decl", SCHEDULES, ids=lambda decl: decl.name)
def test_every_schedule_invokes_its_job_with_a_dlq(synth: Synthesized, decl: Any) -> None:
    _, rule = synth.one("AWS::Events::Rule", lambda res: res["Properties"].get("ScheduleExpression") == decl.expression)
    [target] = rule["Properties"]["Targets"]
    assert target["Arn"] == {"Ref": synth.alias_id(decl.target)}
    assert "DeadLetterConfig" in target
    _, config = synth.one(
        "AWS::Lambda::EventInvokeConfig",
        lambda res: res["Properties"]["FunctionName"] == {"Ref": synth.function_id(decl.target)},
    )
    assert config["Properties"]["DestinationConfig"] == {
        "OnFailure": {"Destination": target["DeadLetterConfig"]["Arn"]}
    }
    # The failure destination is the alias's (the qualifier is the live alias's name).
    assert synth.alias_id(decl.target) in json.dumps(config["Properties"]["Qualifier"])


def test_every_dead_letter_queue_has_a_depth_alarm(synth: Synthesized) -> None:
    dlqs = synth.stack.events.dead_letter_queues
    assert set(dlqs) == {rule.name for rule in EVENT_RULES} | {f"{s.name}-schedule" for s in SCHEDULES}
    alarmed = {
        alarm["Properties"]["Dimensions"][0]["Value"]["Fn::GetAtt"][0]
        for alarm in synth.of_type("AWS::CloudWatch::Alarm").values()
        if alarm["Properties"]["MetricName"] == "ApproximateNumberOfMessagesVisible"
        and alarm["Properties"]["ComparisonOperator"] == "GreaterThanThreshold"
        and alarm["Properties"]["Threshold"] == 0
    }
    pipeline_dlqs = synth.stack.pipeline.start_dead_letter_queues.values()
    work_dlqs = synth.stack.notifications.dead_letter_queues  # queues functions send to directly
    assert alarmed == {synth.logical_id(dlq) for dlq in [*dlqs.values(), *pipeline_dlqs, *work_dlqs.values()]}


def test_bus_is_named_and_archived_for_thirty_days(synth: Synthesized) -> None:
    synth.template.has_resource_properties("AWS::Events::EventBus", {"Name": synth.stack.config.event_bus_name})
    synth.template.has_resource_properties(
        "AWS::Events::Archive",
        {"RetentionDays": 30, "SourceArn": _arn_of(synth.logical_id(synth.stack.event_bus.bus))},
    )


# --- outputs and checks ---------------------------------------------------------------------------


def test_outputs_name_the_api_bus_and_tables(synth: Synthesized) -> None:
    outputs = synth.outputs
    assert "ApiUrl" in outputs
    assert outputs["EventBusName"]["Value"] == {"Ref": synth.logical_id(synth.stack.event_bus.bus)}
    table_outputs = {key for key in outputs if key.endswith("TableName")}
    assert len(table_outputs) == len(TABLES)


def test_cdk_nag_reports_nothing_unacknowledged(synth: Synthesized) -> None:
    # cdk-nag 3 runs as a CDK validation plugin: its findings land in validation-report.json
    # (the fixture's synth would have raised on any), not in annotations.
    report = json.loads((synth.outdir / "validation-report.json").read_text())
    [nag] = [plugin for plugin in report["pluginReports"] if plugin["pluginName"] == "AwsSolutions"]
    assert nag["conclusion"] == "success"
    assert nag["violations"] == []
    for acknowledged in nag.get("suppressedViolations", []):
        assert len(acknowledged["reason"]) > 40, f"{acknowledged['ruleName']} needs a written reason"
    # The parent's artifact carries its nested stacks' annotations too (they have no artifact).
    assert Annotations.from_stack(synth.stack).find_error("*", Match.any_value()) == []


def _lint(template_path: Path) -> Iterator[str]:
    for match in lint_file(template_path, config=ManualArgs(ignore_checks=CFN_LINT_IGNORED, regions=["us-east-1"])):
        yield str(match)


# --- search & discovery (spec 1.3) --------------------------------------------------------------


def test_search_domain_is_encrypted_https_only_and_open_to_the_search_roles_alone(synth: Synthesized) -> None:
    _, domain = synth.one("AWS::OpenSearchService::Domain", lambda res: True)
    props = domain["Properties"]
    assert props["EncryptionAtRestOptions"] == {"Enabled": True}
    assert props["NodeToNodeEncryptionOptions"] == {"Enabled": True}
    assert props["DomainEndpointOptions"]["EnforceHTTPS"] is True
    assert props["DomainEndpointOptions"]["TLSSecurityPolicy"] == "Policy-Min-TLS-1-2-2019-07"
    statements = props["AccessPolicies"]["Statement"]
    principals = {json.dumps(p, sort_keys=True) for s in statements for p in _as_list(s["Principal"]["AWS"])}
    searchers = [decl.name for decl in FUNCTIONS if decl.searches]
    assert sorted(searchers) == ["search", "search-indexer"]
    expected = set()
    for name in searchers:
        role = synth.stack.functions.functions[name].role
        assert role is not None
        expected.add(json.dumps({"Fn::GetAtt": [synth.logical_id(role), "Arn"]}, sort_keys=True))
    assert principals == expected
    assert all(s["Effect"] == "Allow" for s in statements)


def test_only_search_functions_may_call_the_domain(synth: Synthesized) -> None:
    callers = set()
    for policy in synth.of_type("AWS::IAM::Policy").values():
        actions = json.dumps(policy["Properties"]["PolicyDocument"])
        if '"es:ESHttp' in actions:
            callers.update(role["Ref"] for role in policy["Properties"]["Roles"])
    expected = {
        synth.logical_id(synth.stack.functions.functions[decl.name].role) for decl in FUNCTIONS if decl.searches
    }
    assert callers == expected


def test_materials_bucket_is_private_encrypted_and_logged(synth: Synthesized) -> None:
    bucket = synth.resources[synth.logical_id(synth.stack.search.materials_bucket)]["Properties"]
    assert bucket["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    assert bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"] == {
        "SSEAlgorithm": "AES256"
    }
    assert bucket["LoggingConfiguration"]["DestinationBucketName"] == {
        "Ref": synth.logical_id(synth.stack.search.access_logs)
    }


def test_search_indexer_rule_covers_every_indexed_event(synth: Synthesized) -> None:
    from agents_meetings.search.events import INDEXED_EVENTS

    rule = next(decl for decl in EVENT_RULES if decl.target == "search-indexer")
    assert set(rule.detail_types) == set(INDEXED_EVENTS)


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def test_cfn_lint_is_clean(synth: Synthesized) -> None:
    # The parent and the nested stacks but the observability one (tests/infra/test_observability.py).
    for name, template_path in template_files(synth.outdir, synth.stack).items():
        if name.startswith("Observability/"):
            continue
        assert list(_lint(template_path)) == [], name or "parent"


def test_the_platform_is_split_into_nested_stacks_where_nothing_points_back(synth: Synthesized) -> None:
    assert set(synth.stack.parts) == {"Network", "Api"}
    where = synth.merged.stack_of
    assert where[synth.logical_id(synth.stack.cache.vpc.node.default_child)] == "Network"
    assert where[synth.logical_id(synth.stack.cache.cache)] == "Network"
    assert where[synth.logical_id(synth.stack.api.rest_api)] == "Api"
    assert where[synth.logical_id(synth.stack.firewall.web_acl)] == "Api"
    assert where[synth.logical_id(synth.stack.health.canary)] == "Api"
    # Data and functions stay in the parent, with everything that the functions depend on.
    assert where[synth.function_id("auth")] == where[synth.alias_id("auth")] == ""
    assert all(where[lid] == "" for lid in synth.of_type("AWS::DynamoDB::Table"))
    # The observability nested stack is built last: it watches what the others hold.
    constructs = [child for child in synth.stack.node.children if not isinstance(child, cdk.CfnElement)]
    assert constructs[-1] is synth.stack.observability, [child.node.id for child in constructs[-3:]]


def test_every_stack_stays_well_under_cloudformations_resource_limit(synth: Synthesized) -> None:
    counts = {"AgentsMeetingsPlatform": len(synth.merged.parent["Resources"])}
    counts.update({name: len(template["Resources"]) for name, template in synth.merged.nested.items()})
    assert set(counts) == {"AgentsMeetingsPlatform", "Network", "Api", "Observability/Monitoring"}
    over = {name: count for name, count in counts.items() if count > MAX_STACK_RESOURCES}
    assert not over, (
        f"{over} has more than {MAX_STACK_RESOURCES} resources (CloudFormation refuses a stack past 500; "
        f"all stacks: {counts}). Move a whole concern (one construct of infra/constructs) into a nested stack "
        "of its own with PlatformStack._nested (infra/stacks.py): one whose resources nothing in the parent "
        "that it references points back to, as Network and Api are; see the README's Infrastructure section."
    )


def test_api_gateway_may_invoke_each_api_function_alias_through_one_permission(synth: Synthesized) -> None:
    rest_api_id = synth.logical_id(synth.stack.api.rest_api)
    permissions = {
        lid: res["Properties"]
        for lid, res in synth.of_type("AWS::Lambda::Permission").items()
        if res["Properties"]["Principal"] == "apigateway.amazonaws.com"
    }
    by_function: dict[str, list[str]] = {}
    for lid, props in permissions.items():
        by_function.setdefault(json.dumps(props["FunctionName"], sort_keys=True), []).append(lid)
    for decl in api_functions():
        alias = json.dumps({"Ref": synth.alias_id(decl.name)}, sort_keys=True)
        [permission_id] = by_function.pop(alias, [])
        assert synth.merged.stack_of[permission_id] == "Api", decl.name
        props = permissions[permission_id]
        assert props["Action"] == "lambda:InvokeFunction"
        source = json.dumps(props["SourceArn"])
        # This API's methods, any stage and path: arn:...:execute-api:<region>:<account>:<api-id>/*/*/*
        assert rest_api_id in source and source.endswith('"/*/*/*"]]}'), (decl.name, source)
    assert [lid for lids in by_function.values() for lid in lids if "WebSocket" not in lid] == []


def test_federation_context_reaches_the_functions_only_when_set() -> None:
    from infra.stacks import PlatformConfig

    assert "LDAP_URL" not in PlatformConfig().function_environment()
    configured = PlatformConfig(ldap_url="ldaps://dc.corp.example.com", oauth_google_client_id="client-1")
    environment = configured.function_environment()
    assert environment["LDAP_URL"] == "ldaps://dc.corp.example.com"
    assert environment["OAUTH_GOOGLE_CLIENT_ID"] == "client-1"
    assert not any("SECRET" in name or "PASSWORD" in name for name in environment)  # secrets never in env


# --- recordings bucket (issue 4) -------------------------------------------------------------------


def test_recordings_bucket_is_private_encrypted_versioned_tiered_and_sends_events(synth: Synthesized) -> None:
    bucket_id = synth.logical_id(synth.stack.recordings_bucket)
    properties = synth.resources[bucket_id]["Properties"]
    assert properties["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    [encryption] = properties["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert encryption["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    assert properties["VersioningConfiguration"] == {"Status": "Enabled"}
    [notifications] = [
        res
        for res in synth.of_type("Custom::S3BucketNotifications").values()
        if res["Properties"]["BucketName"] == {"Ref": bucket_id}
    ]
    assert notifications["Properties"]["NotificationConfiguration"] == {"EventBridgeConfiguration": {}}
    rules = {rule["Id"]: rule for rule in properties["LifecycleConfiguration"]["Rules"]}
    classes = [t["StorageClass"] for t in rules["recordings-tiers"]["Transitions"]]
    assert classes == ["STANDARD_IA", "GLACIER_IR"]
    assert rules["noncurrent-versions"]["NoncurrentVersionExpiration"]["NoncurrentDays"] == 30
    policy = synth.template.to_json()["Resources"]
    ssl = [
        res
        for res in policy.values()
        if res["Type"] == "AWS::S3::BucketPolicy" and res["Properties"]["Bucket"] == {"Ref": bucket_id}
    ]
    assert ssl and "aws:SecureTransport" in json.dumps(ssl[0]["Properties"]["PolicyDocument"])


def test_only_functions_that_use_the_recordings_bucket_get_it(synth: Synthesized) -> None:
    bucket_id = synth.logical_id(synth.stack.recordings_bucket)
    for decl in FUNCTIONS:
        _, resource = _lambda_by_service(synth, decl.name)
        documents = _policy_documents_of_function(synth, decl.name)
        if decl.uses_recordings_bucket:
            assert _env(resource)["S3_BUCKET_NAME"] == {"Ref": bucket_id}, decl.name
            assert bucket_id in documents and "s3:PutObject" in documents and "s3:DeleteObject" in documents
        elif decl.reads_recordings:
            assert _env(resource)["S3_BUCKET_NAME"] == {"Ref": bucket_id}, decl.name
            on_bucket = [
                statement
                for document in json.loads(documents)
                for statement in document["Statement"]
                if bucket_id in json.dumps(statement["Resource"])
            ]
            actions = {action for statement in on_bucket for action in _as_list(statement["Action"])}
            assert "s3:GetObject*" in actions, decl.name
            assert not any(action.startswith(("s3:Put", "s3:Delete")) for action in actions), decl.name
        else:
            assert "S3_BUCKET_NAME" not in _env(resource), decl.name
            assert bucket_id not in documents, decl.name
