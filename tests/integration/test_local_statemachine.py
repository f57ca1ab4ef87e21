"""The local runtime's Step Functions mechanism: ASL files executed by moto with Lambda tasks routed
to in-process Python handlers, built by the same loader (placeholders -> function ARNs) CDK mirrors."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from agents_meetings.settings import get_settings, reset_settings

from infra.catalog import StateMachineDecl
from infra.local.embedded_aws import EmbeddedAws
from infra.local.functions import FunctionRegistry
from infra.local.provision import Provisioner, load_definition
from infra.local.runtime import free_port

pytestmark = pytest.mark.integration

DEFINITIONS = Path(__file__).parent / "statemachines"


class TransientError(Exception):
    pass


@pytest.fixture(scope="module")
def embedded() -> Iterator[tuple[EmbeddedAws, FunctionRegistry, dict[str, int]]]:
    calls = {"flaky": 0}
    registry = FunctionRegistry()

    def flaky(event: dict[str, Any], context: Any) -> dict[str, Any]:
        calls["flaky"] += 1
        if calls["flaky"] % 3 != 0:  # fails twice, then succeeds: only a working Retry gets through
            raise TransientError("try again")
        return {"attempts": calls["flaky"]}

    def explode(event: dict[str, Any], context: Any) -> dict[str, Any]:
        raise RuntimeError("ffmpeg exploded")

    registry.register("proof-prepare", lambda e, c: {**e, "items": [1, 2, 3]})
    registry.register("proof-flaky", flaky)
    registry.register("proof-square", lambda e, c: e * e)
    registry.register("proof-explode", explode)
    aws = EmbeddedAws(free_port(), None, registry)
    aws.start()
    yield aws, registry, calls
    aws.stop()


def _machine(aws: EmbeddedAws) -> tuple[Any, str]:
    reset_settings()
    provisioner = Provisioner(get_settings(), aws.url)
    decl = StateMachineDecl(
        name="proof",
        definition_file="proof.asl.json",
        functions={
            "PrepareArn": "proof-prepare",
            "FlakyArn": "proof-flaky",
            "SquareArn": "proof-square",
            "ExplodeArn": "proof-explode",
        },
    )
    arn = provisioner.state_machine(decl, definitions_dir=DEFINITIONS)
    return provisioner.states, arn


def _run(states: Any, arn: str, payload: dict[str, Any], deadline_s: float = 60) -> dict[str, Any]:
    # moto names an unnamed execution "None": a second one would collide, so always name it.
    execution = states.start_execution(stateMachineArn=arn, name=str(uuid.uuid4()), input=json.dumps(payload))[
        "executionArn"
    ]
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        described = states.describe_execution(executionArn=execution)
        if described["status"] != "RUNNING":
            return dict(described)
        time.sleep(0.1)
    raise AssertionError("execution did not finish in time")


def test_asl_executes_lambda_tasks_with_retry_choice_and_map(embedded: Any) -> None:
    aws, _, calls = embedded
    states, arn = _machine(aws)
    calls["flaky"] = 0
    result = _run(states, arn, {"mode": "ok"})
    assert result["status"] == "SUCCEEDED", result
    output = json.loads(result["output"])
    assert output["squares"] == [1, 4, 9]
    assert output["flaky"] == {"attempts": 3}  # two failures retried, the third attempt succeeded


def test_catch_routes_a_failed_task_to_the_failure_branch(embedded: Any) -> None:
    aws, _, calls = embedded
    states, arn = _machine(aws)
    calls["flaky"] = 0
    result = _run(states, arn, {"mode": "fail"})
    assert result["status"] == "SUCCEEDED", result
    output = json.loads(result["output"])
    assert output["outcome"] == "failed"
    assert "ffmpeg exploded" in json.dumps(output["error"])


def test_unresolved_placeholder_is_refused(tmp_path: Path) -> None:
    (tmp_path / "bad.asl.json").write_text(
        '{"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": "${Missing}", "End": true}}}'
    )
    with pytest.raises(ValueError, match="unresolved placeholder"):
        load_definition(tmp_path / "bad.asl.json", {})


def test_function_registry_reports_errors_in_lambda_shape() -> None:
    registry = FunctionRegistry()

    def boom(event: dict[str, Any], context: Any) -> None:
        raise TransientError("nope")

    registry.register("boom", boom)
    payload, errored, _ = registry.invoke_as_lambda("boom", "{}")
    assert errored
    assert json.loads(payload)["errorType"] == "TransientError"
    assert boto3  # boto3 is what the interpreter uses to call back into the embedded Lambda
