"""How the Python dependency layer is built: pyproject's ``[project].dependencies`` for Lambda's platform.

The list in pyproject.toml is the only list: the developer's virtualenv installs it and this module
pip-installs the same pins as manylinux aarch64 wheels into a layer, on the host and without Docker.
"""

from __future__ import annotations

import hashlib
import json
import shlex
import subprocess
import sys
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import jsii
from aws_cdk import aws_lambda

from infra.catalog import REPO_ROOT

PYPROJECT = REPO_ROOT / "pyproject.toml"
LAMBDA_PYTHON_VERSION = "3.12"
LAMBDA_PLATFORM = "manylinux2014_aarch64"
# Used only when local bundling declines (returns False); needs a Docker engine.
DOCKER_FALLBACK_IMAGE = "public.ecr.aws/sam/build-python3.12"


def runtime_dependencies(pyproject: Path = PYPROJECT) -> tuple[str, ...]:
    """The pinned requirements the Lambda functions import, as pyproject.toml declares them."""
    with pyproject.open("rb") as stream:
        project = tomllib.load(stream)["project"]
    return tuple(project["dependencies"])


def pip_install_arguments(dependencies: Sequence[str], target: str) -> list[str]:
    """``pip install`` arguments that fetch wheels for Lambda (cp312, arm64) whatever the host is."""
    return [
        "install",
        "--target",
        target,
        "--platform",
        LAMBDA_PLATFORM,
        "--implementation",
        "cp",
        "--python-version",
        LAMBDA_PYTHON_VERSION,
        # Cross-platform installs cannot build sdists: every dependency must ship a wheel.
        "--only-binary=:all:",
        "--disable-pip-version-check",
        "--no-input",
        "--quiet",
        *dependencies,
    ]


def dependencies_fingerprint(dependencies: Sequence[str]) -> str:
    """Asset hash of the layer: changes exactly when the pins or the target platform change."""
    payload = json.dumps(
        {"dependencies": list(dependencies), "platform": LAMBDA_PLATFORM, "python": LAMBDA_PYTHON_VERSION},
        sort_keys=True,
    )
    return hashlib.sha256(payload.encode()).hexdigest()


@jsii.implements(cdk.ILocalBundling)
class PipLayerBundler:
    """Local bundling of the dependency layer: ``pip install`` into ``<output>/python`` (layer layout)."""

    def __init__(self, dependencies: Sequence[str], python: str = sys.executable) -> None:
        self.dependencies = tuple(dependencies)
        self.python = python
        # How many times CDK asked for a bundle; tests assert 0 when bundling is skipped.
        self.runs = 0

    def try_bundle(self, output_dir: str, *, image: cdk.DockerImage, **options: Any) -> bool:
        self.runs += 1
        command = [self.python, "-m", "pip", *pip_install_arguments(self.dependencies, f"{output_dir}/python")]
        try:
            subprocess.run(command, check=True)  # noqa: S603 - fixed argv, no shell
        except (OSError, subprocess.CalledProcessError) as error:
            # False is ILocalBundling's contract for "could not": CDK then tries the Docker image.
            print(f"local bundling of the dependency layer failed ({error}); trying Docker", file=sys.stderr)
            return False
        return True


def dependency_layer_code(dependencies: Sequence[str] | None = None) -> tuple[aws_lambda.Code, PipLayerBundler]:
    """Layer code for ``dependencies`` (default: pyproject's), and the bundler CDK will call."""
    pins = tuple(dependencies) if dependencies is not None else runtime_dependencies()
    bundler = PipLayerBundler(pins)
    docker_command = f"pip {shlex.join(pip_install_arguments(pins, '/asset-output/python'))}"
    code = aws_lambda.Code.from_asset(
        # The source directory is not read (the command installs from the index); pyproject.toml's
        # folder is the honest origin. A custom hash keeps CDK from fingerprinting that whole tree.
        str(REPO_ROOT),
        asset_hash_type=cdk.AssetHashType.CUSTOM,
        asset_hash=dependencies_fingerprint(pins),
        bundling=cdk.BundlingOptions(
            image=cdk.DockerImage.from_registry(DOCKER_FALLBACK_IMAGE),
            command=["bash", "-c", docker_command],
            platform="linux/arm64",
            local=bundler,
        ),
    )
    return code, bundler
