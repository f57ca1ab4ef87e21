"""Data views (issue 13). The admin dashboard statistics (spec 2.1/2.2): p95 of serving them from the cache's
in-process tier (goal < 5 ms) and from Redis (a real redis-server started here; goal < 50 ms), against
the baseline of the same run: building them from the precomputed DynamoDB counters (moto in process,
one BatchGetItem of 15 counters and 24 hourly buckets), which is what a miss costs.

Each path is what ``statistics.dashboard.dashboard_statistics`` does: ``get_or_set("dashboard:stats",
compute_dashboard, 300)`` on a ``CacheService``; the in-process figure with an in-process TTL longer
than the run (so every read is that tier's), the Redis figure with the in-process tier emptied before
each read (so every read is one pipeline to the server: entry, key version and namespace version).

Presence: what a request's throttled sighting costs (``presence.record_seen``, once a minute per user
and container): the DynamoDB conditional write (cache off, the baseline) against one Redis ``SET``
with expiry (cache on; the durable DynamoDB record then once every 15 minutes), calls and p95.

Run: ``python -m bench.dashboard [--samples N]``.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.environment import apply_bench_environment
from bench.timing import LatencySummary, format_table

DESCRIPTION = "Dashboard statistics: p95 from the in-process tier and Redis vs building them from DynamoDB counters."
GOAL_LOCAL_MS = 5.0
GOAL_REDIS_MS = 50.0


@dataclass(frozen=True)
class DashboardResult:
    local: LatencySummary
    redis: LatencySummary
    dynamodb: LatencySummary
    seen_dynamodb: LatencySummary
    seen_redis: LatencySummary
    seen_calls: dict[str, dict[str, float]]  # "before"/"after" -> store -> calls per sighting

    @property
    def goals_met(self) -> bool:
        return self.local.p95_ms < GOAL_LOCAL_MS and self.redis.p95_ms < GOAL_REDIS_MS


def timed(samples: int, call: Callable[[], Any], before: Callable[[], None] | None = None) -> LatencySummary:
    durations = []
    for _ in range(samples):
        if before is not None:
            before()
        started = time.perf_counter_ns()
        call()
        durations.append(time.perf_counter_ns() - started)
    return LatencySummary.of(durations)


def seed_counters() -> None:
    """Every counter the dashboard reads, with plausible values (the hourly buckets of the last day)."""
    from agents_meetings.statistics.platform import counter_names, notification_bucket
    from agents_meetings.tables import PlatformCounterModel

    now = datetime.now(UTC)
    names = [*counter_names(), *(notification_bucket(now - timedelta(hours=hours)) for hours in range(24))]
    with PlatformCounterModel.batch_write() as batch:
        for index, name in enumerate(names):
            batch.save(PlatformCounterModel(name=name, value=10 * (index + 1)))


def measure(samples: int = 2000) -> DashboardResult:
    apply_bench_environment()
    from agents_meetings.cache.client import CircuitBreaker, build_client
    from agents_meetings.cache.keys import DASHBOARD_STATS
    from agents_meetings.cache.service import CacheService
    from agents_meetings.settings import Settings
    from agents_meetings.statistics.dashboard import DASHBOARD_TTL_SECONDS, compute_dashboard
    from agents_meetings.tables import create_tables
    from moto import mock_aws

    from infra.local.redis_server import RedisServer
    from infra.local.runtime import free_port

    server = RedisServer(free_port()).start()
    try:
        settings = Settings(**{"REDIS_HOST": "127.0.0.1", "REDIS_PORT": server.port})  # type: ignore[arg-type]
        with mock_aws():
            create_tables()
            seed_counters()
            expected = compute_dashboard()
            assert expected["users"]["total"] > 0, expected
            dynamodb = timed(max(samples // 4, 50), compute_dashboard)

            def cached(cache: CacheService) -> Callable[[], Any]:
                def read() -> Any:
                    value = cache.get_or_set(DASHBOARD_STATS, compute_dashboard, DASHBOARD_TTL_SECONDS)
                    assert value["users"] == expected["users"], value
                    return value

                return read

            local_cache = CacheService(build_client(settings), local_ttl=3600.0, breaker=CircuitBreaker(5.0))
            cached(local_cache)()  # the fill
            local = timed(samples, cached(local_cache))
            assert local_cache.stats.total["dashboard"].local_hits >= samples

            shared_cache = CacheService(build_client(settings), breaker=CircuitBreaker(5.0))
            cached(shared_cache)()
            redis = timed(samples, cached(shared_cache), before=shared_cache._local.clear)
            counts = shared_cache.stats.total["dashboard"]
            assert counts.hits >= samples and counts.local_hits == 0, counts
            seen_dynamodb, seen_redis, seen_calls = sightings(max(samples // 4, 50), server.env)
    finally:
        server.stop()
    return DashboardResult(local, redis, dynamodb, seen_dynamodb, seen_redis, seen_calls)


def sightings(
    samples: int, redis_env: dict[str, str]
) -> tuple[LatencySummary, LatencySummary, dict[str, dict[str, float]]]:
    """``record_seen`` of distinct users (each sighting due, each write succeeds), cache off then on."""
    import os

    from agents_meetings.cache import reset_cache_service
    from agents_meetings.observability import observe_store_calls
    from agents_meetings.presence import service as presence
    from agents_meetings.settings import reset_settings

    calls: dict[str, dict[str, float]] = {}
    summaries = []
    for phase, env in (("before", {"CACHE_BACKEND": "none"}), ("after", redis_env)):
        os.environ.update(env)
        reset_settings()
        reset_cache_service()
        users = [f"seen-{phase}-{index}" for index in range(samples)]
        if phase == "after":  # the steady state: the durable record was written at the first sighting
            for user_id in users:
                presence.record_seen(user_id)
            presence.reset_presence_throttle(durable=False)
        else:
            presence.reset_presence_throttle()
        counted: dict[str, float] = {"dynamodb": 0, "redis": 0}

        def count(store: str, operation: str, target: str, seconds: float, into: dict[str, float] = counted) -> None:
            into[store] += 1

        remove = observe_store_calls(count)
        try:
            summaries.append(timed_each(users, presence.record_seen))
        finally:
            remove()
        calls[phase] = {store: amount / samples for store, amount in counted.items()}
    for name in ("CACHE_BACKEND", *redis_env):
        os.environ.pop(name, None)
    reset_settings()
    reset_cache_service()
    return summaries[0], summaries[1], calls


def timed_each(items: list[str], call: Callable[[str], Any]) -> LatencySummary:
    durations = []
    for item in items:
        started = time.perf_counter_ns()
        assert call(item), item  # recorded
        durations.append(time.perf_counter_ns() - started)
    return LatencySummary.of(durations)


def ratio_of(baseline: LatencySummary, ours: LatencySummary) -> str:
    return f"{baseline.p95_ms / ours.p95_ms:.1f}x"


def report(result: DashboardResult) -> str:
    print(DESCRIPTION)
    rows = [
        [name, *(f"{ms:.3f}" for ms in (s.p50_ms, s.p95_ms, s.p99_ms)), goal, ratio_of(result.dynamodb, s)]
        for name, s, goal in (
            ("in-process tier", result.local, f"< {GOAL_LOCAL_MS:g}"),
            ("Redis (one pipeline)", result.redis, f"< {GOAL_REDIS_MS:g}"),
            ("DynamoDB counters (baseline)", result.dynamodb, "-"),
        )
    ]
    print(format_table(["dashboard stats from", "p50 ms", "p95 ms", "p99 ms", "goal p95 ms", "faster"], rows))
    before, after = result.seen_calls["before"], result.seen_calls["after"]
    seen_ratio = ratio_of(result.seen_dynamodb, result.seen_redis)
    print(
        format_table(
            ["presence sighting", "DynamoDB calls", "Redis calls", "p50 ms", "p95 ms", "faster"],
            [
                [name, f"{calls['dynamodb']:.2f}", f"{calls['redis']:.2f}", f"{s.p50_ms:.3f}", f"{s.p95_ms:.3f}", ratio]
                for name, calls, s, ratio in (
                    ("DynamoDB write (baseline)", before, result.seen_dynamodb, "1.0x"),
                    ("Redis SET, cache on", after, result.seen_redis, seen_ratio),
                )
            ],
        )
    )
    print("(cache on, the durable DynamoDB record is written once every 15 minutes per user and container)")
    return (
        f"dashboard: p95 in-process {result.local.p95_ms:.3f} ms, Redis {result.redis.p95_ms:.3f} ms vs "
        f"DynamoDB counters {result.dynamodb.p95_ms:.3f} ms "
        f"({result.dynamodb.p95_ms / result.local.p95_ms:.0f}x, {result.dynamodb.p95_ms / result.redis.p95_ms:.1f}x); "
        f"goals {'met' if result.goals_met else 'missed'}; presence sighting p95 {result.seen_redis.p95_ms:.3f} ms "
        f"in Redis vs {result.seen_dynamodb.p95_ms:.3f} ms in DynamoDB"
    )


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.dashboard", description=DESCRIPTION)
    parser.add_argument("--samples", type=int, default=2000)
    args = parser.parse_args()
    print(report(measure(samples=args.samples)))


if __name__ == "__main__":
    main()
