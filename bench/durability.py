"""What durability costs in the local runtime's embedded AWS (infra/local/durability.py).

1. Per acknowledged write: a 5 KB DynamoDB PutItem through the embedded AWS, kept in memory only
   (the baseline), journaled with one write(2) (the default: survives Ctrl-C and kill -9) and with
   fsync(2) as well (LOCAL_DURABILITY=fsync: survives a power cut).
2. Restart against stored items: N items, each overwritten 10 times (a history of 11 N writes),
   restored from the journal alone (after a crash), from a snapshot (after a clean stop), and by the
   request-log replay of earlier versions (moto's recorder, every request sent again), the baseline.

Run: ``python -m bench.durability [--writes 400] [--items 1000 10000]``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.environment import apply_bench_environment, check_loopback_only, guard_process
from bench.timing import LatencySummary, format_table, sample_count

DEFAULT_WRITES = 400
DEFAULT_ITEMS = (1000, 10000)
OVERWRITES = 10
TABLE = "bench-durability"
ITEM_TEXT = "x" * 5000


@dataclass(frozen=True)
class RestartResult:
    items: int
    history: int
    journal_s: float
    snapshot_s: float
    snapshot_write_s: float
    replay_s: float


def _embedded(data_dir: Path | None, mode: str = "write") -> Any:
    from infra.local.embedded_aws import EmbeddedAws
    from infra.local.functions import FunctionRegistry
    from infra.local.runtime import free_port

    os.environ["LOCAL_DURABILITY"] = mode
    aws = EmbeddedAws(free_port(), data_dir, FunctionRegistry())
    aws.start()
    import requests

    requests.post(f"{aws.url}/moto-api/reset", timeout=10).raise_for_status()
    _client(aws.url).create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    return aws


def _client(url: str) -> Any:
    import boto3

    return boto3.client(
        "dynamodb",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="bench",
        aws_secret_access_key="bench",  # noqa: S106 - the embedded AWS takes any
    )


def _count(url: str) -> int:
    pages = _client(url).get_paginator("scan").paginate(TableName=TABLE, Select="COUNT")
    return sum(int(page["Count"]) for page in pages)


def measure_writes(writes: int) -> dict[str, LatencySummary]:
    results = {}
    for label, mode, persisted in (("memory only", "write", False), ("write", "write", True), ("fsync", "fsync", True)):
        directory = Path(tempfile.mkdtemp(prefix="bench-durability-"))
        aws = _embedded(directory if persisted else None, mode)
        aws.restore()
        client = _client(aws.url)
        for n in range(20):  # warm the connection and moto's code paths
            client.put_item(TableName=TABLE, Item={"pk": {"S": f"warm-{n}"}, "text": {"S": ITEM_TEXT}})
        samples = []
        for n in range(writes):
            started = time.perf_counter_ns()
            client.put_item(TableName=TABLE, Item={"pk": {"S": f"item-{n}"}, "text": {"S": ITEM_TEXT}})
            samples.append(time.perf_counter_ns() - started)
        results[label] = LatencySummary.of(samples)
        aws.stop(snapshot=False)  # as a crash leaves it: no snapshot
        shutil.rmtree(directory, ignore_errors=True)
    return results


def _write_history(url: str, items: int) -> int:
    client = _client(url)
    requests_sent = 0
    for round_number in range(OVERWRITES + 1):
        for start in range(0, items, 25):
            client.batch_write_item(
                RequestItems={
                    TABLE: [
                        {
                            "PutRequest": {
                                "Item": {
                                    "pk": {"S": f"item-{n}"},
                                    "round": {"N": str(round_number)},
                                    "text": {"S": ITEM_TEXT[:500]},
                                }
                            }
                        }
                        for n in range(start, min(start + 25, items))
                    ]
                }
            )
            requests_sent += 1
    return items * (OVERWRITES + 1)


def measure_restart(items: int) -> RestartResult:
    directory = Path(tempfile.mkdtemp(prefix="bench-restart-"))
    legacy_log = directory / "aws-requests.jsonl"
    # The whole history stays in one journal: the "after a crash" case replays all of it.
    os.environ["LOCAL_JOURNAL_COMPACT_LINES"] = str(10**9)
    try:
        aws = _embedded(directory)
        aws.restore()
        # The baseline's request log: moto's recorder, as earlier versions kept it.
        from moto.moto_api import recorder

        recorder._location = str(legacy_log)
        recorder.start_recording()
        history = _write_history(aws.url, items)
        recorder.stop_recording()
        aws.stop(snapshot=False)  # as a crash leaves it: no snapshot

        # After a crash: the journal alone.
        journal_copy = directory.with_name(directory.name + "-journal")
        shutil.copytree(directory / "aws", journal_copy / "aws")
        aws = _embedded(journal_copy)
        started = time.perf_counter()
        aws.restore()
        journal_s = time.perf_counter() - started
        assert _count(aws.url) == items
        # A clean stop writes the snapshot; the next start reads only it.
        started = time.perf_counter()
        aws.stop()
        snapshot_write_s = time.perf_counter() - started
        aws = _embedded(journal_copy)
        started = time.perf_counter()
        aws.restore()
        snapshot_s = time.perf_counter() - started
        assert _count(aws.url) == items
        aws.stop(snapshot=False)  # as a crash leaves it: no snapshot
        shutil.rmtree(journal_copy, ignore_errors=True)

        # The baseline: every recorded request sent again (what a restart did before).
        aws = _embedded(None)
        started = time.perf_counter()
        for line in legacy_log.read_text().splitlines():
            entry = json.loads(line)
            if entry.get("headers", {}).get("X-Amz-Target", "").endswith("BatchWriteItem"):
                aws._replay(entry)
        replay_s = time.perf_counter() - started
        assert _count(aws.url) == items
        aws.stop(snapshot=False)  # as a crash leaves it: no snapshot
        return RestartResult(items, history, journal_s, snapshot_s, snapshot_write_s, replay_s)
    finally:
        os.environ.pop("LOCAL_JOURNAL_COMPACT_LINES", None)
        shutil.rmtree(directory, ignore_errors=True)


def report(writes: dict[str, LatencySummary], restarts: Sequence[RestartResult]) -> str:
    baseline = writes["memory only"]
    rows = [
        [
            label,
            f"{s.p50_ms:.2f}",
            f"{s.p95_ms:.2f}",
            f"{s.p99_ms:.2f}",
            f"{s.p95_ms - baseline.p95_ms:+.2f}",
            f"{s.p95_ms / baseline.p95_ms:.2f}x",
        ]
        for label, s in writes.items()
    ]
    print("durability: one 5 KB PutItem through the embedded AWS")
    print(format_table(["mode", "p50 ms", "p95 ms", "p99 ms", "p95 cost ms", "vs memory"], rows))
    print()
    print(f"restart: N items, each written {OVERWRITES + 1} times (history = {OVERWRITES + 1} N writes)")
    print(
        format_table(
            ["items", "history", "journal s", "snapshot s", "snapshot write s", "request replay s", "replay/snapshot"],
            [
                [
                    f"{r.items:,}",
                    f"{r.history:,}",
                    f"{r.journal_s:.2f}",
                    f"{r.snapshot_s:.2f}",
                    f"{r.snapshot_write_s:.2f}",
                    f"{r.replay_s:.2f}",
                    f"{r.replay_s / r.snapshot_s:.1f}x",
                ]
                for r in restarts
            ],
        )
    )
    write, fsync = writes["write"], writes["fsync"]
    largest = restarts[-1]
    return (
        f"durability: {write.p95_ms - baseline.p95_ms:+.2f} ms p95 per acknowledged write "
        f"({write.p95_ms / baseline.p95_ms:.2f}x vs memory only; fsync {fsync.p95_ms / baseline.p95_ms:.2f}x); "
        f"restart of {largest.items:,} items {largest.snapshot_s:.2f} s from a snapshot "
        f"({largest.replay_s / largest.snapshot_s:.1f}x faster than replaying {largest.history:,} requests)"
    )


def run(writes: int = DEFAULT_WRITES, items: Sequence[int] = DEFAULT_ITEMS) -> str:
    guard_process()
    apply_bench_environment()
    write_results = measure_writes(writes)
    restarts = [measure_restart(n) for n in items]
    check_loopback_only()
    summary = report(write_results, restarts)
    print(summary)
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.durability", description=__doc__)
    parser.add_argument("--writes", type=sample_count, default=DEFAULT_WRITES, help="timed writes per mode")
    parser.add_argument("--items", type=sample_count, nargs="+", default=list(DEFAULT_ITEMS), help="stored items")
    args = parser.parse_args(argv)
    run(args.writes, args.items)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
