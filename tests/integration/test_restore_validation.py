"""The restore-validation job (spec 4.4): a restored table is compared with its source (moto
DynamoDB) and the verdict reported to AWS Backup. moto has no restore jobs, so AWS Backup is a
recording stand-in that answers DescribeRestoreJob as the service does."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from types import ModuleType
from typing import Any

import pytest
from agents_meetings import backups
from http_support import FakeLambdaContext

from tests.conftest import AwsHarness

pytestmark = pytest.mark.integration

ACCOUNT = "123456789012"


class RecordingBackup:
    def __init__(self, source: str, restored: str, minutes: float = 25, resource_type: str = "DynamoDB"):
        created = datetime(2030, 1, 2, 5, 0, tzinfo=UTC)
        self.job = {
            "RestoreJobId": "job-1",
            "ResourceType": resource_type,
            "SourceResourceArn": f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/{source}",
            "CreatedResourceArn": f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/{restored}",
            "CreationDate": created,
            "CompletionDate": created + timedelta(minutes=minutes),
        }
        self.reported: list[dict[str, str]] = []

    def describe_restore_job(self, RestoreJobId: str) -> dict[str, Any]:
        assert RestoreJobId == self.job["RestoreJobId"]
        return self.job

    def put_restore_validation_result(self, **kwargs: str) -> None:
        self.reported.append(kwargs)


def _copy_table(aws: AwsHarness, source: str, target: str, change: Callable[[list[dict[str, Any]]], None]) -> None:
    dynamodb = aws.client("dynamodb")
    described = dynamodb.describe_table(TableName=source)["Table"]
    dynamodb.create_table(
        TableName=target,
        KeySchema=described["KeySchema"],
        AttributeDefinitions=[
            a
            for a in described["AttributeDefinitions"]
            if a["AttributeName"] in {k["AttributeName"] for k in described["KeySchema"]}
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    items = dynamodb.scan(TableName=source)["Items"]
    change(items)
    for item in items:
        dynamodb.put_item(TableName=target, Item=item)


def _seed(aws: AwsHarness, count: int = 40) -> str:
    table = f"{aws.settings.table_prefix}meetings"
    for n in range(count):
        aws.client("dynamodb").put_item(
            TableName=table, Item={"id": {"S": f"m-{n:03d}"}, "title": {"S": f"Meeting {n}"}, "n": {"N": str(n)}}
        )
    return table


def test_an_identical_restore_within_the_rto_passes_and_is_reported(aws: AwsHarness) -> None:
    source = _seed(aws)
    _copy_table(aws, source, "restored-identical", lambda items: None)
    fake = RecordingBackup(source, "restored-identical")
    verdict = backups.validate_restore_job("job-1", backup=fake, dynamodb=aws.client("dynamodb"))
    assert verdict is not None and verdict.passed
    assert "identical tables" in verdict.message and "items restored 40, source 40" in verdict.message
    assert fake.reported == [
        {"RestoreJobId": "job-1", "ValidationStatus": "SUCCESSFUL", "ValidationStatusMessage": verdict.message}
    ]


def test_a_source_that_changed_a_little_since_the_recovery_point_still_passes(aws: AwsHarness) -> None:
    source = _seed(aws)
    _copy_table(aws, source, "restored-older", lambda items: items.pop())  # one item newer than the backup
    fake = RecordingBackup(source, "restored-older")
    verdict = backups.validate_restore_job("job-1", backup=fake, dynamodb=aws.client("dynamodb"))
    assert verdict is not None and verdict.passed, verdict
    assert "identical tables" not in verdict.message


def test_a_restore_missing_much_of_the_data_fails(aws: AwsHarness) -> None:
    source = _seed(aws)
    _copy_table(aws, source, "restored-partial", lambda items: items.__delitem__(slice(0, 20)))
    fake = RecordingBackup(source, "restored-partial")
    verdict = backups.validate_restore_job("job-1", backup=fake, dynamodb=aws.client("dynamodb"))
    assert verdict is not None and not verdict.passed
    assert "item counts differ by 20" in verdict.message
    assert fake.reported[0]["ValidationStatus"] == "FAILED"


def test_restored_items_whose_contents_differ_fail_the_checksum(aws: AwsHarness) -> None:
    source = _seed(aws)

    def corrupt(items: list[dict[str, Any]]) -> None:
        for item in items[:10]:
            item["title"] = {"S": "garbled"}

    _copy_table(aws, source, "restored-garbled", corrupt)
    verdict = backups.validate_restore_job(
        "job-1", backup=RecordingBackup(source, "restored-garbled"), dynamodb=aws.client("dynamodb")
    )
    assert verdict is not None and not verdict.passed
    assert "10 restored items differ from the source" in verdict.message


def test_a_restore_slower_than_the_one_hour_rto_fails(aws: AwsHarness) -> None:
    source = _seed(aws)
    _copy_table(aws, source, "restored-slow", lambda items: None)
    verdict = backups.validate_restore_job(
        "job-1", backup=RecordingBackup(source, "restored-slow", minutes=75), dynamodb=aws.client("dynamodb")
    )
    assert verdict is not None and not verdict.passed
    assert "over the 60 min RTO" in verdict.message


def test_an_empty_restore_of_a_non_empty_table_fails(aws: AwsHarness) -> None:
    source = _seed(aws, count=3)
    _copy_table(aws, source, "restored-empty", lambda items: items.clear())
    verdict = backups.validate_restore_job(
        "job-1", backup=RecordingBackup(source, "restored-empty"), dynamodb=aws.client("dynamodb")
    )
    assert verdict is not None and "the restored table is empty" in verdict.message


def test_a_restored_table_that_is_gone_fails_rather_than_erroring(aws: AwsHarness) -> None:
    source = _seed(aws, count=3)
    fake = RecordingBackup(source, "never-created")
    verdict = backups.validate_restore_job("job-1", backup=fake, dynamodb=aws.client("dynamodb"))
    assert verdict is not None and not verdict.passed and "does not exist" in verdict.message
    assert fake.reported[0]["ValidationStatus"] == "FAILED"


def test_the_handler_reports_and_counts_a_failure_and_skips_a_non_table_restore(
    aws: AwsHarness, load_handler: Callable[[str], ModuleType], monkeypatch: pytest.MonkeyPatch
) -> None:
    source = _seed(aws)
    _copy_table(aws, source, "restored-handler", lambda items: items.__delitem__(slice(0, 30)))
    fake = RecordingBackup(source, "restored-handler")
    monkeypatch.setattr(backups, "aws_client", lambda service: fake if service == "backup" else aws.client(service))
    module = load_handler("jobs/restore_validation")
    event = {"source": "aws.backup", "detail-type": "Restore Job State Change", "detail": {"restoreJobId": "job-1"}}
    result = module.handler(event, FakeLambdaContext())
    assert result["status"] == "FAILED" and fake.reported[0]["ValidationStatus"] == "FAILED"

    fake.job["ResourceType"] = "S3"
    assert module.handler(event, FakeLambdaContext())["status"] == "SKIPPED"
    assert len(fake.reported) == 1  # nothing reported for what it does not validate
