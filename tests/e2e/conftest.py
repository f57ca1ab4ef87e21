"""The local runtime started as a user would (`python -m infra.local`), driven over HTTP."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from infra.catalog import REPO_ROOT
from infra.local import loopback_guard
from infra.local.runtime import free_port

ADMIN_EMAIL = "admin@e2e.example.com"
ADMIN_PASSWORD = "E2e-Admin-Passw0rd!"


@dataclass
class RunningPlatform:
    process: subprocess.Popen[bytes]
    base_url: str
    data_dir: Path
    log_path: Path

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.base_url, timeout=30)

    def refusals(self) -> list[str]:
        """The runtime's loopback-guard refusals so far (its log): each one is a client that escaped."""
        log = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return [line for line in log.splitlines() if loopback_guard.REFUSED in line]

    def stop(self) -> int:
        """Ctrl-C, as a user stops it; returns the exit code. Fails if the runtime ever tried to reach
        beyond loopback (its guard refused it, whatever the code made of the refusal)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        refused = self.refusals()
        assert not refused, f"the local runtime tried to reach beyond loopback: {refused}"
        return int(self.process.returncode)


def start_platform(data_dir: Path, log_path: Path, extra_env: dict[str, str] | None = None) -> RunningPlatform:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "JWT_", "LIVEKIT_", "MOTO_", "REDIS_"))}
    env.update(
        {
            "PORT": str(port),
            "LOCAL_DATA_DIR": str(data_dir),
            "LOCAL_ADMIN_EMAIL": ADMIN_EMAIL,
            "LOCAL_ADMIN_PASSWORD": ADMIN_PASSWORD,
            "PASSWORD_HASH_TIME_COST": "1",
            "PASSWORD_HASH_MEMORY_KIB": "1024",
            "PYTHONUNBUFFERED": "1",
            # These flows use admin endpoints without 2FA; test_two_factor_flow.py starts its own with it on.
            "ADMIN_2FA_REQUIRED": "false",
            # Loopback only (infra/local/loopback_guard.py): its AWS is the embedded one
            # (AWS_ENDPOINT_URL, set by the runtime), and anything else it tries to reach is refused.
            loopback_guard.ENV_VAR: "1",
        }
    )
    env.update(extra_env or {})
    log = log_path.open("ab")
    process = subprocess.Popen(
        [sys.executable, "-m", "infra.local"], cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
    )
    platform = RunningPlatform(process, f"http://127.0.0.1:{port}", data_dir, log_path)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"local runtime exited early:\n{log_path.read_text()[-4000:]}")
        try:
            if httpx.get(f"{platform.base_url}/api/v1/health", timeout=2).status_code == 200:
                assert f"{loopback_guard.MARKER} on" in log_path.read_text(errors="replace"), "no loopback guard"
                return platform
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    platform.stop()
    raise AssertionError(f"local runtime did not become healthy:\n{log_path.read_text()[-4000:]}")


@pytest.fixture(scope="session")
def platform_dirs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    base = tmp_path_factory.mktemp("local-runtime")
    return base / "data", base / "runtime.log"


@pytest.fixture(scope="session")
def platform(platform_dirs: tuple[Path, Path]) -> Iterator[RunningPlatform]:
    running = start_platform(*platform_dirs)
    yield running
    running.stop()


@pytest.fixture()
def api(platform: RunningPlatform) -> Iterator[httpx.Client]:
    with platform.client() as client:
        yield client


def wait_for(check: Callable[[], Any], timeout: float = 10.0, interval: float = 0.1) -> Any:
    """Poll until ``check`` returns something truthy (async work has a deadline, not a sleep)."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError("condition not met before the deadline")
        time.sleep(interval)


def record_until_settled(
    platform: RunningPlatform,
    api: httpx.Client,
    headers: dict[str, str],
    meeting_id: str,
    options: dict[str, Any] | None = None,
    timeout: float = 600,
) -> dict[str, Any]:
    """Start the meeting, record it, stop: the recording once the pipeline has completed it."""
    assert api.post(f"/api/v1/meetings/{meeting_id}/start", headers=headers).status_code == 200
    body: dict[str, Any] = {"meeting_id": meeting_id, **({"options": options} if options else {})}
    started = api.post("/api/v1/recordings/start", json=body, headers=headers)
    assert started.status_code == 201, started.text
    recording_id = started.json()["id"]
    assert api.post("/api/v1/recordings/stop", json={"meeting_id": meeting_id}, headers=headers).is_success

    def settled() -> dict[str, Any] | None:
        current: dict[str, Any] = api.get(f"/api/v1/recordings/{recording_id}", headers=headers).json()
        return current if current["status"] in ("completed", "failed") else None

    recording: dict[str, Any] = wait_for(settled, timeout=timeout, interval=1.0)
    assert recording["status"] == "completed", (recording, platform.log_path.read_text()[-3000:])
    return recording
