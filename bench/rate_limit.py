"""Cost of one rate-limit decision: DynamoDB calls per request and our in-process overhead.

1. Calls: requests through an API app with the rate-limit middleware on, against moto's DynamoDB
   in process; every botocore call is counted (must be 1 per request once the configuration is
   cached).
2. Overhead: ``RateLimitService.check_rate_limit`` with the DynamoDB client replaced by an in-memory
   stand-in that answers UpdateItem as DynamoDB would, so that only our code is timed; the same
   decision through moto in process is shown for reference. The baseline, timed in the same run and
   interleaved with it, is the ``limits`` library's in-memory moving-window and fixed-window limiters.

Run: ``python -m bench.rate_limit [--iterations N] [--warmup W]``.
"""

from __future__ import annotations

import argparse
import gc
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bench.environment import apply_bench_environment, load_average
from bench.timing import LatencySummary, format_table, sample_count

DESCRIPTION = "Cost of one rate-limit decision: DynamoDB calls per request and in-process overhead."
DEFAULT_ITERATIONS = 5000
DEFAULT_WARMUP = 500
DEFAULT_BLOCK = 250
CALL_COUNT_REQUESTS = 50
MOTO_ITERATIONS = 300


@dataclass(frozen=True)
class RateLimitBenchResult:
    iterations: int
    requests: int
    dynamodb_calls: int
    ours: LatencySummary
    moto: LatencySummary
    moving_window: LatencySummary
    fixed_window: LatencySummary

    @property
    def calls_per_request(self) -> float:
        return self.dynamodb_calls / self.requests

    @property
    def ratio_p95(self) -> float:
        return self.ours.p95_ms / self.moving_window.p95_ms

    def summary_line(self) -> str:
        return (
            f"rate_limit: {self.ours.p95_ms:.3f} ms p95 per decision, {self.calls_per_request:g} DynamoDB calls "
            f"({self.ratio_p95:.1f}x vs limits in-memory)"
        )


class InMemoryDynamoDB:
    """Answers the limiter's UpdateItem like DynamoDB (ADD, REMOVE, the cap condition, ALL_NEW)."""

    def __init__(self) -> None:
        self.items: dict[str, dict[str, Any]] = {}

    def update_item(self, **request: Any) -> dict[str, Any]:
        key = request["Key"]["key"]["S"]
        names, values = request["ExpressionAttributeNames"], request["ExpressionAttributeValues"]
        item = self.items.setdefault(key, {"key": {"S": key}})
        current = int(item.get(names["#cur"], {"N": "0"})["N"])
        if ":cap" in values and current >= int(values[":cap"]["N"]):
            error = RuntimeError("ConditionalCheckFailedException")
            error.response = {"Error": {"Code": "ConditionalCheckFailedException"}, "Item": dict(item)}  # type: ignore[attr-defined]
            raise error
        item[names["#cur"]] = {"N": str(current + 1)}
        item[names["#exp"]] = values[":exp"]
        if "#old" in names:
            item.pop(names["#old"], None)
        return {"Attributes": dict(item)}


def _time(decide: Callable[[], Any], count: int, samples: list[int]) -> None:
    clock = time.perf_counter_ns
    for _ in range(count):
        started = clock()
        decide()
        samples.append(clock() - started)


