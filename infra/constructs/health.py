"""A real health check (spec 2.4 "health checks", issue 16's "health down"): a CloudWatch Synthetics
canary that calls ``GET /api/v1/health`` on the REST stage every minute and checks its JSON
(``infra/canary/python/health_canary.py``). Its ``SuccessPercent`` carries the ``health-down`` alarm
(infra/constructs/observability.py), which no longer depends on someone else calling the endpoint.
"""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_synthetics as synthetics
from constructs import Construct

from infra.catalog import REPO_ROOT, function
from infra.constructs import acknowledge_nag

CANARY_DIR = REPO_ROOT / "infra" / "canary"
CANARY_HANDLER = "health_canary.handler"
CANARY_RUNTIME = synthetics.Runtime.SYNTHETICS_PYTHON_SELENIUM_7_0
HEALTH_PATH = function("health").routes[0]
CANARY_INTERVAL = Duration.minutes(1)
ARTIFACT_RETENTION = Duration.days(30)


class HealthCanary(Construct):
    """``canary`` on ``rest_api``'s ``HEALTH_PATH``."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        rest_api: apigateway.RestApi,
        name: str,
        removal_policy: RemovalPolicy,
    ) -> None:
        super().__init__(scope, construct_id)
        self.url = rest_api.url_for_path(HEALTH_PATH)
        self.canary = synthetics.Canary(
            self,
            "Canary",
            canary_name=name[:21],  # Synthetics allows 21 characters: lower case, digits, - and _
            runtime=CANARY_RUNTIME,
            test=synthetics.Test.custom(code=synthetics.Code.from_asset(str(CANARY_DIR)), handler=CANARY_HANDLER),
            schedule=synthetics.Schedule.rate(CANARY_INTERVAL),
            environment_variables={"HEALTH_URL": self.url},
            timeout=Duration.seconds(30),
            success_retention_period=ARTIFACT_RETENTION,
            failure_retention_period=ARTIFACT_RETENTION,
            artifacts_bucket_lifecycle_rules=[s3.LifecycleRule(expiration=ARTIFACT_RETENTION)],
            # The canary's own Lambda function and layer go with it when it is deleted.
            provisioned_resource_cleanup=True,
        )
        self.canary.apply_removal_policy(removal_policy)
        bucket_id = Stack.of(self).get_logical_id(self.canary.artifacts_bucket.node.default_child)  # type: ignore[arg-type]
        acknowledge_nag(
            self.canary,
            {
                f"IAM5[Resource::<{bucket_id}.Arn>/*]": "The canary writes each run's results under its own "
                "artifacts bucket; the wildcard spans only that bucket's keys.",
                "IAM5[Resource::arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:/aws/lambda/"
                "cwsyn-*]": "Synthetics names the canary's Lambda function (and so its log group) itself, "
                "cwsyn-<name>-<id>.",
                "S1": "The canary's artifacts bucket holds its own run logs and results for 30 days; nothing else "
                "reads or writes it, so server access logs would only log the canary.",
                "IAM5[Resource::*]": "The Synthetics execution role CDK creates: s3:ListAllMyBuckets and "
                "cloudwatch:PutMetricData (limited to the CloudWatchSynthetics namespace) have no resource ARNs.",
            },
        )
