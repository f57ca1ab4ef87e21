"""``python -m bench`` (``make bench``): every benchmark in turn, then their summary lines together.

Offline: the loopback guard is on before any benchmark module is imported, each benchmark sets up
its AWS (moto in process, or the local runtime's embedded AWS) before anything makes a client, and
the run fails if anything tried to reach beyond loopback. ``--quick`` runs the smallest useful size
of each (a smoke run: its figures are not the README's); ``--only`` picks benchmarks.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

from bench.environment import check_loopback_only, guard_process

BENCHMARKS = (
    "api_overhead",
    "rate_limit",
    "cold_start",
    "transcription_accuracy",
    "recording_pipeline",
    "recording_latency",
    "search",
    "notifications",
    "durability",
    "cache",
    "dashboard",
)


def benchmark_names(text: str) -> tuple[str, ...]:
    names = tuple(name.strip() for name in text.split(",") if name.strip())
    unknown = [name for name in names if name not in BENCHMARKS]
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"unknown benchmark {unknown or text!r}; choose from {', '.join(BENCHMARKS)}")
    return names


def main(argv: list[str] | None = None) -> int:
    # First, before any benchmark module (or the platform code it imports) is loaded.
    guard_process()
    from bench import (
        api_overhead,
        cache,
        cold_start,
        dashboard,
        durability,
        notifications,
        rate_limit,
        recording_latency,
        recording_pipeline,
        transcription_accuracy,
    )
    from bench import search as search_bench
    from bench.timing import sample_count

    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "--iterations",
        type=sample_count,
        help=f"api_overhead: timed calls per handler (default {api_overhead.DEFAULT_ITERATIONS})",
    )
    parser.add_argument(
        "--runs", type=sample_count, help=f"cold_start: timed starts per function (default {cold_start.DEFAULT_RUNS})"
    )
    parser.add_argument(
        "--recording-minutes",
        type=float,
        help=f"recording_pipeline: length of the synthetic recording (default {recording_pipeline.DEFAULT_MINUTES:g})",
    )
    parser.add_argument(
        "--search-segments",
        type=sample_count,
        help=f"search: transcript segments indexed (default {search_bench.DEFAULT_SEGMENTS}; the README's use 1000000)",
    )
    parser.add_argument(
        "--quick", action="store_true", help="smallest useful size of every benchmark (a smoke run, minutes not hours)"
    )
    parser.add_argument(
        "--only",
        type=benchmark_names,
        default=BENCHMARKS,
        help=f"comma-separated benchmarks to run, in this order: {','.join(BENCHMARKS)} (default: all)",
    )
    args = parser.parse_args(argv)

    def size(given: float | None, full: float, quick: float) -> float:
        return given if given is not None else (quick if args.quick else full)

    quick = args.quick
    iterations = int(size(args.iterations, api_overhead.DEFAULT_ITERATIONS, 200))
    runs = int(size(args.runs, cold_start.DEFAULT_RUNS, 1))
    recording_minutes = size(args.recording_minutes, recording_pipeline.DEFAULT_MINUTES, 1.0)
    search_segments = int(size(args.search_segments, search_bench.DEFAULT_SEGMENTS, 5000))
    failures: list[str] = []

    def run_api_overhead() -> list[str]:
        return [api_overhead.run(iterations=iterations, **({"warmup": 20, "block": 50} if quick else {}))]

    def run_rate_limit() -> list[str]:
        result = rate_limit.measure(**({"iterations": 300, "warmup": 30, "block": 50} if quick else {}))
        if result.calls_per_request != 1:
            failures.append("rate_limit: not exactly 1 DynamoDB call per request")
        return [rate_limit.report(result)]

    def run_cold_start() -> list[str]:
        result = cold_start.measure(runs=runs)
        failures.extend(f"cold_start: {target.name} failed" for target in result.targets if target.failure)
        return [cold_start.report(result)]

    def run_transcription_accuracy() -> list[str]:
        return [transcription_accuracy.report(transcription_accuracy.measure())]

    def run_recording_pipeline() -> list[str]:
        quick_sizes = {"height": 360, "long_hours": 0.0} if quick else {}
        return [recording_pipeline.run(minutes=recording_minutes, **quick_sizes)]

    def run_recording_latency() -> list[str]:
        return [recording_latency.run(**({"runs": 1, "seconds": 3.0} if quick else {}))]

    def run_search() -> list[str]:
        return [search_bench.run(segments=search_segments, **({"queries": 20, "lag_samples": 1} if quick else {}))]

    def run_notifications() -> list[str]:
        return notifications.report(notifications.measure(**({"samples": 20, "users": 500} if quick else {})))

    def run_cache() -> list[str]:
        result = cache.measure(**({"requests": 100_000, "samples": 500} if quick else {}))
        if result.hit_rate <= cache.GOAL_HIT_RATE:
            failures.append("cache: user-profile hit rate not above 90%")
        if result.outage_errors:
            failures.append("cache: errors while redis-server was stopped")
        return [cache.report(result)]

    def run_dashboard() -> list[str]:
        result = dashboard.measure(**({"samples": 300} if quick else {}))
        if not result.goals_met:
            failures.append("dashboard: p95 not under 5 ms in process / 50 ms from Redis")
        return [dashboard.report(result)]

    def run_durability() -> list[str]:
        return [durability.run(**({"writes": 100, "items": (1000,)} if quick else {}))]

    runners: dict[str, Callable[[], list[str]]] = {
        "api_overhead": run_api_overhead,
        "rate_limit": run_rate_limit,
        "cold_start": run_cold_start,
        "transcription_accuracy": run_transcription_accuracy,
        "recording_pipeline": run_recording_pipeline,
        "recording_latency": run_recording_latency,
        "search": run_search,
        "notifications": run_notifications,
        "durability": run_durability,
        "cache": run_cache,
        "dashboard": run_dashboard,
    }
    summaries: list[str] = []
    for name in BENCHMARKS:
        if name in args.only:
            summaries.extend(runners[name]())
            print()

    print("summary")
    for summary in summaries:
        print(summary)
    try:
        check_loopback_only()
        print("network: loopback only; nothing tried to reach beyond it")
    except RuntimeError as error:
        failures.append(str(error))
    for failure in failures:
        print(f"FAILED {failure}")
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
