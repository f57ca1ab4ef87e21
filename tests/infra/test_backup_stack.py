"""Backups and disaster recovery (spec 4.4) in the template: the vault (customer-managed key, lock),
the plan's rules and selection, copies to the DR region, S3 replication with RTC, the restore
testing plan and its validation rule, function and alarms; the DR stack only with ``dr_region``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import Stack
from aws_cdk.assertions import Match, Template

from infra.app import STACK_ID, build_app
from infra.catalog import DURABLE_TABLES
from infra.constructs.backup import dr_vault_name, replica_bucket_name
from infra.stacks import REPLICATED_BUCKETS, PlatformStack
from tests.infra.templates import merge

pytestmark = pytest.mark.infra

DR_REGION = "eu-west-1"


class Synth:
    def __init__(self, stack: PlatformStack, outdir: Path, dr: Template | None):
        self.stack = stack
        merged = merge(stack, stack.parts)  # the parent and its nested stacks
        self.template = merged.template()
        self.resources: dict[str, Any] = merged.resources
        self.outdir = outdir
        self.dr = dr

    def of_type(self, cfn_type: str) -> dict[str, Any]:
        return {k: v for k, v in self.resources.items() if v["Type"] == cfn_type}

    def lid(self, construct: Any) -> str:
        element = construct.node.default_child if hasattr(construct.node, "default_child") else construct
        element = element or construct
        return str(Stack.of(element).get_logical_id(element))


def _synth(tmp_path_factory: pytest.TempPathFactory, context: dict[str, Any]) -> Synth:
    outdir = tmp_path_factory.mktemp("cdk.out")
    app, stack = build_app({"aws:cdk:bundling-stacks": [], **context}, outdir=str(outdir))
    assembly = app.synth()  # raises on an unacknowledged cdk-nag finding, in either stack
    dr_stacks = [s for s in assembly.stacks if s.stack_name == f"{STACK_ID}DisasterRecovery"]
    dr = Template.from_json(dr_stacks[0].template) if dr_stacks else None
    return Synth(stack, outdir, dr)


@pytest.fixture(scope="module")
def synth(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    return _synth(tmp_path_factory, {"dr_region": DR_REGION})


@pytest.fixture(scope="module")
def synth_single_region(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    return _synth(tmp_path_factory, {})


def _plan_rules(synth: Synth, plan: Any) -> dict[str, dict[str, Any]]:
    rules = synth.resources[synth.lid(plan)]["Properties"]["BackupPlan"]["BackupPlanRule"]
    return {rule["RuleName"]: rule for rule in rules}


def test_the_vault_is_encrypted_with_a_rotating_customer_managed_key_and_locked(synth: Synth) -> None:
    vault = synth.resources[synth.lid(synth.stack.backup.vault)]["Properties"]
    key_id = synth.lid(synth.stack.backup.key)
    assert vault["EncryptionKeyArn"] == {"Fn::GetAtt": [key_id, "Arn"]}
    assert synth.resources[key_id]["Properties"]["EnableKeyRotation"] is True
    assert vault["LockConfiguration"] == {"MinRetentionDays": 7, "MaxRetentionDays": 91}
    assert "ChangeableForDays" not in vault["LockConfiguration"]  # governance mode, not irreversible
    statements = synth.resources[key_id]["Properties"]["KeyPolicy"]["Statement"]
    assert any(s.get("Sid") == "AllowAwsBackupInThisAccount" for s in statements)


def test_the_plan_keeps_daily_backups_30_days_and_weekly_12_weeks_each_copied_to_the_dr_vault(synth: Synth) -> None:
    rules = _plan_rules(synth, synth.stack.backup.plan)
    assert set(rules) == {"daily", "weekly"}
    assert rules["daily"]["ScheduleExpression"] == "cron(0 3 * * ? *)"
    assert rules["daily"]["Lifecycle"] == {"DeleteAfterDays": 30}
    assert rules["weekly"]["ScheduleExpression"] == "cron(0 4 ? * SUN *)"
    assert rules["weekly"]["Lifecycle"] == {"DeleteAfterDays": 84}
    for name, days in (("daily", 30), ("weekly", 84)):
        [copy] = rules[name]["CopyActions"]
        assert copy["Lifecycle"] == {"DeleteAfterDays": days}
        target = json.dumps(copy["DestinationBackupVaultArn"])
        assert f"{DR_REGION}:" in target and f"backup-vault:{dr_vault_name('prod')}" in target
        assert rules[name]["TargetBackupVault"] == {
            "Fn::GetAtt": [synth.lid(synth.stack.backup.vault), "BackupVaultName"]
        }


def test_buckets_are_also_backed_up_continuously_for_the_one_hour_rpo(synth: Synth) -> None:
    [rule] = _plan_rules(synth, synth.stack.backup.continuous_plan).values()
    assert rule["EnableContinuousBackup"] is True
    assert rule["Lifecycle"] == {"DeleteAfterDays": 35}
    assert rule["ScheduleExpression"] == "cron(0 * * * ? *)"


def test_every_table_is_backed_up_hourly_and_each_point_copied_to_the_dr_vault_for_a_one_hour_rpo(
    synth: Synth,
) -> None:
    [rule] = _plan_rules(synth, synth.stack.backup.hourly_plan).values()
    assert rule["RuleName"] == "hourly" and rule["ScheduleExpression"] == "cron(30 * * * ? *)"
    # The vault lock's minimum retention (7 days) is the shortest either vault accepts.
    lock = synth.resources[synth.lid(synth.stack.backup.vault)]["Properties"]["LockConfiguration"]
    assert rule["Lifecycle"] == {"DeleteAfterDays": lock["MinRetentionDays"]} == {"DeleteAfterDays": 7}
    assert rule["StartWindowMinutes"] == 60 and rule["CompletionWindowMinutes"] == 120
    [copy] = rule["CopyActions"]
    assert copy["Lifecycle"] == {"DeleteAfterDays": 7}
    target = json.dumps(copy["DestinationBackupVaultArn"])
    assert f"{DR_REGION}:" in target and f"backup-vault:{dr_vault_name('prod')}" in target
    plan_id = synth.lid(synth.stack.backup.hourly_plan)
    [selection] = [
        s
        for s in synth.of_type("AWS::Backup::BackupSelection").values()
        if s["Properties"]["BackupPlanId"] == {"Fn::GetAtt": [plan_id, "BackupPlanId"]}
    ]
    resources = json.dumps(selection["Properties"]["BackupSelection"]["Resources"])
    for table in synth.stack.data.tables.values():
        assert synth.lid(table) in resources
    # Tables only: the buckets replicate within 15 minutes and have continuous backup.
    for bucket in (synth.stack.recordings_bucket, synth.stack.search.materials_bucket):
        assert synth.lid(bucket) not in resources


def test_the_dr_plan_states_the_rpo_the_template_gives(synth: Synth) -> None:
    plan = (Path(__file__).resolve().parents[2] / "docs" / "runbooks" / "dr-plan.md").read_text()
    assert "hourly" in plan and "agents-meetings-<stage>-hourly" in plan
    assert "up to 24 hours" not in plan


def test_every_table_and_data_bucket_is_selected_with_a_role_that_may_back_up_and_restore(synth: Synth) -> None:
    selections = synth.of_type("AWS::Backup::BackupSelection")
    everything = next(
        s for s in selections.values() if s["Properties"]["BackupSelection"]["SelectionName"] == "tables-and-buckets"
    )
    resources = json.dumps(everything["Properties"]["BackupSelection"]["Resources"])
    for table in synth.stack.data.tables.values():
        assert synth.lid(table) in resources
    for bucket in (synth.stack.recordings_bucket, synth.stack.search.materials_bucket):
        assert synth.lid(bucket) in resources
    role_id = synth.lid(synth.stack.backup.role)
    assert everything["Properties"]["BackupSelection"]["IamRoleArn"] == {"Fn::GetAtt": [role_id, "Arn"]}
    policies = json.dumps(synth.resources[role_id]["Properties"]["ManagedPolicyArns"])
    for name in ("AWSBackupServiceRolePolicyForBackup", "ForRestores", "ForS3Backup", "ForS3Restore"):
        assert name in policies


def test_recordings_and_materials_replicate_to_the_dr_region_with_replication_time_control(synth: Synth) -> None:
    for kind, bucket in (
        ("recordings", synth.stack.recordings_bucket),
        ("materials", synth.stack.search.materials_bucket),
    ):
        props = synth.resources[synth.lid(bucket)]["Properties"]
        assert props["VersioningConfiguration"] == {"Status": "Enabled"}
        [rule] = props["ReplicationConfiguration"]["Rules"]
        assert rule["Status"] == "Enabled" and rule["DeleteMarkerReplication"] == {"Status": "Enabled"}
        destination = rule["Destination"]
        assert destination["ReplicationTime"] == {"Status": "Enabled", "Time": {"Minutes": 15}}
        assert destination["Metrics"] == {"Status": "Enabled", "EventThreshold": {"Minutes": 15}}
        expected = replica_bucket_name("prod", kind, "${AWS::AccountId}", DR_REGION).split("${AWS::AccountId}")
        assert expected[0] in json.dumps(destination["Bucket"]) and expected[1] in json.dumps(destination["Bucket"])
    assert REPLICATED_BUCKETS == ("recordings", "materials")


def test_the_dr_stack_holds_a_locked_encrypted_vault_and_versioned_replica_buckets(synth: Synth) -> None:
    assert synth.dr is not None
    synth.dr.has_resource_properties(
        "AWS::Backup::BackupVault",
        {
            "BackupVaultName": dr_vault_name("prod"),
            "EncryptionKeyArn": Match.any_value(),
            "LockConfiguration": {"MinRetentionDays": 7, "MaxRetentionDays": 91},
        },
    )
    synth.dr.has_resource_properties("AWS::KMS::Key", {"EnableKeyRotation": True})
    buckets = synth.dr.find_resources("AWS::S3::Bucket")
    assert len(buckets) == len(REPLICATED_BUCKETS)
    for bucket in buckets.values():
        assert bucket["Properties"]["VersioningConfiguration"] == {"Status": "Enabled"}
        assert bucket["Properties"]["PublicAccessBlockConfiguration"]["BlockPublicPolicy"] is True
    names = json.dumps([b["Properties"]["BucketName"] for b in buckets.values()])
    assert all(f"am-prod-{kind}-replica-" in names for kind in REPLICATED_BUCKETS)


def test_without_dr_region_there_is_no_dr_stack_no_copy_and_no_replication(synth_single_region: Synth) -> None:
    synth = synth_single_region
    assert synth.dr is None
    for plan in (synth.stack.backup.plan, synth.stack.backup.hourly_plan):
        assert all("CopyActions" not in rule for rule in _plan_rules(synth, plan).values())
    assert all("ReplicationConfiguration" not in b["Properties"] for b in synth.of_type("AWS::S3::Bucket").values())
    assert len(synth.of_type("AWS::Backup::RestoreTestingPlan")) == 1


def test_a_monthly_restore_test_restores_every_durable_table(synth: Synth) -> None:
    [plan] = synth.of_type("AWS::Backup::RestoreTestingPlan").values()
    props = plan["Properties"]
    assert props["ScheduleExpression"] == "cron(0 5 2 * ? *)"  # monthly
    selection_of_points = props["RecoveryPointSelection"]
    assert selection_of_points["Algorithm"] == "LATEST_WITHIN_WINDOW"
    assert selection_of_points["IncludeVaults"] == [
        {"Fn::GetAtt": [synth.lid(synth.stack.backup.vault), "BackupVaultArn"]}
    ]
    [selection] = synth.of_type("AWS::Backup::RestoreTestingSelection").values()
    sprops = selection["Properties"]
    assert sprops["RestoreTestingPlanName"] == props["RestoreTestingPlanName"]
    assert sprops["ProtectedResourceType"] == "DynamoDB"
    assert sprops["ValidationWindowHours"] == 4
    tables = synth.stack.data.tables
    assert sprops["ProtectedResourceArns"] == [{"Fn::GetAtt": [synth.lid(tables[t]), "Arn"]} for t in DURABLE_TABLES]
    assert 0 < len(DURABLE_TABLES) <= 30  # the most ARNs a selection takes


def test_a_completed_restore_test_invokes_the_validation_function(synth: Synth) -> None:
    function_id = synth.lid(synth.stack.functions.functions["restore-validation"])
    [rule] = [r for r in synth.of_type("AWS::Events::Rule").values() if "aws.backup" in json.dumps(r["Properties"])]
    pattern = rule["Properties"]["EventPattern"]
    assert pattern["source"] == ["aws.backup"] and pattern["detail-type"] == ["Restore Job State Change"]
    assert pattern["detail"]["status"] == ["COMPLETED"]
    plan_id = next(iter(synth.of_type("AWS::Backup::RestoreTestingPlan")))
    assert pattern["detail"]["restoreTestingPlanArn"] == [{"Fn::GetAtt": [plan_id, "RestoreTestingPlanArn"]}]
    [target] = rule["Properties"]["Targets"]
    # The function's live alias (SnapStart works on published versions only); grants stay on the function.
    assert target["Arn"] == {"Ref": synth.lid(synth.stack.functions.aliases["restore-validation"])}
    assert function_id in json.dumps(synth.resources[synth.lid(synth.stack.functions.aliases["restore-validation"])])
    policy = json.dumps(
        [
            p["Properties"]["PolicyDocument"]
            for p in synth.of_type("AWS::IAM::Policy").values()
            if {"Ref": synth.lid(synth.stack.functions.functions["restore-validation"].role)}
            in p["Properties"]["Roles"]
        ]
    )
    for action in ("backup:PutRestoreValidationResult", "backup:DescribeRestoreJob", "dynamodb:Scan"):
        assert action in policy


def test_failed_or_slow_restore_tests_and_failed_backup_jobs_raise_alarms(synth: Synth) -> None:
    alarms = {
        a["Properties"]["MetricName"]: a["Properties"]
        for a in (synth.resources[synth.lid(alarm)] for alarm in synth.stack.backup.alarms)
    }
    assert set(alarms) == {
        "RestoreValidationFailed",
        "Errors",
        "FailedInvocations",
        "NumberOfBackupJobsFailed",
        "NumberOfCopyJobsFailed",
        "NumberOfRestoreJobsFailed",
    }
    assert alarms["RestoreValidationFailed"]["Namespace"] == "AgentsMeetings"
    assert alarms["RestoreValidationFailed"]["Dimensions"] == [{"Name": "service", "Value": "restore-validation"}]
    function_id = synth.lid(synth.stack.functions.functions["restore-validation"])
    assert alarms["Errors"]["Dimensions"] == [{"Name": "FunctionName", "Value": {"Ref": function_id}}]
    for props in alarms.values():
        assert props["Threshold"] == 1 and props["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"


def test_every_alarm_of_the_stack_has_a_response_in_the_alarm_runbook(synth: Synth) -> None:
    runbook = (Path(__file__).resolve().parents[2] / "docs" / "runbooks" / "alarms.md").read_text()
    names = {logical_id[:-8] for logical_id in synth.of_type("AWS::CloudWatch::Alarm")}  # CDK's 8-hex suffix
    missing = sorted(name for name in names if f"`{name}`" not in runbook)
    assert not missing, f"add these alarms to docs/runbooks/alarms.md: {missing}"
