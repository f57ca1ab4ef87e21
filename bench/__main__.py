"""``python -m bench`` (``make bench``): every benchmark in turn, then their summary lines together."""

from __future__ import annotations

import argparse

from bench import (
    api_overhead,
    cold_start,
    durability,
    notifications,
    rate_limit,
    recording_latency,
    recording_pipeline,
    transcription_accuracy,
)
from bench import search as search_bench
from bench.timing import sample_count


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "--iterations",
        type=sample_count,
        default=api_overhead.DEFAULT_ITERATIONS,
        help="api_overhead: timed calls per handler",
    )
    parser.add_argument(
        "--runs",
        type=sample_count,
        default=cold_start.DEFAULT_RUNS,
        help="cold_start: timed starts per function (median)",
    )
    parser.add_argument(
        "--recording-minutes",
        type=float,
        default=recording_pipeline.DEFAULT_MINUTES,
        help="recording_pipeline: length of the synthetic recording",
    )
    parser.add_argument(
        "--search-segments",
        type=sample_count,
        default=search_bench.DEFAULT_SEGMENTS,
        help="search: transcript segments indexed (the README's figures use 1000000)",
    )
    args = parser.parse_args(argv)

    summaries = [api_overhead.run(iterations=args.iterations)]
    print()
    rate_limit_result = rate_limit.measure()
    summaries.append(rate_limit.report(rate_limit_result))
    print()
    result = cold_start.measure(runs=args.runs)
    summaries.append(cold_start.report(result))
    print()
    summaries.append(transcription_accuracy.report(transcription_accuracy.measure()))
    summaries.append(recording_pipeline.run(minutes=args.recording_minutes))
    summaries.append(recording_latency.run())
    summaries.append(search_bench.run(segments=args.search_segments))
    summaries.extend(notifications.report(notifications.measure()))
    summaries.append(durability.run())

    print()
    print("summary")
    for summary in summaries:
        print(summary)
    failed = any(target.failure for target in result.targets) or rate_limit_result.calls_per_request != 1
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
