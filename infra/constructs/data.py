"""DynamoDB tables of the platform and the KMS key that encrypts them.

One table per pynamodb model in ``agents_meetings.tables.TABLES``, built from ``table_spec()`` so the
deployed key schema is the one the code queries.
"""

from __future__ import annotations

from agents_meetings.tables import TABLES, KeySpec, TableSpec, table_spec
from aws_cdk import RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_kms as kms
from constructs import Construct

from infra.constructs import pascal_case

_ATTRIBUTE_TYPES: dict[str, dynamodb.AttributeType] = {
    "S": dynamodb.AttributeType.STRING,
    "N": dynamodb.AttributeType.NUMBER,
    "B": dynamodb.AttributeType.BINARY,
}


def _attribute(key: KeySpec) -> dynamodb.Attribute:
    return dynamodb.Attribute(name=key.name, type=_ATTRIBUTE_TYPES[key.type])


class DataTables(Construct):
    """Every platform table (``tables[logical_name]``), encrypted with one customer-managed key."""

    def __init__(
        self, scope: Construct, construct_id: str, *, table_prefix: str, removal_policy: RemovalPolicy
    ) -> None:
        super().__init__(scope, construct_id)
        self._table_prefix = table_prefix
        self._removal_policy = removal_policy
        # One key for all platform data: a single key policy to audit, and rotation on.
        self.key = kms.Key(
            self,
            "Key",
            description="Agents-Meetings platform data (DynamoDB tables)",
            enable_key_rotation=True,
            removal_policy=removal_policy,
        )
        self.tables: dict[str, dynamodb.Table] = {}
        for model in TABLES:
            spec = table_spec(model)
            self.tables[spec.logical_name] = self._table(spec)

    def table_name(self, logical_name: str) -> str:
        return f"{self._table_prefix}{logical_name}"

    def _table(self, spec: TableSpec) -> dynamodb.Table:
        retained = self._removal_policy == RemovalPolicy.RETAIN
        table = dynamodb.Table(
            self,
            pascal_case(spec.logical_name),
            # Explicit names: the functions find tables as TABLE_PREFIX + logical name (Settings).
            table_name=self.table_name(spec.logical_name),
            partition_key=_attribute(spec.partition_key),
            sort_key=_attribute(spec.sort_key) if spec.sort_key else None,
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            encryption=dynamodb.TableEncryption.CUSTOMER_MANAGED,
            encryption_key=self.key,
            time_to_live_attribute=spec.ttl_attribute,
            removal_policy=self._removal_policy,
            # Where the table is retained on stack deletion, a stray delete call cannot drop it either.
            deletion_protection=retained,
        )
        for index in spec.indexes:
            table.add_global_secondary_index(
                index_name=index.name,
                partition_key=_attribute(index.partition_key),
                sort_key=_attribute(index.sort_key) if index.sort_key else None,
                projection_type=dynamodb.ProjectionType.ALL,
            )
        return table
