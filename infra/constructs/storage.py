"""The recordings bucket: raw egress files, post-processed outputs, transcripts (spec 1.1).

Encrypted, private, TLS only, versioned; lifecycle rules move objects to cheaper tiers as they age
(storage policies may move them sooner: recordings/retention.py) and expire old versions.
Object events go to EventBridge, where the recording pipeline's rule listens for manifests.
"""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_s3 as s3
from constructs import Construct

from infra.constructs import acknowledge_nag

# Age-based tiers (days after creation) for everything under recordings/.
COOL_AFTER_DAYS = 90
ARCHIVE_AFTER_DAYS = 365
NONCURRENT_VERSIONS_EXPIRE_DAYS = 30


class RecordingsBucket(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, removal_policy: RemovalPolicy) -> None:
        super().__init__(scope, construct_id)
        self.bucket = s3.Bucket(
            self,
            "Bucket",
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            versioned=True,
            event_bridge_enabled=True,
            removal_policy=removal_policy,
            auto_delete_objects=False,
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="recordings-tiers",
                    prefix="recordings/",
                    transitions=[
                        s3.Transition(
                            storage_class=s3.StorageClass.INFREQUENT_ACCESS,
                            transition_after=Duration.days(COOL_AFTER_DAYS),
                        ),
                        s3.Transition(
                            storage_class=s3.StorageClass.GLACIER_INSTANT_RETRIEVAL,
                            transition_after=Duration.days(ARCHIVE_AFTER_DAYS),
                        ),
                    ],
                ),
                s3.LifecycleRule(
                    id="noncurrent-versions",
                    noncurrent_version_expiration=Duration.days(NONCURRENT_VERSIONS_EXPIRE_DAYS),
                    abort_incomplete_multipart_upload_after=Duration.days(7),
                ),
            ],
        )
        acknowledge_nag(
            self.bucket,
            {
                "S1": "Access to recordings is through the API's time-limited signed URLs, each request audited "
                "by the API; CloudTrail data events can be enabled per deployment for object-level access logs.",
            },
        )
        # event_bridge_enabled is applied by CDK's singleton notifications custom resource.
        for child in Stack.of(self).node.children:
            if child.node.id.startswith("BucketNotificationsHandler"):
                acknowledge_nag(
                    child,
                    {
                        "IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]": (
                            "CDK's own bucket-notifications custom resource; it only writes its CloudWatch logs."
                        ),
                        "IAM5[Resource::*]": "CDK's bucket-notifications custom resource calls "
                        "s3:PutBucketNotification at deploy time; CDK scopes it, not us.",
                    },
                )
