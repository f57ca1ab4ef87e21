"""`make bench` runs offline: every benchmark under the loopback guard, AWS set up before any client."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from bench.__main__ import BENCHMARKS
from infra.catalog import REPO_ROOT

pytestmark = pytest.mark.integration

HELPERS = {"__init__", "__main__", "environment", "timing"}


def bench_environment() -> dict[str, str]:
    """A developer's shell: no AWS endpoint; the benchmarks set up everything else themselves."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_ENDPOINT_URL")}
    env["PYTHONPATH"] = os.pathsep.join([str(REPO_ROOT / "layers" / "core" / "python"), str(REPO_ROOT)])
    return env


def run_bench(*args: str, script: str | None = None) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-c", script] if script else [sys.executable, "-m", "bench", *args]
    return subprocess.run(
        command, cwd=REPO_ROOT, env=bench_environment(), capture_output=True, text=True, timeout=240, check=False
    )


def test_every_benchmark_module_runs_from_python_m_bench_under_the_guard() -> None:
    modules = {path.stem for path in Path(REPO_ROOT, "bench").glob("*.py")} - HELPERS
    assert modules == set(BENCHMARKS)


@pytest.mark.slow
def test_api_overhead_and_rate_limit_run_offline_with_their_aws_in_moto() -> None:
    """api_overhead's set-up signs in, which opens a session: that write went to DynamoDB in AWS."""
    completed = run_bench("--quick", "--only", "api_overhead,rate_limit", "--iterations", "20")
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    assert "AWS calls made: 0" in completed.stdout
    assert "network: loopback only; nothing tried to reach beyond it" in completed.stdout
    assert "loopback-guard:" not in completed.stderr


def test_a_benchmark_that_reaches_for_aws_fails_the_run_even_if_it_swallows_the_error() -> None:
    script = textwrap.dedent(
        """
        import contextlib, sys, types
        from bench import __main__ as entry, rate_limit

        def escaping_measure(**sizes):
            import boto3
            with contextlib.suppress(Exception):  # no moto, no endpoint: AWS itself
                boto3.client("dynamodb", region_name="us-east-1").list_tables()
            return types.SimpleNamespace(calls_per_request=1)

        rate_limit.measure = escaping_measure
        rate_limit.report = lambda result: "rate_limit: escaped"
        sys.exit(entry.main(["--only", "rate_limit"]))
        """
    )
    completed = run_bench(script=script)
    assert completed.returncode == 1, completed.stdout + completed.stderr
    assert "FAILED a benchmark tried to reach beyond loopback" in completed.stdout
    assert "name resolution to dynamodb.us-east-1.amazonaws.com:443 refused" in completed.stdout