def measure(
    iterations: int = DEFAULT_ITERATIONS, warmup: int = DEFAULT_WARMUP, block: int = DEFAULT_BLOCK
) -> RateLimitBenchResult:
    apply_bench_environment()
    import os

    os.environ["RATE_LIMIT_ENABLED"] = "true"
    os.environ["RATE_LIMIT_STORAGE"] = "dynamodb"
    import warnings

    from limits import RateLimitItemPerMinute
    from limits.storage import MemoryStorage
    from limits.strategies import FixedWindowRateLimiter, MovingWindowRateLimiter
    from moto import mock_aws

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient` is deprecated")
        from starlette.testclient import TestClient

    from agents_meetings.http.app import create_app
    from agents_meetings.ratelimit.config import LimitSetting, RateLimitConfig
    from agents_meetings.ratelimit.rules import Rate
    from agents_meetings.ratelimit.service import RateLimitService, reset_rate_limiting
    from agents_meetings.ratelimit.store import DynamoDBCounterStore
    from agents_meetings.settings import reset_settings
    from agents_meetings.tables import RateLimitCounterModel, create_tables

    reset_settings()
    reset_rate_limiting()
    huge = Rate(10**9, 60)

    class FixedConfig:
        config = RateLimitConfig(limits={"participant": LimitSetting(huge)})

        def get(self) -> RateLimitConfig:
            return self.config

    with mock_aws():
        create_tables()
        # 1. DynamoDB calls per request, through the middleware of a real API app.
        app = create_app("bench", [])  # binds the tables: the client below is the one requests use
        client = RateLimitCounterModel._get_connection().connection.client
        calls: list[str] = []

        def count(model: Any, **_: Any) -> None:
            calls.append(model.name)

        with TestClient(app) as http:
            http.get("/api/v1/nowhere")  # the configuration is read once, then cached for 30 s
            client.meta.events.register("provide-client-params.dynamodb.*", count)
            for index in range(CALL_COUNT_REQUESTS):
                # A fresh IP each time: every request is allowed and decided by its own counter.
                with TestClient(app, client=(f"10.0.{index // 250}.{index % 250}", 1)) as one:
                    status = one.get("/api/v1/nowhere").status_code
                    if status != 404:
                        raise RuntimeError(f"expected 404, got {status}")
            client.meta.events.unregister("provide-client-params.dynamodb.*", count)

        # 2a. Through moto in process (reference only: mostly moto's own cost).
        moto_service = RateLimitService(DynamoDBCounterStore(), FixedConfig())  # type: ignore[arg-type]
        moto_samples: list[int] = []
        _time(lambda: moto_service.check_rate_limit("user:bench", "participant"), 30, [])
        _time(lambda: moto_service.check_rate_limit("user:bench", "participant"), MOTO_ITERATIONS, moto_samples)

    # 2b. Our overhead: the DynamoDB client stubbed in memory.
    fake = InMemoryDynamoDB()
    store = DynamoDBCounterStore()
    store._client_and_table = lambda: (fake, "rate-limit-counters")  # type: ignore[method-assign]
    ours = RateLimitService(store, FixedConfig())  # type: ignore[arg-type]
    storage = MemoryStorage()
    moving, fixed = MovingWindowRateLimiter(storage), FixedWindowRateLimiter(MemoryStorage())
    item = RateLimitItemPerMinute(10**9)
    series: list[tuple[Callable[[], Any], list[int]]] = [
        (lambda: ours.check_rate_limit("user:bench", "participant"), []),
        (lambda: moving.hit(item, "user:bench"), []),
        (lambda: fixed.hit(item, "user:bench"), []),
    ]
    for decide, _ in series:
        if not decide() and decide is not series[0][0]:
            raise RuntimeError("baseline limiter refused a request")
        _time(decide, warmup, [])
    gc.collect()
    done = turn = 0
    while done < iterations:
        size = min(block, iterations - done)
        order = series if turn % 2 == 0 else list(reversed(series))
        for decide, samples in order:
            _time(decide, size, samples)
        done += size
        turn += 1
    if not ours.check_rate_limit("user:bench", "participant").allowed:
        raise RuntimeError("the limiter refused a request under a huge limit")
    return RateLimitBenchResult(
        iterations=iterations,
        requests=CALL_COUNT_REQUESTS,
        dynamodb_calls=len(calls),
        ours=LatencySummary.of(series[0][1]),
        moto=LatencySummary.of(moto_samples),
        moving_window=LatencySummary.of(series[1][1]),
        fixed_window=LatencySummary.of(series[2][1]),
    )


def report(result: RateLimitBenchResult) -> str:
    def row(name: str, summary: LatencySummary) -> list[str]:
        return [name, *(f"{value:.4f}" for value in (summary.p50_ms, summary.p95_ms, summary.p99_ms, summary.mean_ms))]

    print("rate_limit: one sliding-window decision (RateLimitService.check_rate_limit)")
    print(
        f"  DynamoDB calls: {result.dynamodb_calls} for {result.requests} requests through the middleware "
        f"({result.calls_per_request:g} per request); {result.iterations} timed decisions per limiter, "
        f"interleaved; load average {load_average()}"
    )
    rows = [
        row("ours, DynamoDB client stubbed in memory", result.ours),
        row("limits MovingWindow, memory (baseline)", result.moving_window),
        row("limits FixedWindow, memory", result.fixed_window),
        row(f"ours through moto in process ({result.moto.count}, reference)", result.moto),
    ]
    print(format_table(["decision", "p50 ms", "p95 ms", "p99 ms", "mean ms"], rows))
    verdict = "meets" if result.calls_per_request == 1 else "misses"
    print(f"target: exactly 1 DynamoDB call per request -> {verdict}")
    summary = result.summary_line()
    print(summary)
    return summary


def run(iterations: int = DEFAULT_ITERATIONS, warmup: int = DEFAULT_WARMUP, block: int = DEFAULT_BLOCK) -> str:
    return report(measure(iterations=iterations, warmup=warmup, block=block))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.rate_limit", description=DESCRIPTION)
    parser.add_argument("--iterations", type=sample_count, default=DEFAULT_ITERATIONS, help="timed decisions")
    parser.add_argument("--warmup", type=sample_count, default=DEFAULT_WARMUP, help="untimed decisions first")
    parser.add_argument("--block", type=sample_count, default=DEFAULT_BLOCK, help="decisions per interleaved block")
    args = parser.parse_args(argv)
    result = measure(iterations=args.iterations, warmup=args.warmup, block=args.block)
    report(result)
    return 0 if result.calls_per_request == 1 else 1


if __name__ == "__main__":
    raise SystemExit(main())
