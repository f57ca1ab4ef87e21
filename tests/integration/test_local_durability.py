"""The embedded AWS keeps what it acknowledged: DynamoDB items, S3 objects and SQS messages survive a
crash (no clean stop) and a clean stop, at 8 concurrent writers with large items; restore never
throws away data it cannot read; concurrent writes never hit moto's thread-unsafety."""

from __future__ import annotations

import hashlib
import io
import json
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests
from boto3.s3.transfer import TransferConfig
from botocore.config import Config

from infra.local.durability import CorruptJournal, Journal
from infra.local.embedded_aws import EmbeddedAws
from infra.local.functions import FunctionRegistry
from infra.local.runtime import free_port

pytestmark = pytest.mark.integration

TABLE = "durability-items"
BUCKET = "durability-objects"
QUEUE = "durability-queue"
DLQ = "durability-dlq"
# No botocore retries: a request that fails under concurrency fails the test instead of being hidden.
NO_RETRIES = Config(retries={"max_attempts": 1, "mode": "standard"})


class Aws:
    """One embedded AWS on a data directory, with the test's table, bucket and queues."""

    def __init__(self, data_dir: Path):
        self.aws = EmbeddedAws(free_port(), data_dir, FunctionRegistry())
        self.aws.start()
        self.url = self.aws.url
        requests.post(f"{self.url}/moto-api/reset", timeout=10).raise_for_status()
        self._create_resources()
        self.restored = self.aws.restore()

    def client(self, service: str) -> Any:
        return boto3.client(
            service,
            endpoint_url=self.url,
            region_name="us-east-1",
            aws_access_key_id="local",
            aws_secret_access_key="local",
            config=NO_RETRIES,
        )

    def _create_resources(self) -> None:
        dynamodb = self.client("dynamodb")
        dynamodb.create_table(
            TableName=TABLE,
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        self.client("s3").create_bucket(Bucket=BUCKET)
        sqs = self.client("sqs")
        dlq_url = sqs.create_queue(QueueName=DLQ)["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        sqs.create_queue(
            QueueName=QUEUE,
            Attributes={
                "VisibilityTimeout": "0",
                "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "2"}),
            },
        )

    def queue_url(self, name: str = QUEUE) -> str:
        return str(self.client("sqs").get_queue_url(QueueName=name)["QueueUrl"])

    def crash(self) -> None:
        """Stop as ``kill -9`` would: no snapshot; only what is on disk remains."""
        self.aws.stop(snapshot=False)

    def stop(self) -> None:
        self.aws.stop()


@pytest.fixture
def start(tmp_path: Path) -> Iterator[Callable[[], Aws]]:
    started: list[Aws] = []

    def make() -> Aws:
        aws = Aws(tmp_path)
        started.append(aws)
        return aws

    yield make
    for aws in started:
        aws.crash()


def run_concurrently(work: Callable[[int], None], threads: int = 8) -> None:
    errors: list[BaseException] = []

    def guarded(index: int) -> None:
        try:
            work(index)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    workers = [threading.Thread(target=guarded, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert not errors, errors[:3]


def write_burst(aws: Aws) -> dict[str, Any]:
    """8 writers x 15 large items, counters, transactions, objects and messages; what was acknowledged."""
    dynamodb = aws.client("dynamodb")
    s3 = aws.client("s3")
    sqs = aws.client("sqs")
    queue_url = aws.queue_url()
    description = "d" * 5000

    def writer(index: int) -> None:
        for n in range(15):
            dynamodb.put_item(
                TableName=TABLE,
                Item={"pk": {"S": f"w{index}"}, "sk": {"S": f"{n:03d}"}, "text": {"S": description}},
            )
            dynamodb.update_item(
                TableName=TABLE,
                Key={"pk": {"S": "counter"}, "sk": {"S": "0"}},
                UpdateExpression="ADD hits :one",
                ExpressionAttributeValues={":one": {"N": "1"}},
            )
            dynamodb.transact_write_items(
                TransactItems=[
                    {"Put": {"TableName": TABLE, "Item": {"pk": {"S": f"t{index}"}, "sk": {"S": f"{n:03d}"}}}},
                    {
                        "Update": {
                            "TableName": TABLE,
                            "Key": {"pk": {"S": "tx-counter"}, "sk": {"S": str(index)}},
                            "UpdateExpression": "ADD n :one",
                            "ExpressionAttributeValues": {":one": {"N": "1"}},
                        }
                    },
                ]
            )
        s3.put_object(
            Bucket=BUCKET,
            Key=f"objects/{index}.bin",
            Body=bytes([index]) * 50_000,
            ContentType="application/octet-stream",
            Metadata={"writer": str(index)},
        )
        for n in range(4):
            sqs.send_message(QueueUrl=queue_url, MessageBody=json.dumps({"writer": index, "n": n}))

    run_concurrently(writer)
    # A deleted item and a deleted object stay deleted.
    dynamodb.delete_item(TableName=TABLE, Key={"pk": {"S": "w0"}, "sk": {"S": "000"}})
    s3.delete_object(Bucket=BUCKET, Key="objects/7.bin")
    # A multipart upload (its upload id is random: a replay of requests could not redo it).
    big = hashlib.sha256(b"seed").digest() * (11 * 1024 * 1024 // 32)
    s3.upload_fileobj(
        io.BytesIO(big),
        BUCKET,
        "recordings/web/recording.mp4",
        ExtraArgs={"ContentType": "video/mp4"},
        Config=TransferConfig(multipart_threshold=5 * 1024 * 1024, multipart_chunksize=5 * 1024 * 1024),
    )
    # Ten messages consumed (received and deleted), the rest still queued.
    consumed: set[str] = set()
    while len(consumed) < 10:
        for message in sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10 - len(consumed)).get(
            "Messages", []
        ):
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
            consumed.add(message["MessageId"])
    return {"big": hashlib.sha256(big).hexdigest(), "consumed": consumed}


def all_messages(aws: Aws, name: str = QUEUE) -> dict[str, str]:
    """Every message in the queue (id -> body), read through the backend without receiving."""
    from moto.sqs.models import sqs_backends

    queue = sqs_backends["123456789012"]["us-east-1"].queues[name]
    return {m.id: m.body for m in queue._messages}


def check_burst(aws: Aws, acknowledged: dict[str, Any]) -> None:
    dynamodb = aws.client("dynamodb")
    s3 = aws.client("s3")
    for index in range(8):
        for n in range(15):
            item = dynamodb.get_item(TableName=TABLE, Key={"pk": {"S": f"w{index}"}, "sk": {"S": f"{n:03d}"}})
            if (index, n) == (0, 0):
                assert "Item" not in item
            else:
                assert item["Item"]["text"]["S"] == "d" * 5000
            assert "Item" in dynamodb.get_item(TableName=TABLE, Key={"pk": {"S": f"t{index}"}, "sk": {"S": f"{n:03d}"}})
        tx = dynamodb.get_item(TableName=TABLE, Key={"pk": {"S": "tx-counter"}, "sk": {"S": str(index)}})
        assert tx["Item"]["n"]["N"] == "15"
    counter = dynamodb.get_item(TableName=TABLE, Key={"pk": {"S": "counter"}, "sk": {"S": "0"}})
    assert counter["Item"]["hits"]["N"] == "120"
    for index in range(8):
        if index == 7:
            with pytest.raises(s3.exceptions.ClientError):
                s3.head_object(Bucket=BUCKET, Key="objects/7.bin")
            continue
        got = s3.get_object(Bucket=BUCKET, Key=f"objects/{index}.bin")
        assert got["Body"].read() == bytes([index]) * 50_000
        assert got["ContentType"] == "application/octet-stream"
        assert got["Metadata"] == {"writer": str(index)}
    video = s3.get_object(Bucket=BUCKET, Key="recordings/web/recording.mp4")
    assert hashlib.sha256(video["Body"].read()).hexdigest() == acknowledged["big"]
    assert video["ContentType"] == "video/mp4"
    messages = all_messages(aws)
    assert len(messages) == 32 - 10
    assert not set(messages) & acknowledged["consumed"]
    assert sorted(json.loads(b)["writer"] for b in messages.values()).count(3) <= 4


def test_acknowledged_writes_and_queued_messages_survive_a_crash(start: Callable[[], Aws]) -> None:
    first = start()
    acknowledged = write_burst(first)
    first.crash()

    second = start()
    assert second.restored > 0
    check_burst(second, acknowledged)


def test_acknowledged_writes_survive_a_clean_stop_and_a_second_restart(
    start: Callable[[], Aws], tmp_path: Path
) -> None:
    first = start()
    acknowledged = write_burst(first)
    first.stop()
    # A clean stop leaves one snapshot and an empty journal: the next start reads the state once.
    assert [p.name for p in (tmp_path / "aws").glob("snapshot-*.jsonl")] == ["snapshot-00000001.jsonl"]
    assert (tmp_path / "aws" / "journal-00000001.jsonl").stat().st_size == 0

    second = start()
    check_burst(second, acknowledged)
    second.client("dynamodb").put_item(TableName=TABLE, Item={"pk": {"S": "after"}, "sk": {"S": "restart"}})
    second.crash()

    third = start()
    check_burst(third, acknowledged)
    assert "Item" in third.client("dynamodb").get_item(
        TableName=TABLE, Key={"pk": {"S": "after"}, "sk": {"S": "restart"}}
    )


def test_a_dead_lettered_message_stays_in_the_dead_letter_queue_after_a_crash(start: Callable[[], Aws]) -> None:
    first = start()
    sqs = first.client("sqs")
    url = first.queue_url()
    message_id = sqs.send_message(QueueUrl=url, MessageBody="poison")["MessageId"]
    for _ in range(4):  # received twice (maxReceiveCount 2), then moved to the DLQ on the next receive
        sqs.receive_message(QueueUrl=url)
    assert message_id in all_messages(first, DLQ)
    first.crash()

    second = start()
    assert message_id in all_messages(second, DLQ)
    assert message_id not in all_messages(second, QUEUE)


def test_concurrent_transactions_and_writes_never_fail_inside_the_embedded_aws(start: Callable[[], Aws]) -> None:
    # moto deep-copies tables in a transaction; a concurrent write used to raise "dictionary changed
    # size during iteration" (hidden by botocore's retries). With no retries, nothing may fail.
    aws = start()
    dynamodb = aws.client("dynamodb")

    def writer(index: int) -> None:
        for n in range(40):
            if n % 2:
                dynamodb.transact_write_items(
                    TransactItems=[
                        {"Put": {"TableName": TABLE, "Item": {"pk": {"S": f"c{index}"}, "sk": {"S": str(n)}}}}
                    ]
                )
            else:
                dynamodb.put_item(TableName=TABLE, Item={"pk": {"S": f"c{index}"}, "sk": {"S": str(n)}})

    run_concurrently(writer)
    count = dynamodb.scan(TableName=TABLE, Select="COUNT")["Count"]
    assert count == 8 * 40


def test_a_torn_last_line_is_skipped_and_kept_aside(start: Callable[[], Aws], tmp_path: Path) -> None:
    first = start()
    first.client("dynamodb").put_item(TableName=TABLE, Item={"pk": {"S": "kept"}, "sk": {"S": "1"}})
    first.crash()
    journal = next((tmp_path / "aws").glob("journal-*.jsonl"))
    with journal.open("ab") as file:
        file.write(b'{"k":"ddb","t":"durability-items","item":{"pk":{"S":"tor')  # a write cut short

    second = start()
    assert "Item" in second.client("dynamodb").get_item(TableName=TABLE, Key={"pk": {"S": "kept"}, "sk": {"S": "1"}})
    assert list((tmp_path / "aws").glob("journal-*.jsonl.torn-*"))
    second.client("dynamodb").put_item(TableName=TABLE, Item={"pk": {"S": "next"}, "sk": {"S": "1"}})
    second.crash()

    third = start()  # the torn line does not corrupt what came after it
    for pk in ("kept", "next"):
        assert "Item" in third.client("dynamodb").get_item(TableName=TABLE, Key={"pk": {"S": pk}, "sk": {"S": "1"}})


def test_an_unreadable_line_stops_the_start_and_changes_no_file(start: Callable[[], Aws], tmp_path: Path) -> None:
    first = start()
    dynamodb = first.client("dynamodb")
    for n in range(3):
        dynamodb.put_item(TableName=TABLE, Item={"pk": {"S": "row"}, "sk": {"S": str(n)}})
    first.crash()
    journal = next((tmp_path / "aws").glob("journal-*.jsonl"))
    lines = journal.read_bytes().split(b"\n")
    lines.insert(1, b"\x00garbage")
    journal.write_bytes(b"\n".join(lines))
    before = {p.name: p.read_bytes() for p in (tmp_path / "aws").iterdir() if p.is_file()}

    with pytest.raises(CorruptJournal, match=rf"{journal.name}, line 2"):
        start()
    after = {p.name: p.read_bytes() for p in (tmp_path / "aws").iterdir() if p.is_file()}
    assert after == before


def test_a_snapshot_whose_checksum_does_not_match_is_refused(tmp_path: Path) -> None:
    journal = Journal(tmp_path)
    journal.write_snapshot(1, [{"k": "ddb", "t": "x", "item": {"pk": {"S": "a"}}}])
    path = journal.snapshot_path(1)
    path.write_bytes(path.read_bytes().replace(b'"a"', b'"b"'))
    with pytest.raises(CorruptJournal, match="checksum"):
        list(Journal(tmp_path).read())


def test_a_snapshot_cut_short_falls_back_to_the_previous_generation(tmp_path: Path) -> None:
    journal = Journal(tmp_path)
    journal.write_snapshot(1, [{"k": "ddb", "t": "x", "item": {"pk": {"S": "a"}}}])
    journal.journal_path(1).write_text('{"k":"ddb","t":"x","item":{"pk":{"S":"b"}}}\n')
    # Generation 2's snapshot was being written when the process died: no trailer.
    journal.snapshot_path(2).write_text('{"k":"ddb","t":"x","item":{"pk":{"S":"a"}}}\n')
    keys = [e["item"]["pk"]["S"] for e in Journal(tmp_path).read()]
    assert keys == ["a", "b"]


def test_an_object_written_again_after_a_compaction_needs_only_its_last_blob(
    start: Callable[[], Aws], tmp_path: Path
) -> None:
    # Between a compaction's snapshot and its blob collection an object may be written twice: the
    # journal then names a first blob that the collection removed. Restore reads only the last state.
    first = start()
    s3 = first.client("s3")
    s3.put_object(Bucket=BUCKET, Key="twice.txt", Body=b"first")
    s3.put_object(Bucket=BUCKET, Key="twice.txt", Body=b"second")
    first.crash()
    (tmp_path / "aws" / "blobs" / hashlib.sha256(b"first").hexdigest()).unlink()

    second = start()
    assert second.client("s3").get_object(Bucket=BUCKET, Key="twice.txt")["Body"].read() == b"second"
