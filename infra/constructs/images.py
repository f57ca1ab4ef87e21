"""Lambda functions shipped as container images (``FunctionDecl.container_image``).

The recording pipeline needs ffmpeg and ffprobe: Debian's ffmpeg with its libraries is far beyond
what fits beside the dependency layer in Lambda's 250 MB unzipped limit (README, "Recording
post-processing"), while an image may be 10 GB. The image is built from the repository root with
only the files the Dockerfile copies in the build context.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aws_cdk import Duration, IgnoreMode, Size
from aws_cdk import aws_ecr_assets as ecr_assets
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra.catalog import IMAGES_DIR, REPO_ROOT, FunctionDecl
from infra.constructs import pascal_case

# The build context is the repository root minus everything but what the Dockerfiles copy.
IMAGE_CONTEXT_EXCLUDES = [
    "*",
    "!pyproject.toml",
    "!layers/core/python",
    "!functions",
    "!infra/images",
    "!system-packages.txt",
    "!scripts/system-packages.sh",
    "**/__pycache__",
    "**/*.pyc",
]


def container_image_function(
    scope: Construct,
    decl: FunctionDecl,
    environment: Mapping[str, str],
    log_group: logs.ILogGroup,
    **in_vpc: Any,
) -> lambda_.DockerImageFunction:
    assert decl.container_image is not None
    dockerfile = IMAGES_DIR / decl.container_image
    if not dockerfile.is_file():
        raise FileNotFoundError(f"function {decl.name!r} names image {dockerfile}, which does not exist")
    return lambda_.DockerImageFunction(
        scope,
        pascal_case(decl.name),
        description=decl.description or decl.name,
        code=lambda_.DockerImageCode.from_image_asset(
            str(REPO_ROOT),
            file=str(dockerfile.relative_to(REPO_ROOT)),
            platform=ecr_assets.Platform.LINUX_ARM64,
            exclude=IMAGE_CONTEXT_EXCLUDES,
            ignore_mode=IgnoreMode.DOCKER,
        ),
        architecture=lambda_.Architecture.ARM_64,
        memory_size=decl.memory,
        timeout=Duration.seconds(decl.timeout),
        reserved_concurrent_executions=decl.reserved,
        ephemeral_storage_size=Size.mebibytes(decl.ephemeral_storage_mb),
        tracing=lambda_.Tracing.ACTIVE,
        log_group=log_group,
        **in_vpc,
        environment={
            **environment,
            "POWERTOOLS_SERVICE_NAME": decl.name,
            "POWERTOOLS_METRICS_NAMESPACE": "AgentsMeetings",
            "POWERTOOLS_LOG_LEVEL": "INFO",
        },
    )
