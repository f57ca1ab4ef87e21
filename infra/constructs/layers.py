"""The two Lambda layers every function carries: ``core`` (the agents_meetings package) and ``deps``.

``core`` ships ``layers/core`` as is (its ``python/`` folder is the layer layout Lambda expects);
``deps`` is built from pyproject.toml by ``infra.bundling``.
"""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from infra.bundling import LAMBDA_PYTHON_VERSION, dependency_layer_code
from infra.catalog import CORE_LAYER_DIR

RUNTIME = lambda_.Runtime.PYTHON_3_12
ARCHITECTURE = lambda_.Architecture.ARM_64
# Byte code and caches from local runs must not reach the asset (they also change its hash).
ASSET_EXCLUDES = ["**/__pycache__", "**/*.pyc", "**/.pytest_cache", "**/.mypy_cache"]

if RUNTIME.name != f"python{LAMBDA_PYTHON_VERSION}":
    raise RuntimeError(f"the deps layer is built for python{LAMBDA_PYTHON_VERSION}, functions run {RUNTIME.name}")


class SharedLayers(Construct):
    """``core`` and ``deps`` layer versions, in the order functions list them."""

    def __init__(self, scope: Construct, construct_id: str, *, removal_policy: RemovalPolicy) -> None:
        super().__init__(scope, construct_id)
        self.core = lambda_.LayerVersion(
            self,
            "Core",
            description="agents_meetings: domain models, services, adapters and HTTP app factory",
            code=lambda_.Code.from_asset(str(CORE_LAYER_DIR), exclude=ASSET_EXCLUDES),
            compatible_runtimes=[RUNTIME],
            compatible_architectures=[ARCHITECTURE],
            removal_policy=removal_policy,
        )
        deps_code, self.deps_bundler = dependency_layer_code()
        self.deps = lambda_.LayerVersion(
            self,
            "Deps",
            description="Third-party runtime dependencies pinned in pyproject.toml",
            code=deps_code,
            compatible_runtimes=[RUNTIME],
            compatible_architectures=[ARCHITECTURE],
            removal_policy=removal_policy,
        )

    @property
    def all(self) -> list[lambda_.ILayerVersion]:
        return [self.core, self.deps]
