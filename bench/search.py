"""Search benchmark (spec 1.3): the embedded engine (tantivy, through our EmbeddedSearchEngine) against
SQLite FTS5 on the same synthetic transcript corpus in the same run.

Prints the indexing rate and p50/p95/p99 of term, phrase, fuzzy, faceted and suggest queries for
both, then (unless --no-lag) the index lag in the local runtime: the time from a meeting update,
and from a TranscriptReady event, until a search finds the change.

    python -m bench.search --segments 1000000      # the README's figures
    python -m bench.search --segments 50000        # quick
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sqlite3
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agents_meetings.search.backend import SearchQuery
from agents_meetings.search.embedded import EmbeddedSearchEngine
from agents_meetings.search.highlight import within_distance
from agents_meetings.search.indexes import TRANSCRIPTS

from bench.environment import check_loopback_only, guard_process, local_runtime_environment
from bench.timing import LatencySummary, format_table, sample_count

DEFAULT_SEGMENTS = 100_000
DEFAULT_QUERIES = 200
BATCH = 20_000

# A classroom-flavoured vocabulary, sampled with Zipf-like weights (a few words are very common).
COMMON = (  # noqa: SIM905 - prose is easier to read and extend than a list literal
    "the a to and of in is that it we you this for on with as are be so can what do have about now "
    "one they not at there if but or just like think know see right okay yes well let going here then "
    "look because how which when would will our all more time some get thing people very really"
).split()
TOPICAL = (  # noqa: SIM905
    "algebra equation quadratic function derivative integral matrix vector probability statistics "
    "photosynthesis chlorophyll mitochondria molecule electron proton neutron gravity velocity "
    "acceleration momentum energy thermodynamics entropy catalyst reaction oxygen hydrogen carbon "
    "renaissance revolution democracy parliament constitution economy inflation market supply demand "
    "poetry sonnet metaphor narrative character grammar vocabulary pronunciation translation literature "
    "recording transcript meeting classroom homework assignment deadline project presentation exam "
    "telescope planet jupiter saturn galaxy astronomy orbit satellite nebula comet asteroid universe "
    "algorithm database network protocol encryption compiler variable recursion iteration interface "
    "biology ecosystem evolution species genetics protein enzyme hormone neuron cortex anatomy"
).split()
SPEAKERS = [f"speaker-{i}" for i in range(24)]
LANGUAGES = ["en", "es", "fr", "hi", "ta", "te"]


def corpus(count: int, seed: int = 7) -> Iterator[dict[str, Any]]:
    rng = random.Random(seed)
    vocabulary = COMMON + TOPICAL
    weights = [1.0 / (rank + 1) ** 0.9 for rank in range(len(COMMON))] + [0.02] * len(TOPICAL)
    meetings = max(1, count // 300)
    for position in range(count):
        words = rng.choices(vocabulary, weights=weights, k=rng.randint(8, 28))
        meeting = position % meetings
        start = float((position // meetings) * 6)
        yield {
            "id": f"rec-{meeting}:en:{position}",
            "segment_id": position,
            "recording_id": f"rec-{meeting}",
            "meeting_id": f"meeting-{meeting}",
            "meeting_title": f"Lesson {meeting}",
            "speaker": rng.choice(SPEAKERS),
            "text": " ".join(words).capitalize() + ".",
            "start": start,
            "end": start + 6.0,
            "language": rng.choice(LANGUAGES),
            "context_before": "",
            "context_after": "",
            "recorded_at": "2030-01-01T00:00:00Z",
        }


def typo(word: str, rng: random.Random) -> str:
    position = rng.randrange(1, len(word) - 1)
    return word[:position] + word[position + 1] + word[position] + word[position + 2 :]


@dataclass
class EngineRun:
    name: str
    index_seconds: float
    latencies: dict[str, LatencySummary]


class SqliteBaseline:
    """FTS5 with the porter tokenizer; fuzzy through the fts5vocab terms within the same edit distance."""

    def __init__(self, path: Path):
        self.db = sqlite3.connect(path)
        self.db.execute(
            "CREATE VIRTUAL TABLE seg USING fts5(text, speaker UNINDEXED, language UNINDEXED, "
            "meeting_id UNINDEXED, tokenize='porter unicode61')"
        )
        self.db.execute("CREATE VIRTUAL TABLE seg_vocab USING fts5vocab(seg, 'row')")

    def add(self, batch: list[dict[str, Any]]) -> None:
        self.db.executemany(
            "INSERT INTO seg(text, speaker, language, meeting_id) VALUES (?, ?, ?, ?)",
            [(d["text"], d["speaker"], d["language"], d["meeting_id"]) for d in batch],
        )
        self.db.commit()

    def _match(self, expression: str, extra: str = "", args: tuple[Any, ...] = ()) -> list[Any]:
        # extra is one of this class's own literal clauses, never user input.
        sql = f"SELECT rowid, highlight(seg, 0, '<mark>', '</mark>') FROM seg WHERE seg MATCH ? {extra} ORDER BY rank LIMIT 20"  # noqa: S608, E501
        return self.db.execute(sql, (expression, *args)).fetchall()

    def term(self, word: str) -> Any:
        return self._match(word)

    def phrase(self, words: str) -> Any:
        return self._match(f'"{words}"')

    def fuzzy(self, word: str) -> Any:
        distance = 1 if len(word) <= 5 else 2
        candidates = self.db.execute(
            "SELECT term FROM seg_vocab WHERE term >= ? AND term < ? AND length(term) BETWEEN ? AND ?",
            (word[0], chr(ord(word[0]) + 1), len(word) - distance, len(word) + distance),
        ).fetchall()
        close = [term for (term,) in candidates if within_distance(term, word, distance)]
        return self._match(" OR ".join(close)) if close else []

    def faceted(self, word: str, language: str) -> Any:
        hits = self._match(word, "AND language = ?", (language,))
        speakers = self.db.execute(
            "SELECT speaker, count(*) FROM seg WHERE seg MATCH ? AND language = ? GROUP BY speaker", (word, language)
        ).fetchall()
        return hits, speakers

    def suggest(self, prefix: str) -> Any:
        return self._match(f"{prefix}*")


def timed(action: Callable[[], Any], samples: int) -> LatencySummary:
    durations = []
    action()  # warm
    for _ in range(samples):
        started = time.perf_counter_ns()
        action()
        durations.append(time.perf_counter_ns() - started)
    return LatencySummary.of(durations)


def measure_engines(segments: int, queries: int, workdir: Path) -> tuple[EngineRun, EngineRun]:
    engine = EmbeddedSearchEngine(workdir / "tantivy", writer_heap=256_000_000)
    baseline = SqliteBaseline(workdir / "fts5.db")
    ours_seconds = base_seconds = 0.0
    batch: list[dict[str, Any]] = []

    def flush() -> None:
        nonlocal ours_seconds, base_seconds
        started = time.perf_counter()
        engine.upsert(TRANSCRIPTS, batch)
        ours_seconds += time.perf_counter() - started
        started = time.perf_counter()
        baseline.add(batch)
        base_seconds += time.perf_counter() - started

    for document in corpus(segments):
        batch.append(document)
        if len(batch) == BATCH:
            flush()
            batch = []
    if batch:
        flush()

    rng = random.Random(11)
    terms = [rng.choice(TOPICAL) for _ in range(64)]
    phrases = [f"{rng.choice(COMMON)} {rng.choice(TOPICAL)}" for _ in range(64)]
    typos = [typo(word, rng) for word in terms]
    prefixes = [word[:4] for word in terms]
    rotation = iter(range(10**9))

    def pick(items: list[str]) -> str:
        return items[next(rotation) % len(items)]

    def ours(text: str, **extra: Any) -> Callable[[], Any]:
        return lambda: engine.search(TRANSCRIPTS, SearchQuery(text=text, fields=("text",), limit=20, **extra))

    ours_latencies = {
        "term": timed(lambda: ours(pick(terms))(), queries),
        "phrase": timed(lambda: ours(f'"{pick(phrases)}"')(), queries),
        "fuzzy": timed(lambda: ours(pick(typos))(), queries),
        "faceted": timed(
            lambda: ours(pick(terms), filters={"language": ["en"]}, facets=("speaker", "language"))(), queries
        ),
        "suggest": timed(lambda: engine.suggest(TRANSCRIPTS, pick(prefixes), limit=8), queries),
    }
    base_latencies = {
        "term": timed(lambda: baseline.term(pick(terms)), queries),
        "phrase": timed(lambda: baseline.phrase(pick(phrases)), queries),
        "fuzzy": timed(lambda: baseline.fuzzy(pick(typos)), queries),
        "faceted": timed(lambda: baseline.faceted(pick(terms), "en"), queries),
        "suggest": timed(lambda: baseline.suggest(pick(prefixes)), queries),
    }
    engine.close()
    return EngineRun("embedded (tantivy)", ours_seconds, ours_latencies), EngineRun(
        "sqlite fts5", base_seconds, base_latencies
    )


def measure_index_lag(samples: int) -> dict[str, list[float]]:
    """Start the local runtime, then time update -> searchable for meetings and transcripts."""
    import subprocess
    import sys

    import boto3
    import httpx

    from infra.catalog import REPO_ROOT
    from infra.local.runtime import free_port

    data_dir = Path(tempfile.mkdtemp(prefix="bench-search-lag-"))
    port, aws_port = free_port(), free_port()
    env = local_runtime_environment(
        {
            "PORT": str(port),
            "LOCAL_AWS_PORT": str(aws_port),
            "LOCAL_DATA_DIR": str(data_dir),
            "LOCAL_ADMIN_EMAIL": "bench@example.com",
            "LOCAL_ADMIN_PASSWORD": "Bench-Admin-Passw0rd!",
            "ADMIN_2FA_REQUIRED": "false",
            "RATE_LIMIT_ENABLED": "false",
        }
    )
    log_path = data_dir / "runtime.log"
    log = log_path.open("wb")
    process = subprocess.Popen([sys.executable, "-m", "infra.local"], cwd=REPO_ROOT, env=env, stdout=log, stderr=log)
    base = f"http://127.0.0.1:{port}"
    lags: dict[str, list[float]] = {"meeting update": [], "TranscriptReady": []}
    try:
        with httpx.Client(base_url=base, timeout=30) as api:
            deadline = time.monotonic() + 120
            while True:
                try:
                    if api.get("/api/v1/health").status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("local runtime did not start")
                time.sleep(0.2)
            token = api.post(
                "/api/v1/auth/login", json={"email": "bench@example.com", "password": "Bench-Admin-Passw0rd!"}
            ).json()["access_token"]
            headers = {"Authorization": f"Bearer {token}"}
            when = "2035-01-01T10:00:00Z"
            meeting = api.post("/api/v1/meetings", headers=headers, json={"title": "lag", "scheduled_at": when}).json()
            s3 = boto3.client(
                "s3",
                endpoint_url=f"http://127.0.0.1:{aws_port}",
                region_name="us-east-1",
                aws_access_key_id="x",
                aws_secret_access_key="x",  # noqa: S106 - the embedded AWS accepts any credentials
            )
            bus = boto3.client(
                "events",
                endpoint_url=f"http://127.0.0.1:{aws_port}",
                region_name="us-east-1",
                aws_access_key_id="x",
                aws_secret_access_key="x",  # noqa: S106 - the embedded AWS accepts any credentials
            )

            def until_found(path: str, q: str) -> float:
                started = time.perf_counter()
                while time.perf_counter() - started < 60:
                    body = api.get(f"/api/v1/search{path}", params={"q": q}, headers=headers).json()
                    if body["total"]:
                        return time.perf_counter() - started
                    time.sleep(0.01)
                raise RuntimeError(f"{q} not searchable after 60 s")

            for _ in range(samples):
                word = "lag" + uuid.uuid4().hex[:10]
                started = time.perf_counter()
                api.patch(f"/api/v1/meetings/{meeting['id']}", headers=headers, json={"title": f"Title {word}"})
                until_found("/meetings", word)
                lags["meeting update"].append(time.perf_counter() - started)

                recording = f"rec-{word}"
                key = f"transcripts/{recording}/en.json"
                segment = {"id": 0, "speaker": "a", "start": 1.0, "end": 2.0, "text": f"say {word}", "words": []}
                body = {
                    "recording_id": recording,
                    "language": "en",
                    "provider": "bench",
                    "duration": 2.0,
                    "segments": [segment],
                }
                s3.put_object(Bucket="recordings", Key=key, Body=json.dumps(body).encode())
                detail = {
                    "event_id": str(uuid.uuid4()),
                    "occurred_at": "2035-01-01T00:00:00Z",
                    "recording_id": recording,
                    "meeting_id": meeting["id"],
                    "host_id": meeting["host_id"],
                    "language": "en",
                    "transcription_job_id": "tj",
                    "storage_path": f"s3://recordings/{key}",
                }
                started = time.perf_counter()
                bus.put_events(
                    Entries=[
                        {
                            "Source": "agents-meetings.recordings",
                            "DetailType": "TranscriptReady",
                            "Detail": json.dumps(detail),
                            "EventBusName": "agents-meetings",
                        }
                    ]
                )
                until_found("/transcripts", word)
                lags["TranscriptReady"].append(time.perf_counter() - started)
        process.terminate()
        process.wait(timeout=30)
        check_loopback_only(log_path)
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()
        shutil.rmtree(data_dir, ignore_errors=True)
    return lags


def report(ours: EngineRun, baseline: EngineRun, segments: int, lags: dict[str, list[float]] | None) -> str:
    print(f"search: {segments:,} transcript segments")
    rows = [[run.name, f"{run.index_seconds:.1f}", f"{segments / run.index_seconds:,.0f}"] for run in (ours, baseline)]
    print(format_table(["engine", "index s", "segments/s"], rows))
    print()
    rows = []
    for kind in ours.latencies:
        mine, theirs = ours.latencies[kind], baseline.latencies[kind]
        rows.append(
            [
                kind,
                f"{mine.p50_ms:.2f}",
                f"{mine.p95_ms:.2f}",
                f"{mine.p99_ms:.2f}",
                f"{theirs.p50_ms:.2f}",
                f"{theirs.p95_ms:.2f}",
                f"{theirs.p99_ms:.2f}",
                f"{theirs.p95_ms / mine.p95_ms:.1f}x",
            ]
        )
    print(
        format_table(
            ["query", "ours p50", "p95", "p99", "fts5 p50", "p95", "p99", "fts5/ours p95"],
            rows,
        )
    )
    if lags:
        print()
        lag_rows = [
            [name, f"{statistics.median(values) * 1000:.0f}", f"{max(values) * 1000:.0f}", str(len(values))]
            for name, values in lags.items()
        ]
        print(format_table(["index lag (local runtime)", "median ms", "max ms", "samples"], lag_rows))
    worst = max(ours.latencies.values(), key=lambda s: s.p95_ms)
    worst_base = max(baseline.latencies.values(), key=lambda s: s.p95_ms)
    summary = (
        f"search_worst_query_p95: {worst.p95_ms:.2f} ms "
        f"({worst.p95_ms / worst_base.p95_ms:.2f}x vs sqlite fts5 worst p95 {worst_base.p95_ms:.2f} ms; "
        f"{segments:,} segments; goal < 50 ms)"
    )
    print()
    print(summary)
    return summary


def run(segments: int = DEFAULT_SEGMENTS, queries: int = DEFAULT_QUERIES, lag_samples: int = 5) -> str:
    guard_process()
    workdir = Path(tempfile.mkdtemp(prefix="bench-search-"))
    try:
        ours, baseline = measure_engines(segments, queries, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    lags = measure_index_lag(lag_samples) if lag_samples else None
    return report(ours, baseline, segments, lags)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.search", description=__doc__)
    parser.add_argument("--segments", type=sample_count, default=DEFAULT_SEGMENTS, help="corpus size")
    parser.add_argument("--queries", type=sample_count, default=DEFAULT_QUERIES, help="timed queries per kind")
    parser.add_argument("--lag-samples", type=int, default=5, help="index-lag samples (0: skip the local runtime)")
    args = parser.parse_args(argv)
    run(args.segments, args.queries, args.lag_samples)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
