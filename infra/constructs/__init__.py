"""CDK constructs of the platform, one per concern, composed by ``infra.stacks.PlatformStack``.

Every construct builds from the declarations in ``infra.catalog`` and ``agents_meetings.tables``;
none of them spells out a table, route or event rule of its own.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from aws_cdk import Acknowledgment, RemovalPolicy, Validations
from constructs import IConstruct


def pascal_case(name: str) -> str:
    """``"user-emails"`` -> ``"UserEmails"``: readable construct ids (CloudFormation drops hyphens)."""
    return "".join(part[:1].upper() + part[1:] for part in re.split(r"[^A-Za-z0-9]+", name) if part)


def removal_policy_for(stage: str) -> RemovalPolicy:
    """Stateful resources survive a stack deletion everywhere but in ``dev``."""
    return RemovalPolicy.DESTROY if stage == "dev" else RemovalPolicy.RETAIN


# cdk-nag 3 reports through CDK's policy validation under its pack name; a qualified id lets CDK
# record each acknowledgment, with its reason, in the synthesized validation report.
NAG_PACK = "AwsSolutions"


def acknowledge_nag(scope: IConstruct, findings: Mapping[str, str]) -> None:
    """Acknowledge cdk-nag findings (``"IAM5[Resource::*]"`` -> written reason) on ``scope`` and below."""
    Validations.of(scope).acknowledge(
        *(Acknowledgment(id=f"{NAG_PACK}::{NAG_PACK}-{finding}", reason=reason) for finding, reason in findings.items())
    )
