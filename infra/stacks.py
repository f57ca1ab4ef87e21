"""The platform stack: its configuration (read from CDK context) and the constructs it composes.

``PlatformConfig`` is the one place context keys are read; ``PlatformStack`` wires data, layers,
functions, events and the API together, acknowledges cdk-nag findings with reasons, and exports
the names clients and operators need.

CloudFormation allows 500 resources per stack. The platform stack holds the data, functions and
what is wired into them; whole concerns that only point at those live in nested stacks
(``PlatformStack.parts``, each one resource in the parent, deployed by the same ``cdk deploy``):

- ``Network``: the cache's VPC, subnets, endpoints, security groups and ElastiCache cache;
- ``Api``: the REST API (resources, methods, stage, access logs, Lambda permissions), its WAF web
  ACL and the health canary that probes it;
- ``Observability/Monitoring`` (built last, by ``PlatformObservability``): dashboards and alarms.

A concern moves into a nested stack only if nothing in the parent stack that it references also
references it (functions get the VPC's ids, the API gets the functions' aliases; not both ways).
``MAX_STACK_RESOURCES`` is what tests/infra/test_stack.py allows any of them.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, get_args

from agents_meetings.settings import Settings
from aws_cdk import Annotations, CfnOutput, NestedStack, RemovalPolicy, Stack, Tags
from constructs import Construct, Node

from infra.constructs import pascal_case, removal_policy_for
from infra.constructs.api import PlatformApi
from infra.constructs.backup import BackupAndRecovery
from infra.constructs.cache import CacheNetwork
from infra.constructs.data import DataTables
from infra.constructs.events import EventRouting, PlatformEventBus
from infra.constructs.functions import PlatformFunctions
from infra.constructs.health import HealthCanary
from infra.constructs.layers import SharedLayers
from infra.constructs.notifications import NotificationDelivery
from infra.constructs.observability import ObservabilityConfig, PlatformObservability
from infra.constructs.pipeline import PipelineStateMachines
from infra.constructs.scaling import ScalingActivityLog, ScalingConfig
from infra.constructs.search import SearchInfrastructure
from infra.constructs.secrets import platform_secrets
from infra.constructs.storage import RecordingsBucket
from infra.constructs.waf import ApiFirewall

# Stages a deployment may name; "local" and "test" are the embedded runtime's, never deployed.
DEPLOYABLE_STAGES = tuple(
    stage for stage in get_args(Settings.model_fields["environment"].annotation) if stage not in ("local", "test")
)


# CloudFormation's limit is 500 per stack; the margin is for what the next features add. Past it,
# move a whole concern (one construct of infra/constructs) into a nested stack of its own.
MAX_STACK_RESOURCES = 450

# Buckets replicated to the DR region (with context dr_region); exports join when they exist.
REPLICATED_BUCKETS = ("recordings", "materials")

# Context keys passed through as the same-named (upper-case) environment variables when set.
FEDERATION_CONTEXT = (
    "oauth_redirect_base_url",
    "oauth_google_client_id",
    "oauth_microsoft_client_id",
    "oauth_microsoft_tenant",
    "ldap_url",
    "ldap_bind_dn",
    "ldap_user_base_dn",
    "ldap_user_filter",
    "saml_idp_metadata",
    "saml_sp_entity_id",
)


@dataclass(frozen=True)
class PlatformConfig:
    """Deployment settings; each field is the CDK context key of the same name (cdk.json, ``-c``)."""

    stage: str = "prod"
    table_prefix: str = "agents-meetings-"
    event_bus_name: str = "agents-meetings"
    api_stage: str = "prod"
    jwt_issuer: str = "agents-meetings"
    jwt_audience: str = "agents-meetings-api"
    livekit_url: str = ""
    livekit_api_key: str = ""
    # Sender of platform email (an SES-verified identity) and the web app reset links point to.
    email_from: str = ""
    public_app_url: str = ""
    # Federated sign-in (non-secret parts; secrets are in the FederationSecrets secret). Unset: off.
    oauth_redirect_base_url: str = ""
    oauth_google_client_id: str = ""
    oauth_microsoft_client_id: str = ""
    oauth_microsoft_tenant: str = ""
    ldap_url: str = ""
    ldap_bind_dn: str = ""
    ldap_user_base_dn: str = ""
    ldap_user_filter: str = ""
    saml_idp_metadata: str = ""
    saml_sp_entity_id: str = ""
    # Backups (spec 4.4): the second region for backup copies and bucket replicas. Unset: no DR stack.
    dr_region: str = ""

    def __post_init__(self) -> None:
        if self.stage not in DEPLOYABLE_STAGES:
            raise ValueError(f"context 'stage' must be one of {DEPLOYABLE_STAGES}, got {self.stage!r}")

    @classmethod
    def from_context(cls, node: Node) -> PlatformConfig:
        values: dict[str, Any] = {}
        for field in fields(cls):
            value = node.try_get_context(field.name)
            if value is not None:
                values[field.name] = str(value)
        return cls(**values)

    @property
    def removal_policy(self) -> RemovalPolicy:
        return removal_policy_for(self.stage)

    def function_environment(self) -> dict[str, str]:
        """Variables every function gets, named as ``agents_meetings.settings.Settings`` reads them.

        Secret ARNs are added per function, only where the catalogue says the function reads them.
        """
        environment = {
            "ENVIRONMENT": self.stage,
            "TABLE_PREFIX": self.table_prefix,
            "EVENT_BUS_NAME": self.event_bus_name,
            "JWT_ISSUER": self.jwt_issuer,
            "JWT_AUDIENCE": self.jwt_audience,
        }
        # Unset rather than empty, so that a missing value is visible as Settings' default.
        if self.livekit_url:
            environment["LIVEKIT_URL"] = self.livekit_url
        if self.livekit_api_key:
            environment["LIVEKIT_API_KEY"] = self.livekit_api_key
        if self.email_from:
            environment["EMAIL_FROM"] = self.email_from
        if self.public_app_url:
            environment["PUBLIC_APP_URL"] = self.public_app_url
        for name in FEDERATION_CONTEXT:
            value = getattr(self, name)
            if value:
                environment[name.upper()] = value
        return environment


class PlatformStack(Stack):
    """Everything the Agents-Meetings platform runs on: one stack and its nested stacks (``parts``)."""

    def __init__(self, scope: Construct, construct_id: str, *, config: PlatformConfig, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.config = config
        removal_policy = config.removal_policy
        Tags.of(self).add("project", "agents-meetings")
        Tags.of(self).add("stage", config.stage)
        if not (config.livekit_url and config.livekit_api_key):
            Annotations.of(self).add_warning_v2(
                "agents-meetings:livekit-context",
                "context livekit_url / livekit_api_key not set: functions fall back to the local LiveKit defaults",
            )

        self.data = DataTables(self, "Data", table_prefix=config.table_prefix, removal_policy=removal_policy)
        self.layers = SharedLayers(self, "Layers", removal_policy=removal_policy)
        self.event_bus = PlatformEventBus(self, "EventBus", bus_name=config.event_bus_name)
        self.secrets = platform_secrets(self, removal_policy=removal_policy)
        self.jwt_secret = self.secrets["jwt"]
        self.livekit_secret = self.secrets["livekit"]
        self.federation_secret = self.secrets["federation"]
        self.deepgram_secret = self.secrets["deepgram"]
        # Recording control (issue 4): the recordings bucket; the pipeline's rule listens to its events.
        self.recordings = RecordingsBucket(self, "Recordings", removal_policy=removal_policy)
        self.recordings_bucket = self.recordings.bucket
        # Concerns in nested stacks of their own (module docstring), by name.
        self.parts: dict[str, NestedStack] = {}
        # The cache's shared tier (spec 2.1): ElastiCache Serverless (Valkey) in a VPC of its own.
        network = self._nested("Network", "Agents-Meetings network: the cache's VPC, endpoints and ElastiCache")
        self.cache = CacheNetwork(network, "Cache", cache_name=f"agents-meetings-{config.stage}")
        CfnOutput(self, "CacheEndpoint", value=self.cache.cache.attr_endpoint_address)
        self.functions = PlatformFunctions(
            self,
            "Functions",
            layers=self.layers.all,
            tables=self.data.tables,
            event_bus=self.event_bus.bus,
            secrets=self.secrets,
            environment=config.function_environment(),
            removal_policy=removal_policy,
            data_key=self.data.key,
            recordings_bucket=self.recordings_bucket,
            scaling=ScalingConfig.from_context(self.node),
            cache=self.cache,
        )
        # Callers invoke each zip function's ``live`` alias (SnapStart and provisioned concurrency).
        self.events = EventRouting(self, "Events", bus=self.event_bus.bus, functions=self.functions.invocable)
        # The REST API with what fronts it (WAF) and probes it (the canary); it invokes the aliases.
        api = self._nested("Api", "Agents-Meetings REST API: resources, methods, stage, WAF, health canary")
        self.api = PlatformApi(
            api,
            "Api",
            functions=self.functions.invocable,
            stage_name=config.api_stage,
            removal_policy=removal_policy,
        )

        self.firewall = ApiFirewall(api, "Firewall", stage=self.api.rest_api.deployment_stage)
        # Spec 2.4: a health check every minute, and every scaling event in one log group.
        self.health = HealthCanary(
            api,
            "Health",
            rest_api=self.api.rest_api,
            name=f"am-{config.stage}-health",
            removal_policy=removal_policy,
        )
        self.scaling_log = ScalingActivityLog(self, "Scaling", removal_policy=removal_policy)
        # Recording post-processing (issue 4): state machines from the catalogue, started by objects in
        # the recordings bucket.
        self.pipeline = PipelineStateMachines(
            self,
            "Pipeline",
            functions=self.functions.functions,
            removal_policy=removal_policy,
            bucket=self.recordings_bucket,
        )
        self.search = SearchInfrastructure(
            self,
            "Search",
            functions=self.functions.functions,
            removal_policy=removal_policy,
            domain_name=f"agents-meetings-{config.stage}",
        )
        CfnOutput(self, "SearchEndpoint", value=f"https://{self.search.domain.domain_endpoint}")
        CfnOutput(self, "MaterialsBucketName", value=self.search.materials_bucket.bucket_name)

        self.notifications = NotificationDelivery(
            self,
            "Notifications",
            functions=self.functions.functions,
            invocable=self.functions.invocable,
            stage_name=config.api_stage,
            removal_policy=removal_policy,
        )

        # Backups and disaster recovery (spec 4.4): AWS Backup, replication to dr_region, restore tests.
        self.backup = BackupAndRecovery(
            self,
            "Backup",
            tables=self.data.tables,
            buckets={"recordings": self.recordings_bucket, "materials": self.search.materials_bucket},
            replicated=REPLICATED_BUCKETS,
            validation_function=self.functions.functions["restore-validation"],
            validation_target=self.functions.invocable["restore-validation"],
            data_key=self.data.key,
            stage=config.stage,
            removal_policy=removal_policy,
            dr_region=config.dr_region or None,
        )

        # Last: it monitors what the stack holds by now (a construct added after it hands its alarms to
        # observability.notify_ops and must be monitored explicitly).
        self.observability = PlatformObservability(
            self,
            "Observability",
            watched=self,
            config=ObservabilityConfig.from_context(self.node),
            name_prefix=f"agents-meetings-{config.stage}",
        )

        CfnOutput(self, "ApiUrl", value=self.api.rest_api.url, description="Base URL of the REST API stage")
        CfnOutput(self, "EventBusName", value=self.event_bus.bus.event_bus_name)
        CfnOutput(self, "RecordingsBucketName", value=self.recordings_bucket.bucket_name)
        CfnOutput(self, "WebSocketUrl", value=self.notifications.url, description="Notifications WebSocket URL")
        for logical_name, table in self.data.tables.items():
            CfnOutput(self, f"{pascal_case(logical_name)}TableName", value=table.table_name)

    def _nested(self, name: str, description: str) -> NestedStack:
        stack = NestedStack(self, name, description=description)
        self.parts[name] = stack
        return stack
