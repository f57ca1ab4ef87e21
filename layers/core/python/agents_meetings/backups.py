"""Restore tests (spec 4.4): a table AWS Backup restored, checked against its source, and the verdict
reported to AWS Backup (``PutRestoreValidationResult``).

The monthly restore testing plan (infra/constructs/backup.py) restores the latest recovery point of
each durable table into a new table; when the restore job completes, EventBridge invokes the
``restore-validation`` job with the job id. The check:

- the restore finished within the RTO (1 hour, the spec): a restore that is slower fails the test;
- both tables are scanned (strongly consistent) into an exact item count and an order-independent
  checksum (the sum of every item's SHA-256 over its canonical JSON, mod 2**256);
- equal checksums: the restored table is the source. Otherwise the source has changed since the
  recovery point (taken up to a day before): the test passes while the item counts differ by at
  most ``max_drift`` of the source's (5 %) and at most that many restored items differ from the
  source's item of the same key; more than that, or an empty restore of a non-empty source, fails.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from agents_meetings.aws_clients import aws_client

RTO_SECONDS = 3600
MAX_DRIFT = 0.05
MESSAGE_LIMIT = 1000
_MODULUS = 2**256


@dataclass(frozen=True)
class TableFingerprint:
    count: int
    checksum: str
    # SHA-256 of each item's key -> SHA-256 of the item: which items the two tables share as they are.
    items: dict[bytes, bytes]


@dataclass(frozen=True)
class Verdict:
    status: Literal["SUCCESSFUL", "FAILED"]
    message: str

    @property
    def passed(self) -> bool:
        return self.status == "SUCCESSFUL"


def _canonical(value: Any) -> bytes:
    def default(raw: Any) -> str:
        if isinstance(raw, bytes | bytearray):
            return base64.b64encode(bytes(raw)).decode()
        if isinstance(raw, set | frozenset):
            return json.dumps(sorted(raw, key=str), default=default)
        raise TypeError(f"cannot fingerprint {type(raw).__name__}")

    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=default).encode()


def _scan(dynamodb: Any, table_name: str) -> Iterator[dict[str, Any]]:
    paginator = dynamodb.get_paginator("scan")
    for page in paginator.paginate(TableName=table_name, ConsistentRead=True):
        yield from page.get("Items", [])


def fingerprint(table_name: str, *, dynamodb: Any | None = None) -> TableFingerprint:
    """Exact item count and checksum of a table (low-level attribute values, so no type is lost)."""
    dynamodb = dynamodb or aws_client("dynamodb")
    schema = dynamodb.describe_table(TableName=table_name)["Table"]["KeySchema"]
    key_names = [key["AttributeName"] for key in schema]
    total = 0
    items: dict[bytes, bytes] = {}
    for item in _scan(dynamodb, table_name):
        item_hash = hashlib.sha256(_canonical(item)).digest()
        key_hash = hashlib.sha256(_canonical({name: item.get(name) for name in key_names})).digest()
        items[key_hash] = item_hash
        total = (total + int.from_bytes(item_hash, "big")) % _MODULUS
    return TableFingerprint(len(items), f"{total:064x}", items)


def compare(
    source: TableFingerprint,
    restored: TableFingerprint,
    *,
    restore_seconds: float,
    max_drift: float = MAX_DRIFT,
    rto_seconds: int = RTO_SECONDS,
) -> Verdict:
    problems = []
    if restore_seconds > rto_seconds:
        problems.append(f"the restore took {restore_seconds / 60:.0f} min, over the {rto_seconds // 60} min RTO")
    identical = sum(1 for key, item in restored.items.items() if source.items.get(key) == item)
    allowed = math.ceil(source.count * max_drift)
    if source.count and not restored.count:
        problems.append("the restored table is empty")
    elif abs(source.count - restored.count) > allowed:
        problems.append(f"item counts differ by {abs(source.count - restored.count)}, more than {allowed} allowed")
    if restored.count - identical > allowed:
        problems.append(f"{restored.count - identical} restored items differ from the source, more than {allowed}")
    same = source.checksum == restored.checksum
    summary = (
        f"items restored {restored.count}, source {source.count}, identical {identical}; "
        f"checksum restored {restored.checksum[:16]}, source {source.checksum[:16]}"
        f"{' (identical tables)' if same else ''}; restore took {restore_seconds / 60:.1f} min"
    )
    if problems:
        return Verdict("FAILED", f"{'; '.join(problems)}. {summary}"[:MESSAGE_LIMIT])
    return Verdict("SUCCESSFUL", summary[:MESSAGE_LIMIT])


def _table_name(arn: str) -> str:
    # arn:aws:dynamodb:<region>:<account>:table/<name>
    return arn.split(":table/", 1)[1].split("/", 1)[0]


def validate_restore_job(
    restore_job_id: str, *, backup: Any | None = None, dynamodb: Any | None = None, max_drift: float = MAX_DRIFT
) -> Verdict | None:
    """Validate a completed restore job of a DynamoDB table and report the verdict to AWS Backup.

    Returns None (and reports nothing) for a job that restored something other than a table.
    """
    backup = backup or aws_client("backup")
    dynamodb = dynamodb or aws_client("dynamodb")
    job = backup.describe_restore_job(RestoreJobId=restore_job_id)
    if job.get("ResourceType") != "DynamoDB":
        return None
    created: datetime = job["CreationDate"]
    completed: datetime = job.get("CompletionDate") or created
    try:
        source = fingerprint(_table_name(job["SourceResourceArn"]), dynamodb=dynamodb)
        restored = fingerprint(_table_name(job["CreatedResourceArn"]), dynamodb=dynamodb)
        verdict = compare(source, restored, restore_seconds=(completed - created).total_seconds(), max_drift=max_drift)
    except (KeyError, IndexError) as exc:
        verdict = Verdict("FAILED", f"the restore job does not name its source and restored tables ({exc})")
    except dynamodb.exceptions.ResourceNotFoundException as exc:
        verdict = Verdict("FAILED", f"a table to compare does not exist: {exc}"[:MESSAGE_LIMIT])
    backup.put_restore_validation_result(
        RestoreJobId=restore_job_id, ValidationStatus=verdict.status, ValidationStatusMessage=verdict.message
    )
    return verdict
