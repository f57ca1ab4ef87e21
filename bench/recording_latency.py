"""Recording latency in the local runtime (issue 4): from stopping a recording to egress_ended (the
emulator renders and uploads the media, then its signed webhook ends the egress and the manifest is
written), and from egress_ended to a completed job (the state machine: probe, thumbnail, preview,
web copy, audio per language, transcripts). The baseline is the recording's own length: the
spec wants recordings accessible within 5 minutes of the meeting's end.

``python -m bench.recording_latency [--runs N] [--seconds S]``
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from bench.environment import check_loopback_only, guard_process, local_runtime_environment
from bench.timing import format_table, sample_count
from infra.catalog import REPO_ROOT
from infra.local.runtime import DEFAULT_ADMIN_EMAIL, DEFAULT_ADMIN_PASSWORD, free_port

DEFAULT_RUNS = 3
DEFAULT_SECONDS = 10.0


@contextmanager
def local_platform() -> Iterator[str]:
    """``python -m infra.local`` on free ports with a throw-away data directory; its base URL."""
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="bench-recording-") as data:
        # Its own embedded AWS (the runtime sets AWS_ENDPOINT_URL), loopback only.
        env = local_runtime_environment({"PORT": str(port), "LOCAL_DATA_DIR": data, "ADMIN_2FA_REQUIRED": "false"})
        log_path = Path(data) / "runtime.log"
        log = log_path.open("wb")
        process = subprocess.Popen(
            [sys.executable, "-m", "infra.local"], cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
        )
        base = f"http://127.0.0.1:{port}"
        try:
            _until(lambda: _healthy(base), timeout=180)
            yield base
        finally:
            process.terminate()
            process.wait(timeout=60)
            log.close()
        check_loopback_only(log_path)


def _healthy(base: str) -> bool:
    try:
        return httpx.get(f"{base}/api/v1/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def _until(check: Callable[[], Any], timeout: float, interval: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(interval)
    raise TimeoutError("gave up waiting")


def record_once(api: httpx.Client, headers: dict[str, str], seconds: float) -> tuple[float, float]:
    """One meeting in en + es, recorded for ``seconds``: (stop -> egress ended, egress ended -> completed)."""
    scheduled = (datetime.now(UTC) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    meeting = api.post(
        "/api/v1/meetings",
        json={"title": "Latency", "meeting_type": "regular", "scheduled_at": scheduled, "languages": ["en", "es"]},
        headers=headers,
    ).json()
    api.post(f"/api/v1/meetings/{meeting['id']}/start", headers=headers).raise_for_status()
    started = api.post("/api/v1/recordings/start", json={"meeting_id": meeting["id"]}, headers=headers)
    started.raise_for_status()
    recording_id = started.json()["id"]
    time.sleep(seconds)  # the meeting goes on; this is what is being recorded
    stop_at = time.monotonic()
    api.post("/api/v1/recordings/stop", json={"meeting_id": meeting["id"]}, headers=headers).raise_for_status()

    def status() -> str:
        return str(api.get(f"/api/v1/recordings/{recording_id}", headers=headers).json()["status"])

    _until(lambda: status() not in ("pending", "recording"), timeout=600)
    ended_at = time.monotonic()
    final = _until(lambda: (s := status()) in ("completed", "failed") and s, timeout=900)
    if final != "completed":
        raise RuntimeError(f"recording {recording_id} {final}")
    return ended_at - stop_at, time.monotonic() - ended_at


def run(runs: int = DEFAULT_RUNS, seconds: float = DEFAULT_SECONDS) -> str:
    guard_process()
    with local_platform() as base, httpx.Client(base_url=base, timeout=60) as api:
        login = api.post("/api/v1/auth/login", json={"email": DEFAULT_ADMIN_EMAIL, "password": DEFAULT_ADMIN_PASSWORD})
        login.raise_for_status()
        headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
        samples = [record_once(api, headers, seconds) for _ in range(runs)]
    ended = [sample[0] for sample in samples]
    processed = [sample[1] for sample in samples]
    rows = [
        ["stop -> egress_ended", f"{statistics.median(ended):.2f}", f"{max(ended):.2f}"],
        ["egress_ended -> completed", f"{statistics.median(processed):.2f}", f"{max(processed):.2f}"],
        ["recording length (baseline)", f"{seconds:.2f}", f"{seconds:.2f}"],
    ]
    print(f"recording latency in the local runtime: {runs} recordings of {seconds:g} s, en + es, transcribed")
    print(format_table(["step", "median s", "max s"], rows))
    median = statistics.median(processed)
    return (
        f"recording_latency: {median:.2f} s egress_ended -> completed "
        f"({median / seconds:.2f}x vs the recording's {seconds:g} s)"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.recording_latency", description=__doc__)
    parser.add_argument("--runs", type=sample_count, default=DEFAULT_RUNS)
    parser.add_argument("--seconds", type=float, default=DEFAULT_SECONDS)
    args = parser.parse_args(argv)
    print(run(runs=args.runs, seconds=args.seconds))
    return 0


if __name__ == "__main__":
    sys.exit(main())
