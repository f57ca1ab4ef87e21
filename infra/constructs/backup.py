"""Backups and disaster recovery (spec 4.4): AWS Backup, cross-region replication, restore tests.

- **Vault**: encrypted with its own customer-managed key (rotation on) and a vault lock in
  governance mode (recovery points kept at least ``LOCK_MIN_RETENTION``, at most
  ``LOCK_MAX_RETENTION``; a lock in compliance mode cannot be undone, so it is left to operators).
- **Plan** (every table and data bucket): ``daily`` kept 30 days and ``weekly`` kept 12 weeks, each
  copied to the DR vault in ``dr_region`` when that context is set. The 1-hour RPO: DynamoDB
  point-in-time recovery (on for every table, infra/constructs/data.py, 35 days, to the second) and
  a second plan with a ``continuous`` rule for the buckets (S3 continuous backup, versioning on).
  Across regions, a third plan backs up every table ``hourly`` (kept ``HOURLY_RETENTION``, the vault
  lock's minimum) and copies each recovery point to the DR vault, so a regional failover loses at
  most the hour since the last copy (not the day since the last daily one).
- **Replication** (with ``dr_region``): recordings and materials replicate to replica buckets in
  the DR stack with Replication Time Control (99.99 % of objects within 15 minutes), delete markers
  included, replication metrics on.
- **Restore tests**: a monthly restore testing plan restores the latest daily recovery point of
  every durable table (``infra.catalog.DURABLE_TABLES``); an EventBridge rule on the restore job's
  COMPLETED event runs the ``restore-validation`` job, which compares the restored table with its
  source and reports the result (agents_meetings/backups.py). A failed or slower-than-RTO test, a
  validation that errors or cannot be delivered, and failed backup, copy and restore jobs each
  raise an alarm (``alarms``; ``add_alarm_action`` wires them to the ops topic).

``DisasterRecoveryStack`` is the second region's stack (only with ``dr_region``): the DR vault and
its key, and the replica buckets. Their names are derived (``dr_vault_name``,
``replica_bucket_name``), so the primary stack refers to them without cross-region references.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from aws_cdk import ArnFormat, Aws, CfnOutput, Duration, RemovalPolicy, Stack
from aws_cdk import aws_backup as backup
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from constructs import Construct

from infra.catalog import DURABLE_TABLES
from infra.constructs import acknowledge_nag, pascal_case

DAILY_RETENTION = Duration.days(30)
WEEKLY_RETENTION = Duration.days(7 * 12)
CONTINUOUS_RETENTION = Duration.days(35)  # the longest S3 continuous backup keeps
# Hourly table backups (the cross-region RPO): as short as both vaults' locks allow.
HOURLY_RETENTION = Duration.days(7)
LOCK_MIN_RETENTION = Duration.days(7)
LOCK_MAX_RETENTION = Duration.days(7 * 12 + 7)
# 05:00 UTC on the 2nd of each month: the 1st's daily recovery point (03:00 UTC) exists by then.
RESTORE_TEST_SCHEDULE = "cron(0 5 2 * ? *)"
RESTORE_TEST_VALIDATION_HOURS = 4
VALIDATION_SERVICE = "restore-validation"
METRICS_NAMESPACE = "AgentsMeetings"
REPLICATION_MINUTES = 15  # the only value S3 Replication Time Control takes

BACKUP_ROLE_POLICIES = (
    "service-role/AWSBackupServiceRolePolicyForBackup",
    "service-role/AWSBackupServiceRolePolicyForRestores",
    "AWSBackupServiceRolePolicyForS3Backup",
    "AWSBackupServiceRolePolicyForS3Restore",
)


def vault_name(stage: str) -> str:
    return f"agents-meetings-{stage}"


def dr_vault_name(stage: str) -> str:
    return f"agents-meetings-{stage}-dr"


def replica_bucket_name(stage: str, kind: str, account: str, region: str) -> str:
    """The replica bucket of ``kind`` in the DR region (S3 names are global: account and region in it)."""
    return f"am-{stage}-{kind}-replica-{account}-{region}"  # <= 63 characters for every stage and region


def _vault_key_policy_statement(region: str) -> iam.PolicyStatement:
    """AWS Backup (in this account, in this region) may use the vault key for recovery points and copies."""
    return iam.PolicyStatement(
        sid="AllowAwsBackupInThisAccount",
        principals=[iam.AnyPrincipal()],
        actions=["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"],
        resources=["*"],
        conditions={
            "StringEquals": {"kms:CallerAccount": Aws.ACCOUNT_ID, "kms:ViaService": f"backup.{region}.amazonaws.com"}
        },
    )


def _vault(
    scope: Construct, *, name: str, removal_policy: RemovalPolicy, region: str
) -> tuple[kms.Key, backup.BackupVault]:
    key = kms.Key(
        scope,
        "VaultKey",
        description=f"AWS Backup vault {name}",
        enable_key_rotation=True,
        removal_policy=removal_policy,
    )
    key.add_to_resource_policy(_vault_key_policy_statement(region))
    return key, backup.BackupVault(
        scope,
        "Vault",
        backup_vault_name=name,
        encryption_key=key,
        # Governance mode (no changeable_for): privileged operators can still lift it; compliance
        # mode is irreversible and is an operator's decision (docs/runbooks/dr-plan.md).
        lock_configuration=backup.LockConfiguration(min_retention=LOCK_MIN_RETENTION, max_retention=LOCK_MAX_RETENTION),
        removal_policy=removal_policy,
    )


class BackupAndRecovery(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        tables: Mapping[str, dynamodb.Table],
        buckets: Mapping[str, s3.Bucket],
        replicated: Sequence[str],
        validation_function: lambda_.Function,
        data_key: kms.IKey,
        # What the restore-completed rule invokes (the function's ``live`` alias); the function itself
        # when not given. Grants and the errors alarm stay on the function.
        validation_target: lambda_.IFunction | None = None,
        stage: str,
        removal_policy: RemovalPolicy,
        dr_region: str | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        self.stage = stage
        self.dr_region = dr_region or None
        self.alarms: list[cloudwatch.Alarm] = []
        self.key, self.vault = _vault(self, name=vault_name(stage), removal_policy=removal_policy, region=stack.region)
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("backup.amazonaws.com"),
            description="AWS Backup: backs up and restores the platform's tables and buckets",
            managed_policies=[iam.ManagedPolicy.from_aws_managed_policy_name(name) for name in BACKUP_ROLE_POLICIES],
        )
        # The tables are encrypted with the platform data key: backing up and restoring them uses it.
        data_key.grant_encrypt_decrypt(self.role)
        acknowledge_nag(
            self.role,
            {
                **{
                    f"IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/{name}]": "The AWS-maintained AWS Backup "
                    "service-role policy: it follows the services AWS Backup supports; the role is assumable by "
                    "AWS Backup only."
                    for name in BACKUP_ROLE_POLICIES
                },
                "IAM5[Action::kms:GenerateDataKey*]": "Backups and restores of tables encrypted with the platform "
                "data key; limited to that one key.",
                "IAM5[Action::kms:ReEncrypt*]": "Part of CDK's encrypt/decrypt grant on the platform data key, "
                "limited to that one key, used by AWS Backup only.",
            },
        )

        self.dr_vault = (
            backup.BackupVault.from_backup_vault_arn(
                self,
                "DrVault",
                stack.format_arn(
                    service="backup",
                    region=self.dr_region,
                    resource="backup-vault",
                    resource_name=dr_vault_name(stage),
                    arn_format=ArnFormat.COLON_RESOURCE_NAME,
                ),
            )
            if self.dr_region
            else None
        )
        self.plan = backup.BackupPlan(
            self,
            "Plan",
            backup_plan_name=f"agents-meetings-{stage}",
            backup_vault=self.vault,
            backup_plan_rules=[
                self._rule("daily", events.Schedule.cron(hour="3", minute="0"), DAILY_RETENTION),
                self._rule("weekly", events.Schedule.cron(week_day="SUN", hour="4", minute="0"), WEEKLY_RETENTION),
            ],
        )
        resources = [backup.BackupResource.from_dynamo_db_table(table) for table in tables.values()]
        resources += [backup.BackupResource.from_arn(bucket.bucket_arn) for bucket in buckets.values()]
        self.selection = self.plan.add_selection(
            "Everything", resources=resources, role=self.role, backup_selection_name="tables-and-buckets"
        )
        # The RPO of 1 hour for objects: continuous backup (S3 point-in-time restore, 35 days).
        self.continuous_plan = backup.BackupPlan(
            self,
            "ContinuousPlan",
            backup_plan_name=f"agents-meetings-{stage}-continuous",
            backup_vault=self.vault,
            backup_plan_rules=[
                backup.BackupPlanRule(
                    rule_name="continuous",
                    schedule_expression=events.Schedule.cron(minute="0"),
                    enable_continuous_backup=True,
                    delete_after=CONTINUOUS_RETENTION,
                    start_window=Duration.hours(1),
                    completion_window=Duration.hours(2),
                )
            ],
        )
        self.continuous_plan.add_selection(
            "Buckets",
            resources=[backup.BackupResource.from_arn(bucket.bucket_arn) for bucket in buckets.values()],
            role=self.role,
            backup_selection_name="buckets",
        )
        # The cross-region RPO of tables: hourly recovery points, each copied to the DR vault.
        self.hourly_plan = backup.BackupPlan(
            self,
            "HourlyPlan",
            backup_plan_name=f"agents-meetings-{stage}-hourly",
            backup_vault=self.vault,
            backup_plan_rules=[
                backup.BackupPlanRule(
                    rule_name="hourly",
                    # At :30, clear of the daily (03:00) and weekly (04:00) rules' starts.
                    schedule_expression=events.Schedule.cron(minute="30"),
                    delete_after=HOURLY_RETENTION,
                    start_window=Duration.hours(1),
                    completion_window=Duration.hours(2),
                    copy_actions=(
                        [
                            backup.BackupPlanCopyActionProps(
                                destination_backup_vault=self.dr_vault, delete_after=HOURLY_RETENTION
                            )
                        ]
                        if self.dr_vault is not None
                        else None
                    ),
                )
            ],
        )
        self.hourly_plan.add_selection(
            "Tables",
            resources=[backup.BackupResource.from_dynamo_db_table(table) for table in tables.values()],
            role=self.role,
            backup_selection_name="tables",
        )
        self.replication_role: iam.Role | None = None
        if self.dr_region:
            self._replicate({kind: buckets[kind] for kind in replicated})
        self._restore_tests(tables, validation_function, validation_target or validation_function)
        self._job_alarms()

    def _rule(self, name: str, schedule: events.Schedule, retention: Duration) -> backup.BackupPlanRule:
        copies = (
            [backup.BackupPlanCopyActionProps(destination_backup_vault=self.dr_vault, delete_after=retention)]
            if self.dr_vault is not None
            else None
        )
        return backup.BackupPlanRule(
            rule_name=name,
            schedule_expression=schedule,
            delete_after=retention,
            start_window=Duration.hours(1),
            completion_window=Duration.hours(8),
            copy_actions=copies,
        )

    # --- S3 cross-region replication -------------------------------------------------------------

    def _replicate(self, buckets: Mapping[str, s3.Bucket]) -> None:
        assert self.dr_region is not None
        role = iam.Role(
            self,
            "ReplicationRole",
            assumed_by=iam.ServicePrincipal("s3.amazonaws.com"),
            description="S3 replication of recordings and materials to the DR region",
        )
        self.replication_role = role
        findings: dict[str, str] = {}
        for kind, bucket in buckets.items():
            replica_arn = (
                f"arn:{Aws.PARTITION}:s3:::{replica_bucket_name(self.stage, kind, Aws.ACCOUNT_ID, self.dr_region)}"
            )
            role.add_to_policy(
                iam.PolicyStatement(
                    actions=["s3:GetReplicationConfiguration", "s3:ListBucket"], resources=[bucket.bucket_arn]
                )
            )
            role.add_to_policy(
                iam.PolicyStatement(
                    actions=[
                        "s3:GetObjectVersionForReplication",
                        "s3:GetObjectVersionAcl",
                        "s3:GetObjectVersionTagging",
                    ],
                    resources=[bucket.arn_for_objects("*")],
                )
            )
            role.add_to_policy(
                iam.PolicyStatement(
                    actions=["s3:ReplicateObject", "s3:ReplicateDelete", "s3:ReplicateTags"],
                    resources=[f"{replica_arn}/*"],
                )
            )
            cfn_bucket = bucket.node.default_child
            assert isinstance(cfn_bucket, s3.CfnBucket)
            cfn_bucket.replication_configuration = s3.CfnBucket.ReplicationConfigurationProperty(
                role=role.role_arn,
                rules=[
                    s3.CfnBucket.ReplicationRuleProperty(
                        id=f"{kind}-to-{self.dr_region}",
                        status="Enabled",
                        priority=1,
                        filter=s3.CfnBucket.ReplicationRuleFilterProperty(prefix=""),
                        delete_marker_replication=s3.CfnBucket.DeleteMarkerReplicationProperty(status="Enabled"),
                        destination=s3.CfnBucket.ReplicationDestinationProperty(
                            bucket=replica_arn,
                            replication_time=s3.CfnBucket.ReplicationTimeProperty(
                                status="Enabled",
                                time=s3.CfnBucket.ReplicationTimeValueProperty(minutes=REPLICATION_MINUTES),
                            ),
                            metrics=s3.CfnBucket.MetricsProperty(
                                status="Enabled",
                                event_threshold=s3.CfnBucket.ReplicationTimeValueProperty(minutes=REPLICATION_MINUTES),
                            ),
                        ),
                    )
                ],
            )
            bucket_id = Stack.of(self).get_logical_id(cfn_bucket)
            findings[f"IAM5[Resource::<{bucket_id}.Arn>/*]"] = (
                f"Replication reads every object version of the {kind} bucket; the wildcard spans only its keys."
            )
            replica_pattern = replica_bucket_name(self.stage, kind, "<AWS::AccountId>", self.dr_region)
            findings[f"IAM5[Resource::arn:<AWS::Partition>:s3:::{replica_pattern}/*]"] = (
                f"Replication writes every object of the {kind} bucket to its replica; only the replica's keys."
            )
        acknowledge_nag(role, findings)

    # --- restore tests ------------------------------------------------------------------------------

    def _restore_tests(
        self, tables: Mapping[str, dynamodb.Table], function: lambda_.Function, target: lambda_.IFunction
    ) -> None:
        name = f"agents_meetings_{self.stage}_monthly"
        self.restore_testing_plan = backup.CfnRestoreTestingPlan(
            self,
            "RestoreTestingPlan",
            restore_testing_plan_name=name,
            schedule_expression=RESTORE_TEST_SCHEDULE,
            schedule_expression_timezone="Etc/UTC",
            start_window_hours=4,
            recovery_point_selection=backup.CfnRestoreTestingPlan.RestoreTestingRecoveryPointSelectionProperty(
                algorithm="LATEST_WITHIN_WINDOW",
                include_vaults=[self.vault.backup_vault_arn],
                recovery_point_types=["SNAPSHOT"],
                selection_window_days=7,
            ),
        )
        self.restore_testing_selection = backup.CfnRestoreTestingSelection(
            self,
            "RestoreTestingTables",
            restore_testing_plan_name=name,
            restore_testing_selection_name="durable_tables",
            protected_resource_type="DynamoDB",
            protected_resource_arns=[tables[logical].table_arn for logical in DURABLE_TABLES],
            iam_role_arn=self.role.role_arn,
            validation_window_hours=RESTORE_TEST_VALIDATION_HOURS,
        )
        self.restore_testing_selection.node.add_dependency(self.restore_testing_plan)

        # The restored copies get names AWS Backup chooses: read-only, described and scanned.
        stack = Stack.of(self)
        function.add_to_role_policy(
            iam.PolicyStatement(
                actions=["dynamodb:DescribeTable", "dynamodb:Scan"],
                resources=[stack.format_arn(service="dynamodb", resource="table", resource_name="*")],
            )
        )
        function.add_to_role_policy(
            iam.PolicyStatement(
                actions=["backup:DescribeRestoreJob", "backup:PutRestoreValidationResult"], resources=["*"]
            )
        )
        acknowledge_nag(
            function,
            {
                "IAM5[Resource::arn:<AWS::Partition>:dynamodb:<AWS::Region>:<AWS::AccountId>:table/*]": "Restore "
                "tests create tables whose names AWS Backup chooses; the validation only describes and scans them.",
            },
        )
        self.validation_rule = events.Rule(
            self,
            "RestoreCompleted",
            description="A restore test's restore job completed: validate the restored table",
            event_pattern=events.EventPattern(
                source=["aws.backup"],
                detail_type=["Restore Job State Change"],
                detail={
                    "status": ["COMPLETED"],
                    "resourceType": ["DynamoDB"],
                    "restoreTestingPlanArn": [self.restore_testing_plan.attr_restore_testing_plan_arn],
                },
            ),
            targets=[targets.LambdaFunction(target, retry_attempts=2, max_event_age=Duration.hours(2))],
        )
        self._alarm(
            "RestoreTestFailed",
            cloudwatch.Metric(
                namespace=METRICS_NAMESPACE,
                metric_name="RestoreValidationFailed",
                dimensions_map={"service": VALIDATION_SERVICE},
                statistic="Sum",
                period=Duration.hours(1),
            ),
            "A restore test failed: the restored table differs from its source, or restoring took longer than "
            "the 1-hour RTO (docs/runbooks/alarms.md)",
        )
        self._alarm(
            "RestoreValidationErrors",
            function.metric_errors(period=Duration.hours(1), statistic="Sum"),
            "The restore-validation function failed: a restore test went unvalidated (docs/runbooks/alarms.md)",
        )
        self._alarm(
            "RestoreValidationUndelivered",
            cloudwatch.Metric(
                namespace="AWS/Events",
                metric_name="FailedInvocations",
                dimensions_map={"RuleName": self.validation_rule.rule_name},
                statistic="Sum",
                period=Duration.hours(1),
            ),
            "EventBridge could not invoke the restore-validation function (docs/runbooks/alarms.md)",
        )

    # --- alarms -------------------------------------------------------------------------------------

    def _job_alarms(self) -> None:
        for metric_name, what in (
            ("NumberOfBackupJobsFailed", "A backup job failed"),
            ("NumberOfCopyJobsFailed", "A copy of a recovery point to the DR region failed"),
            ("NumberOfRestoreJobsFailed", "A restore job (a restore test or a manual restore) failed"),
        ):
            self._alarm(
                pascal_case(metric_name.removeprefix("NumberOf")),
                cloudwatch.Metric(
                    namespace="AWS/Backup",
                    metric_name=metric_name,
                    dimensions_map={"BackupVaultName": self.vault.backup_vault_name},
                    statistic="Sum",
                    period=Duration.hours(1),
                ),
                f"{what} in vault {vault_name(self.stage)} (docs/runbooks/alarms.md)",
            )

    def _alarm(self, construct_id: str, metric: cloudwatch.IMetric, description: str) -> None:
        self.alarms.append(
            cloudwatch.Alarm(
                self,
                f"{construct_id}Alarm",
                metric=metric,
                threshold=1,
                evaluation_periods=1,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
                alarm_description=description,
            )
        )

    def add_alarm_action(self, *actions: cloudwatch.IAlarmAction) -> None:
        """Send every backup alarm to ``actions`` (the ops topic of the observability construct)."""
        for alarm in self.alarms:
            alarm.add_alarm_action(*actions)


class DisasterRecoveryStack(Stack):
    """The second region (context ``dr_region``): the DR vault (its own key and lock) and replica buckets."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        stage: str,
        replicated: Sequence[str],
        removal_policy: RemovalPolicy,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.key, self.vault = _vault(
            self, name=dr_vault_name(stage), removal_policy=removal_policy, region=self.region
        )
        self.replicas: dict[str, s3.Bucket] = {}
        for kind in replicated:
            bucket = s3.Bucket(
                self,
                f"{pascal_case(kind)}Replica",
                bucket_name=replica_bucket_name(stage, kind, Aws.ACCOUNT_ID, self.region),
                encryption=s3.BucketEncryption.S3_MANAGED,
                block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
                enforce_ssl=True,
                versioned=True,  # replication requires it at both ends
                removal_policy=removal_policy,
                lifecycle_rules=[
                    s3.LifecycleRule(
                        id="noncurrent-versions",
                        noncurrent_version_expiration=Duration.days(30),
                        abort_incomplete_multipart_upload_after=Duration.days(7),
                    )
                ],
            )
            acknowledge_nag(
                bucket,
                {
                    "S1": f"The {kind} replica is written by S3 replication only and read only after a failover; "
                    "CloudTrail data events can be enabled per deployment for object-level access logs.",
                },
            )
            self.replicas[kind] = bucket
            CfnOutput(self, f"{pascal_case(kind)}ReplicaBucketName", value=bucket.bucket_name)
        CfnOutput(self, "DrVaultName", value=self.vault.backup_vault_name)
