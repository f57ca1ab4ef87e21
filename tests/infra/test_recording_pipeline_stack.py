"""CDK: the recording pipeline's container-image function (ffmpeg), its state machine built from the
ASL file, and the S3 Object Created rule that starts it."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import Stack

from infra.app import build_app
from infra.catalog import STATE_MACHINES, function
from infra.stacks import PlatformStack
from tests.infra.templates import platform_resources

pytestmark = pytest.mark.infra

DECL = function("recording-pipeline")
MACHINE = next(m for m in STATE_MACHINES if m.name == "recording-pipeline")


@pytest.fixture(scope="module")
def synth(tmp_path_factory: pytest.TempPathFactory) -> tuple[PlatformStack, dict[str, Any], Path]:
    outdir = tmp_path_factory.mktemp("cdk.out")
    app, stack = build_app({"aws:cdk:bundling-stacks": []}, outdir=str(outdir))
    app.synth()  # raises on any unacknowledged cdk-nag finding
    return stack, platform_resources(stack), outdir


def _id(stack: PlatformStack, construct: Any) -> str:
    element = construct.node.default_child
    return Stack.of(element).get_logical_id(element)


def test_pipeline_function_is_an_arm64_image_with_room_for_three_hours(synth: Any) -> None:
    stack, resources, _ = synth
    props = resources[_id(stack, stack.functions.functions["recording-pipeline"])]["Properties"]
    assert props["PackageType"] == "Image"
    assert "Layers" not in props and "Runtime" not in props
    assert props["Architectures"] == ["arm64"]
    assert props["MemorySize"] == DECL.memory_mb
    assert props["Timeout"] == DECL.timeout_seconds <= 900  # Lambda's cap
    assert props["EphemeralStorage"] == {"Size": 10240}
    assert props["TracingConfig"] == {"Mode": "Active"}
    variables = props["Environment"]["Variables"]
    assert variables["S3_BUCKET_NAME"] == {"Ref": _id(stack, stack.recordings_bucket)}
    assert variables["POWERTOOLS_SERVICE_NAME"] == "recording-pipeline"


def test_image_is_built_from_the_dockerfile_with_a_small_context(synth: Any) -> None:
    _, _, outdir = synth
    assets = json.loads(next(outdir.glob("*.assets.json")).read_text())
    (image,) = assets["dockerImages"].values()
    source = image["source"]
    assert (source["dockerFile"], source["platform"]) == ("infra/images/pipeline/Dockerfile", "linux/arm64")
    context = outdir / source["directory"]
    assert sorted(p.name for p in context.iterdir()) == [
        "functions",
        "infra",
        "layers",
        "pyproject.toml",
        "scripts",
        "system-packages.txt",
    ]
    assert sorted(p.name for p in (context / "scripts").iterdir()) == ["system-packages.sh"]
    assert (context / "functions/pipeline/handler.py").is_file()
    assert (context / "layers/core/python/agents_meetings/media/processing.py").is_file()
    dockerfile = (context / "infra/images/pipeline/Dockerfile").read_text()
    # The image installs the `image` set of the one declared list, which names ffmpeg.
    assert "system-packages.sh image" in dockerfile
    image_set = subprocess.run(
        ["bash", str(context / "scripts/system-packages.sh"), "--list", "image"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert "ffmpeg" in image_set
    size = sum(p.stat().st_size for p in context.rglob("*") if p.is_file())
    assert size < 5_000_000  # no virtualenv, caches or local data in the build context


def test_state_machine_is_the_asl_file_with_the_function_substituted(synth: Any) -> None:
    stack, resources, _ = synth
    machine = stack.pipeline.state_machines["recording-pipeline"]
    props = resources[_id(stack, machine)]["Properties"]
    assert json.loads(props["DefinitionString"]) == json.loads(MACHINE.template())
    fn_id = _id(stack, stack.functions.functions["recording-pipeline"])
    assert props["DefinitionSubstitutions"] == {"PipelineFunctionArn": {"Fn::GetAtt": [fn_id, "Arn"]}}
    assert props["LoggingConfiguration"]["Level"] == "ALL"
    assert props["TracingConfiguration"] == {"Enabled": True}
    role_policies = json.dumps(
        [
            r["Properties"]["PolicyDocument"]
            for r in resources.values()
            if r["Type"] == "AWS::IAM::Policy"
            and {"Ref": props["RoleArn"]["Fn::GetAtt"][0]} in r["Properties"]["Roles"]
        ]
    )
    assert "lambda:InvokeFunction" in role_policies and fn_id in role_policies


def test_manifest_creation_starts_the_state_machine(synth: Any) -> None:
    stack, resources, _ = synth
    machine_id = _id(stack, stack.pipeline.state_machines["recording-pipeline"])
    rules = [
        r
        for r in resources.values()
        if r["Type"] == "AWS::Events::Rule"
        and any(t["Arn"] == {"Ref": machine_id} for t in r["Properties"].get("Targets", []))
    ]
    (rule,) = rules
    props = rule["Properties"]
    assert "EventBusName" not in props  # S3 sends to the default bus
    assert props["EventPattern"] == {
        "source": ["aws.s3"],
        "detail-type": ["Object Created"],
        "detail": {
            "bucket": {"name": [{"Ref": _id(stack, stack.recordings_bucket)}]},
            "object": {"key": [{"wildcard": "recordings/*/manifest.json"}]},
        },
    }
    (target,) = props["Targets"]
    dlq_id = _id(stack, stack.pipeline.start_dead_letter_queues["recording-pipeline"])
    assert target["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": [dlq_id, "Arn"]}}
    assert target["RetryPolicy"]["MaximumRetryAttempts"] >= 2


def test_recordings_bucket_sends_events_and_is_private(synth: Any) -> None:
    stack, resources, _ = synth
    bucket_id = _id(stack, stack.recordings_bucket)
    props = resources[bucket_id]["Properties"]
    assert props["PublicAccessBlockConfiguration"]["BlockPublicAcls"] is True
    # CDK sets EventBridge notifications through its bucket-notifications custom resource.
    notifications = [r["Properties"] for r in resources.values() if r["Type"] == "Custom::S3BucketNotifications"]
    assert any(
        n["BucketName"] == {"Ref": bucket_id} and "EventBridgeConfiguration" in n["NotificationConfiguration"]
        for n in notifications
    )


def test_failures_raise_alarms(synth: Any) -> None:
    stack, resources, _ = synth
    assert set(stack.pipeline.alarms) == {"recording-pipeline-failed", "recording-pipeline-start"}
    metrics = {r["Properties"].get("MetricName") for r in resources.values() if r["Type"] == "AWS::CloudWatch::Alarm"}
    assert "ExecutionsFailed" in metrics
