"""Search & discovery in the cloud (spec 1.3): the OpenSearch domain and the materials bucket.

The domain is encrypted at rest and node to node, HTTPS only (TLS 1.2+); its resource policy
admits only the roles of the functions the catalogue marks ``searches`` (the search API and the
indexer), whose requests are SigV4-signed. Those functions get ``SEARCH_BACKEND=opensearch`` and
``OPENSEARCH_URL``; functions marked ``materials_bucket`` get the bucket and its name.
"""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_opensearchservice as opensearch
from aws_cdk import aws_s3 as s3
from constructs import Construct

from infra.catalog import FUNCTIONS
from infra.constructs import acknowledge_nag

ENGINE = opensearch.EngineVersion.OPENSEARCH_2_17
DOMAIN_FINDINGS = {
    "OS1": "The domain is reached by Lambda functions outside a VPC; access is limited by the resource policy to "
    "the two function roles and every request is SigV4-signed over HTTPS.",
    "OS3": "Access is limited to IAM principals (the search and indexer roles), not to IP addresses: Lambda "
    "functions have no fixed IPs.",
    "OS4": "One data node per availability zone suffices at this scale; dedicated masters are added with the "
    "domain's capacity (context search_instance_count).",
    "OS5": "Anonymous access is impossible: the resource policy names the function roles only.",
    "OS7": "Zone awareness follows the data node count (two or more nodes spread over two zones).",
}
SLOW_LOGS_REASON = (
    "Search and indexing slow logs are off until an operator sets thresholds; application logs carry every "
    "query's latency (Powertools)."
)
DOMAIN_FINDINGS["OS9[LogExport::SEARCH_SLOW_LOGS]"] = SLOW_LOGS_REASON
DOMAIN_FINDINGS["OS9[LogExport::INDEX_SLOW_LOGS]"] = SLOW_LOGS_REASON
BUCKET_GRANT_FINDINGS = {
    f"IAM5[Action::s3:{action}*]": "CDK's bucket grant (read, write, delete of materials); limited to the "
    "materials bucket and its objects."
    for action in ("Abort", "DeleteObject", "GetBucket", "GetObject", "List")
}


class SearchInfrastructure(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        functions: Mapping[str, lambda_.Function],
        removal_policy: RemovalPolicy,
        domain_name: str = "agents-meetings-search",
        instance_type: str = "t3.small.search",
        instance_count: int = 2,
    ) -> None:
        super().__init__(scope, construct_id)
        # Access logs are delivered under a bucket policy rather than the legacy LogDeliveryWrite ACL.
        self.node.set_context("@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy", True)
        searchers = [functions[decl.name] for decl in FUNCTIONS if decl.searches]
        uploaders = [functions[decl.name] for decl in FUNCTIONS if decl.materials_bucket]
        self.domain = opensearch.Domain(
            self,
            "Domain",
            domain_name=domain_name,
            version=ENGINE,
            capacity=opensearch.CapacityConfig(
                data_nodes=instance_count, data_node_instance_type=instance_type, multi_az_with_standby_enabled=False
            ),
            zone_awareness=opensearch.ZoneAwarenessConfig(enabled=instance_count > 1, availability_zone_count=2)
            if instance_count > 1
            else None,
            ebs=opensearch.EbsOptions(volume_size=20),
            encryption_at_rest=opensearch.EncryptionAtRestOptions(enabled=True),
            node_to_node_encryption=True,
            enforce_https=True,
            tls_security_policy=opensearch.TLSSecurityPolicy.TLS_1_2,
            removal_policy=removal_policy,
        )
        # Set on the CloudFormation resource (not add_access_policies, which deploys a custom-resource
        # Lambda); the domain's ARN is spelled from its name, as it cannot reference itself.
        stack = Stack.of(self)
        policy = iam.PolicyDocument(
            statements=[
                iam.PolicyStatement(
                    actions=["es:ESHttpGet", "es:ESHttpHead", "es:ESHttpPost", "es:ESHttpPut", "es:ESHttpDelete"],
                    principals=[iam.ArnPrincipal(function.role.role_arn) for function in searchers if function.role],
                    resources=[stack.format_arn(service="es", resource="domain", resource_name=f"{domain_name}/*")],
                )
            ]
        )
        cfn_domain = self.domain.node.default_child
        assert isinstance(cfn_domain, opensearch.CfnDomain)
        cfn_domain.access_policies = policy.to_json()
        acknowledge_nag(self.domain, DOMAIN_FINDINGS)

        self.access_logs = s3.Bucket(
            self,
            "MaterialsAccessLogs",
            encryption=s3.BucketEncryption.S3_MANAGED,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            lifecycle_rules=[s3.LifecycleRule(expiration=Duration.days(90))],
            removal_policy=removal_policy,
        )
        acknowledge_nag(
            self.access_logs, {"S1": "This is the access-log bucket itself; logging it into itself would loop."}
        )
        self.materials_bucket = s3.Bucket(
            self,
            "Materials",
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            versioned=True,
            server_access_logs_bucket=self.access_logs,
            server_access_logs_prefix="materials/",
            # Browsers PUT uploads straight to presigned URLs.
            cors=[
                s3.CorsRule(
                    allowed_methods=[s3.HttpMethods.PUT],
                    allowed_origins=["*"],
                    allowed_headers=["content-type"],
                    max_age=3000,
                )
            ],
            removal_policy=removal_policy,
        )

        endpoint = f"https://{self.domain.domain_endpoint}"
        domain_id = stack.get_logical_id(cfn_domain)
        bucket_id = stack.get_logical_id(self.materials_bucket.node.default_child)  # type: ignore[arg-type]
        for function in searchers:
            self.domain.grant_read_write(function)
            function.add_environment("SEARCH_BACKEND", "opensearch")
            function.add_environment("OPENSEARCH_URL", endpoint)
            acknowledge_nag(
                function,
                {
                    "IAM5[Action::es:ESHttp*]": "Search and indexing use every HTTP verb of the domain's REST API.",
                    f"IAM5[Resource::<{domain_id}.Arn>/*]": "Index and document paths under the one search domain, "
                    "nothing else.",
                },
            )
        for function in uploaders:
            self.materials_bucket.grant_read_write(function)
            self.materials_bucket.grant_delete(function)
            function.add_environment("MATERIALS_BUCKET_NAME", self.materials_bucket.bucket_name)
            acknowledge_nag(
                function,
                {
                    **BUCKET_GRANT_FINDINGS,
                    f"IAM5[Resource::<{bucket_id}.Arn>/*]": "Objects of the materials bucket only (uploads, "
                    "extraction, deletes).",
                },
            )
