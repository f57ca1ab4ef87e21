"""The cache's shared tier in the cloud (spec 2.1): ElastiCache Serverless (Valkey), TLS, in a VPC
this construct creates, and what the functions that use it need to reach it and everything else.

- Private subnets (with egress) in two AZs for the functions placed in the VPC; the cache in the
  isolated subnets; a security group on each side, the cache's open to the functions' on 6379/6380.
- Gateway endpoints (free) for DynamoDB and S3, interface endpoints for the AWS APIs those functions
  call (EventBridge, Secrets Manager, KMS, SQS, SNS, SES, X-Ray, Step Functions, API Gateway
  management), so AWS traffic stays off the NAT gateway; one NAT gateway for the third parties
  (LiveKit, Deepgram, OpenSearch's public endpoint, FCM).

Which functions: those that write a table the cache holds (``CACHED_TABLES``), since every such
write invalidates the cached entry before its response (agents_meetings/cache/entities.py).
"""

from __future__ import annotations

from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_elasticache as elasticache
from constructs import Construct

from infra.catalog import FunctionDecl
from infra.constructs import acknowledge_nag

REDIS_PORT = 6379
READER_PORT = 6380
# Tables whose items the cache holds (user profiles, meeting details, sessions, the deny list).
CACHED_TABLES = frozenset({"users", "meetings", "sessions", "revoked-tokens"})
INTERFACE_ENDPOINTS = {
    "EventBridge": ec2.InterfaceVpcEndpointAwsService.EVENTBRIDGE,
    "SecretsManager": ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER,
    "Kms": ec2.InterfaceVpcEndpointAwsService.KMS,
    "Sqs": ec2.InterfaceVpcEndpointAwsService.SQS,
    "Sns": ec2.InterfaceVpcEndpointAwsService.SNS,
    "Ses": ec2.InterfaceVpcEndpointAwsService.EMAIL,
    "XRay": ec2.InterfaceVpcEndpointAwsService.XRAY,
    "StepFunctions": ec2.InterfaceVpcEndpointAwsService.STEP_FUNCTIONS,
    "ApiGatewayManagement": ec2.InterfaceVpcEndpointAwsService.APIGATEWAY,
}


def uses_cache(decl: FunctionDecl) -> bool:
    return bool(CACHED_TABLES & set(decl.tables))


class CacheNetwork(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, cache_name: str) -> None:
        super().__init__(scope, construct_id)
        self.vpc = ec2.Vpc(
            self,
            "Vpc",
            max_azs=2,
            nat_gateways=1,
            subnet_configuration=[
                ec2.SubnetConfiguration(name="public", subnet_type=ec2.SubnetType.PUBLIC, cidr_mask=24),
                ec2.SubnetConfiguration(name="functions", subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS, cidr_mask=20),
                ec2.SubnetConfiguration(name="cache", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED, cidr_mask=24),
            ],
            gateway_endpoints={
                "DynamoDb": ec2.GatewayVpcEndpointOptions(service=ec2.GatewayVpcEndpointAwsService.DYNAMODB),
                "S3": ec2.GatewayVpcEndpointOptions(service=ec2.GatewayVpcEndpointAwsService.S3),
            },
        )
        self.vpc.add_flow_log("FlowLog")
        self.function_subnets = ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS)
        self.function_security_group = ec2.SecurityGroup(
            self, "FunctionsSecurityGroup", vpc=self.vpc, description="Functions that use the cache"
        )
        self.cache_security_group = ec2.SecurityGroup(
            self,
            "CacheSecurityGroup",
            vpc=self.vpc,
            description="ElastiCache Serverless: Valkey over TLS from the platform functions only",
            allow_all_outbound=False,
        )
        for port in (REDIS_PORT, READER_PORT):
            self.cache_security_group.add_ingress_rule(
                self.function_security_group, ec2.Port.tcp(port), "Valkey (TLS) from the functions"
            )
        endpoints_group = ec2.SecurityGroup(
            self, "EndpointsSecurityGroup", vpc=self.vpc, description="Interface endpoints for the functions"
        )
        endpoints_group.add_ingress_rule(self.function_security_group, ec2.Port.tcp(443), "HTTPS from the functions")
        acknowledge_nag(
            endpoints_group,
            {
                "EC23": "The only ingress rule names the functions' security group as its source (a token at "
                "synth time, which the rule cannot evaluate); nothing is open to 0.0.0.0/0."
            },
        )
        for name, service in INTERFACE_ENDPOINTS.items():
            self.vpc.add_interface_endpoint(
                f"{name}Endpoint",
                service=service,
                subnets=self.function_subnets,
                security_groups=[endpoints_group],
                private_dns_enabled=True,
            )
        isolated = self.vpc.select_subnets(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)
        self.cache = elasticache.CfnServerlessCache(
            self,
            "Cache",
            engine="valkey",
            major_engine_version="8",
            serverless_cache_name=cache_name,
            description="Agents-Meetings cache (spec 2.1): profiles, meetings, sessions, dashboards",
            security_group_ids=[self.cache_security_group.security_group_id],
            subnet_ids=isolated.subnet_ids,
        )

    @property
    def environment(self) -> dict[str, str]:
        """REDIS_* for the functions that use it: cluster protocol over TLS (Serverless needs both)."""
        return {
            "CACHE_BACKEND": "redis",
            "REDIS_HOST": self.cache.attr_endpoint_address,
            "REDIS_PORT": self.cache.attr_endpoint_port,
            "REDIS_CLUSTER_ENABLED": "true",
            "REDIS_TLS_ENABLED": "true",
            # TLS set-up to a fresh node takes longer than a loopback connect; still bounded.
            "REDIS_TIMEOUT_MS": "200",
        }
