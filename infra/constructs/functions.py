"""One Lambda function per ``infra.catalog.FUNCTIONS`` entry, each with its own least-privilege role.

Memory, timeout and reserved concurrency come from the declaration (its kind's ``FUNCTION_CLASSES``
values unless it overrides them). Every zip function publishes a version on each change and has a
``live`` alias on it, which API Gateway, the event-source mappings and the schedules invoke
(``invocable``): SnapStart (``warm_start="snapstart"``) works on published versions only, and
provisioned concurrency (``"provisioned"``) lives on the alias, scaled by Application Auto Scaling
target tracking on its utilisation (``ScalingConfig``: 0.7, 2 to 10 by default, from context).
Container-image functions (the recording pipeline) can have neither and are invoked unqualified.

Permissions follow the declaration: read/write or read-only on the tables a function lists (a
publisher also writes the event outbox), ``events:PutEvents`` only where it publishes, and read
access to exactly the secrets it names, whose ARNs it receives as ``<NAME>_ARN``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from agents_meetings.settings import Settings
from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from infra.catalog import FUNCTIONS, FunctionDecl, SecretName, check_concurrency_headroom
from infra.constructs import acknowledge_nag, pascal_case
from infra.constructs.cache import CacheNetwork, uses_cache
from infra.constructs.images import container_image_function
from infra.constructs.layers import ARCHITECTURE, ASSET_EXCLUDES, RUNTIME
from infra.constructs.scaling import SCALE_IN_COOLDOWN, SCALE_OUT_COOLDOWN, ScalingConfig
from infra.constructs.secrets import SECRETS

LIVE_ALIAS = "live"

METRICS_NAMESPACE = "AgentsMeetings"
# The variable agents_meetings.settings.Settings reads each secret's ARN from.
SECRET_ENVIRONMENT = {name: decl.arn_variable for name, decl in SECRETS.items()}

# cdk-nag findings every function has, and why each is accepted.
FUNCTION_FINDINGS = {
    "L1": "Pinned to Python 3.12 on purpose: the deps layer is built from cp312 wheels "
    "(infra/bundling.py LAMBDA_PYTHON_VERSION); a runtime upgrade moves both together, tested.",
    "IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]": "The "
    "AWS-maintained basic execution policy only allows writing CloudWatch Logs, which every function needs; "
    "retention is set on the function's own log group.",
    "IAM5[Resource::*]": "X-Ray (tracing ACTIVE): xray:PutTraceSegments and xray:PutTelemetryRecords have no "
    "resource-level permissions, AWS documents Resource '*' for them. Likewise sns:Publish to a phone number "
    "(SMS sign-in codes, only functions declared sends_sms).",
}
VPC_FINDINGS = {
    "IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole]": "The "
    "AWS-maintained VPC access policy (network interfaces) is what a function in the cache's VPC needs.",
}
TABLE_FINDINGS = {
    "IAM5[Action::kms:GenerateDataKey*]": "DynamoDB with a customer-managed key needs data-key generation for "
    "writes; the statement is limited to the one platform data key.",
    "IAM5[Action::kms:ReEncrypt*]": "Part of CDK's grant on the customer-managed table key; the statement is "
    "limited to the one platform data key, which only encrypts the platform tables.",
}

BUCKET_FINDINGS = {
    "IAM5[Action::s3:GetObject*]": "CDK's read grant on the recordings bucket (object, version, ACL, tagging "
    "reads); limited to that one bucket.",
    "IAM5[Action::s3:GetBucket*]": "CDK's read grant on the recordings bucket; limited to that one bucket.",
    "IAM5[Action::s3:List*]": "Listing a recording's objects (retention, tiers); limited to the recordings bucket.",
    "IAM5[Action::s3:DeleteObject*]": "Retention deletes a recording's objects; limited to the recordings bucket.",
    "IAM5[Action::s3:Abort*]": "Aborting failed multipart uploads of large media; limited to the recordings bucket.",
}


class PlatformFunctions(Construct):
    """``functions[decl.name]`` for every declared function; ``aliases[decl.name]`` (``live``) for every
    zip function; ``invocable[decl.name]``: what callers invoke (the alias, else the function)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        layers: list[lambda_.ILayerVersion],
        tables: Mapping[str, dynamodb.ITable],
        event_bus: events.IEventBus,
        secrets: Mapping[SecretName, secretsmanager.ISecret],
        environment: Mapping[str, str],
        removal_policy: RemovalPolicy,
        data_key: kms.IKey | None = None,
        recordings_bucket: s3.IBucket | None = None,
        scaling: ScalingConfig | None = None,
        cache: CacheNetwork | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self._cache = cache
        self.scaling = scaling or ScalingConfig()
        # Refuses reservations the account cannot hold (Lambda keeps 100 executions unreserved).
        self.unreserved_concurrency = check_concurrency_headroom(self.scaling.lambda_concurrency_limit)
        self.functions: dict[str, lambda_.Function] = {}
        self.aliases: dict[str, lambda_.Alias] = {}
        self.invocable: dict[str, lambda_.IFunction] = {}
        self.scalable: dict[str, lambda_.IScalableFunctionAttribute] = {}
        for decl in FUNCTIONS:
            secret_environment = {SECRET_ENVIRONMENT[name]: secrets[name].secret_arn for name in decl.secrets}
            if decl.uses_recordings_bucket or decl.reads_recordings:
                if recordings_bucket is None:
                    raise ValueError(f"function {decl.name!r} uses the recordings bucket: pass recordings_bucket")
                secret_environment["S3_BUCKET_NAME"] = recordings_bucket.bucket_name
            if decl.encrypts_secrets:
                if data_key is None:
                    raise ValueError(f"function {decl.name!r} encrypts secrets: pass data_key")
                secret_environment["DATA_KEY_ID"] = data_key.key_arn
            if cache is not None:
                # In the VPC with REDIS_* when it writes what the cache holds; else the cache is off.
                secret_environment.update(cache.environment if uses_cache(decl) else {"CACHE_BACKEND": "none"})
            function = self._function(decl, layers, {**environment, **secret_environment}, removal_policy)
            self._grant(decl, function, tables, event_bus, secrets)
            self._grant_secrets_at_rest(decl, function, data_key)
            self._grant_email(decl, function, environment)
            if decl.uses_recordings_bucket and recordings_bucket is not None:
                recordings_bucket.grant_read_write(function)
                recordings_bucket.grant_delete(function)
                bucket_id = Stack.of(function).get_logical_id(recordings_bucket.node.default_child)  # type: ignore[arg-type]
                acknowledge_nag(
                    function,
                    {
                        **BUCKET_FINDINGS,
                        f"IAM5[Resource::<{bucket_id}.Arn>/*]": "Recordings are many objects in one bucket; the "
                        "wildcard spans only the recordings bucket's keys.",
                    },
                )
            elif decl.reads_recordings and recordings_bucket is not None:
                # Search indexes the transcripts stored beside the recordings: read only.
                recordings_bucket.grant_read(function)
                bucket_id = Stack.of(function).get_logical_id(recordings_bucket.node.default_child)  # type: ignore[arg-type]
                acknowledge_nag(
                    function,
                    {
                        "IAM5[Action::s3:GetObject*]": BUCKET_FINDINGS["IAM5[Action::s3:GetObject*]"],
                        "IAM5[Action::s3:GetBucket*]": BUCKET_FINDINGS["IAM5[Action::s3:GetBucket*]"],
                        "IAM5[Action::s3:List*]": BUCKET_FINDINGS["IAM5[Action::s3:List*]"],
                        f"IAM5[Resource::<{bucket_id}.Arn>/*]": "Transcripts are objects of the recordings bucket.",
                    },
                )
            acknowledge_nag(function, FUNCTION_FINDINGS)
            if cache is not None and uses_cache(decl):
                acknowledge_nag(function, VPC_FINDINGS)
            self.functions[decl.name] = function
            self.invocable[decl.name] = self._live_alias(decl, function) if decl.container_image is None else function

    def _live_alias(self, decl: FunctionDecl, function: lambda_.Function) -> lambda_.Alias:
        """``live`` on the function's current version; with provisioned concurrency, scaled on use."""
        provisioned = decl.warm_start == "provisioned"
        alias = lambda_.Alias(
            self,
            f"{pascal_case(decl.name)}Live",
            alias_name=LIVE_ALIAS,
            version=function.current_version,
            description=f"What callers invoke: {decl.name}'s current published version",
            provisioned_concurrent_executions=self.scaling.provisioned_concurrency_min if provisioned else None,
        )
        if provisioned:
            if self.scaling.provisioned_concurrency_max > decl.reserved:
                raise ValueError(
                    f"function {decl.name!r}: provisioned concurrency up to {self.scaling.provisioned_concurrency_max} "
                    f"exceeds its reserved concurrency of {decl.reserved}"
                )
            # Target tracking scales out above the target and back in below it (scale-in stays on).
            target = alias.add_auto_scaling(
                min_capacity=self.scaling.provisioned_concurrency_min,
                max_capacity=self.scaling.provisioned_concurrency_max,
            )
            target.scale_on_utilization(
                utilization_target=self.scaling.provisioned_concurrency_utilization,
                scale_in_cooldown=SCALE_IN_COOLDOWN,
                scale_out_cooldown=SCALE_OUT_COOLDOWN,
            )
            self.scalable[decl.name] = target
        self.aliases[decl.name] = alias
        return alias

    def _function(
        self,
        decl: FunctionDecl,
        layers: list[lambda_.ILayerVersion],
        environment: Mapping[str, str],
        removal_policy: RemovalPolicy,
    ) -> lambda_.Function:
        if not decl.handler_path.is_file():
            raise FileNotFoundError(
                f"function {decl.name!r} is declared in infra/catalog.py but {decl.handler_path} does not exist"
            )
        construct_id = pascal_case(decl.name)
        # An explicit log group (rather than the deprecated log_retention custom resource) so that
        # retention and removal are plain CloudFormation.
        log_group = logs.LogGroup(
            self,
            f"{construct_id}Logs",
            retention=logs.RetentionDays.ONE_MONTH,
            removal_policy=removal_policy,
        )
        in_vpc: dict[str, Any] = {}
        if self._cache is not None and uses_cache(decl):
            in_vpc = {
                "vpc": self._cache.vpc,
                "vpc_subnets": self._cache.function_subnets,
                "security_groups": [self._cache.function_security_group],
            }
        if decl.container_image is not None:
            return container_image_function(self, decl, environment, log_group, **in_vpc)
        return lambda_.Function(
            self,
            construct_id,
            description=decl.description or decl.name,
            runtime=RUNTIME,
            architecture=ARCHITECTURE,
            handler="handler.handler",
            code=lambda_.Code.from_asset(str(decl.handler_path.parent), exclude=ASSET_EXCLUDES),
            memory_size=decl.memory,
            timeout=Duration.seconds(decl.timeout),
            reserved_concurrent_executions=decl.reserved,
            snap_start=lambda_.SnapStartConf.ON_PUBLISHED_VERSIONS if decl.warm_start == "snapstart" else None,
            # A version per deploy that changes the function; the one the alias leaves is deleted
            # once the update succeeds (CloudFormation's cleanup), so versions do not pile up.
            current_version_options=lambda_.VersionOptions(removal_policy=RemovalPolicy.DESTROY),
            layers=layers,
            tracing=lambda_.Tracing.ACTIVE,
            log_group=log_group,
            **in_vpc,
            environment={
                **environment,
                "POWERTOOLS_SERVICE_NAME": decl.name,
                "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
                "POWERTOOLS_LOG_LEVEL": "INFO",
            },
        )

    @staticmethod
    def _grant(
        decl: FunctionDecl,
        function: lambda_.Function,
        tables: Mapping[str, dynamodb.ITable],
        event_bus: events.IEventBus,
        secrets: Mapping[SecretName, secretsmanager.ISecret],
    ) -> None:
        unknown = sorted((set(decl.read_write_tables) | set(decl.read_tables)) - set(tables))
        if unknown:
            raise KeyError(f"function {decl.name!r} lists tables that agents_meetings.tables lacks: {unknown}")
        grants = [(name, True) for name in decl.read_write_tables] + [(name, False) for name in decl.read_tables]
        for logical_name, writes in grants:
            table = tables[logical_name]
            if writes:
                table.grant_read_write_data(function)
            else:
                table.grant_read_data(function)
            table_id = Stack.of(function).get_logical_id(table.node.default_child)  # type: ignore[arg-type]
            acknowledge_nag(
                function,
                {
                    f"IAM5[Resource::<{table_id}.Arn>/index/*]": f"Queries on the {logical_name} table's global "
                    "secondary indexes need its index ARNs; the wildcard spans only that table's indexes.",
                },
            )
        if decl.read_write_tables:
            acknowledge_nag(function, TABLE_FINDINGS)
        if decl.publishes_events:
            event_bus.grant_put_events_to(function)
        for name in decl.secrets:
            secrets[name].grant_read(function)

    @staticmethod
    def _grant_email(decl: FunctionDecl, function: lambda_.Function, environment: Mapping[str, str]) -> None:
        if not decl.sends_email:
            return
        # Scoped to the sender's identities: the address itself and its domain (SES authorises a
        # send against whichever of the two is verified).
        sender = environment.get("EMAIL_FROM") or str(Settings.model_fields["email_from"].default)
        stack = Stack.of(function)
        identities = [sender, sender.rpartition("@")[2]]
        function.add_to_role_policy(
            iam.PolicyStatement(
                actions=["ses:SendEmail", "ses:SendRawEmail"],
                resources=[stack.format_arn(service="ses", resource="identity", resource_name=i) for i in identities],
            )
        )

    @staticmethod
    def _grant_secrets_at_rest(decl: FunctionDecl, function: lambda_.Function, data_key: kms.IKey | None) -> None:
        if decl.encrypts_secrets and data_key is not None:
            # Envelope encryption: GenerateDataKey to seal, Decrypt to open, on the one platform key.
            data_key.grant_encrypt_decrypt(function)
            acknowledge_nag(function, TABLE_FINDINGS)
        if decl.sends_sms:
            # SMS to a phone number has no resource ARN to scope sns:Publish to; no topic is allowed
            # through this statement's purpose, and the function publishes nothing else to SNS.
            function.add_to_role_policy(iam.PolicyStatement(actions=["sns:Publish"], resources=["*"]))
