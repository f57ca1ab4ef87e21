"""CDK constructs of the platform, one per concern, composed by ``infra.stacks.PlatformStack``.

Every construct builds from the declarations in ``infra.catalog`` and ``agents_meetings.tables``;
none of them spells out a table, route or event rule of its own.
"""

from __future__ import annotations

import re

from aws_cdk import Acknowledgment, RemovalPolicy, Validations
from constructs import IConstruct


def pascal_case(name: str) -> str:
    """``"user-emails"`` -> ``"UserEmails"``: readable construct ids (CloudFormation drops hyphens)."""
    return "".join(part[:1].upper() + part[1:] for part in re.split(r"[^A-Za-z0-9]+", name) if part)


def removal_policy_for(stage: str) -> RemovalPolicy:
    """Stateful resources survive a stack deletion everywhere but in ``dev``."""
    return RemovalPolicy.DESTROY if stage == "dev" else RemovalPolicy.RETAIN


def acknowledge(scope: IConstruct, rules: dict[str, str]) -> None:
    """Acknowledge cdk-nag findings (rule id -> written reason) on ``scope`` and its children."""
    Validations.of(scope).acknowledge(*(Acknowledgment(id=rule_id, reason=reason) for rule_id, reason in rules.items()))
