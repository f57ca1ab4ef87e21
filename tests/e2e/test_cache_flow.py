"""The cache (issue 13, spec 2.1) through the local runtime, against the redis-server it starts itself:
writes are visible on the very next GET, the stats endpoint sees the hits, the security state is
refused at once, and a redis-server killed mid-test costs no request (DynamoDB answers; the stats
say the cache is down). A ``kill -9`` of the runtime leaves no redis-server behind."""

from __future__ import annotations

import os
import re
import shutil
import signal
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from infra.catalog import REPO_ROOT
from tests.e2e.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, RunningPlatform, start_platform, wait_for
from tests.e2e.test_notifications_flow import approved_user, login

pytestmark = pytest.mark.e2e

ME = "/api/v1/users/me"
STATS = "/api/v1/admin/cache/stats"
# The runtime's banner names the redis-server it started: "Cache  redis-server 127.0.0.1:PORT (pid N)".
BANNER = re.compile(r"Cache\s+redis-server 127\.0\.0\.1:(\d+) \(pid (\d+)\)")


def children(pid: int) -> list[int]:
    """The direct children of ``pid`` (every thread's, from /proc)."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text()
        found.extend(int(child) for child in text.split())
    return found


def alive(pid: int) -> bool:
    """Running (a zombie nobody reaped yet is not: it serves nothing)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def runtime_redis(platform: RunningPlatform) -> tuple[int, int]:
    """(pid, port) of the runtime's redis-server: the pid its banner records, checked against its
    process tree, its binary the Debian package's that system-packages.txt declares for the runtime."""
    banner = wait_for(lambda: BANNER.search(platform.log_path.read_text(errors="replace")), timeout=30)
    port, pid = int(banner.group(1)), int(banner.group(2))
    assert pid in children(platform.process.pid), "the redis-server is not the runtime's own child"
    title = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")  # redis sets "<binary> host:port"
    assert f"127.0.0.1:{port}" in title, title
    installed = shutil.which("redis-server")
    assert installed is not None
    assert os.path.realpath(f"/proc/{pid}/exe") == os.path.realpath(installed)
    declared = [
        line.split()
        for line in (REPO_ROOT / "system-packages.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert any(row[0] == "redis-server" and "runtime" in row[1:] for row in declared), declared
    return pid, port


def cache_stats(api: httpx.Client, admin: dict[str, str]) -> dict[str, object]:
    answer = api.get(STATS, headers=admin)
    assert answer.status_code == 200, answer.text
    body: dict[str, object] = answer.json()
    return body


def presence_of(api: httpx.Client, headers: dict[str, str], user_id: str) -> dict[str, object]:
    answer = api.get("/api/v1/presence", params={"user_ids": user_id}, headers=headers)
    assert answer.status_code == 200, answer.text
    item: dict[str, object] = answer.json()["items"][0]
    return item


@pytest.fixture()
def cached_platform(tmp_path: Path) -> Iterator[RunningPlatform]:
    running = start_platform(tmp_path / "data", tmp_path / "runtime.log", {"CACHE_BACKEND": "redis"})
    yield running
    running.stop()


def test_writes_security_and_a_killed_redis_server_through_the_runtime(cached_platform: RunningPlatform) -> None:
    platform = cached_platform
    redis_pid, _ = runtime_redis(platform)
    with platform.client() as api:
        admin = login(api, ADMIN_EMAIL, ADMIN_PASSWORD)
        host_id, _, host = approved_user(api, admin, "host", role="teacher")

        # A PATCH is visible on the very next GET: a profile, then a meeting.
        for _ in range(3):
            assert api.get(ME, headers=host).json()["full_name"] == "Host"
        assert api.patch(ME, headers=host, json={"full_name": "Renamed Host"}).status_code == 200
        assert api.get(ME, headers=host).json()["full_name"] == "Renamed Host"
        starts = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
        created = api.post("/api/v1/meetings", headers=host, json={"title": "Before", "scheduled_at": starts})
        assert created.status_code == 201, created.text
        meeting = f"/api/v1/meetings/{created.json()['id']}"
        for _ in range(3):
            assert api.get(meeting, headers=host).json()["title"] == "Before"
        assert api.patch(meeting, headers=host, json={"title": "After"}).status_code == 200
        assert api.get(meeting, headers=host).json()["title"] == "After"

        # The stats endpoint sees the real redis-server and the repeated GETs' hits.
        stats = cache_stats(api, admin)
        assert stats["backend"] == "redis" and stats["status"] == "ok", stats
        by_prefix = stats["by_prefix"]
        assert isinstance(by_prefix, dict)
        assert by_prefix["user"]["hits"] >= 2 and by_prefix["meeting"]["hits"] >= 2, by_prefix
        assert isinstance(stats["memory_bytes"], int) and stats["memory_bytes"] > 0

        # The security state is refused on the next request, however warm the cache is.
        _, leaving_email, leaving = approved_user(api, admin, "leaving")
        password = "Leaving-Passw0rd-123!"
        other_session = login(api, leaving_email, password)
        _, _, deactivated = approved_user(api, admin, "deactivated")
        deactivated_id = api.get(ME, headers=deactivated).json()["id"]
        for headers in (leaving, other_session, deactivated):
            assert api.get(ME, headers=headers).status_code == 200
            assert api.get(ME, headers=headers).status_code == 200
        assert api.post("/api/v1/auth/logout", headers=leaving).status_code == 204
        assert api.get(ME, headers=leaving).status_code == 401
        sessions = api.get("/api/v1/auth/sessions", headers=other_session).json()
        assert api.get(ME, headers=other_session).status_code == 200  # its own session still open
        current = next(s["id"] for s in sessions if s["current"])
        ended = api.delete(f"/api/v1/auth/sessions/{current}", headers=other_session)
        assert ended.status_code == 204, ended.text
        assert api.get(ME, headers=other_session).status_code == 401
        assert api.post(f"/api/v1/admin/users/{deactivated_id}/deactivate", headers=admin).status_code == 200
        assert api.get(ME, headers=deactivated).status_code in (401, 403)

        # Presence: the host's sightings are in Redis (and the durable record in DynamoDB).
        assert presence_of(api, admin, host_id)["online"] is True

        # The runtime's redis-server dies mid-test: every request still answers, from DynamoDB.
        os.kill(redis_pid, signal.SIGKILL)
        wait_for(lambda: not alive(redis_pid), timeout=10)
        for _ in range(5):
            assert api.get(ME, headers=host).status_code == 200
            assert api.get(meeting, headers=host).status_code == 200
        assert api.patch(ME, headers=host, json={"full_name": "During Outage"}).status_code == 200
        assert api.get(ME, headers=host).json()["full_name"] == "During Outage"
        assert api.patch(meeting, headers=host, json={"title": "Outage"}).status_code == 200
        assert api.get(meeting, headers=host).json()["title"] == "Outage"
        assert api.get("/api/v1/meetings/active", headers=host).status_code == 200
        assert presence_of(api, admin, host_id)["online"] is True  # from the durable record
        down = cache_stats(api, admin)
        assert down["backend"] == "redis" and down["status"] == "unavailable", down
        assert "cache unavailable; served from DynamoDB" in platform.log_path.read_text(errors="replace")


def test_kill_9_of_the_runtime_leaves_no_redis_server_behind(cached_platform: RunningPlatform) -> None:
    redis_pid, _ = runtime_redis(cached_platform)
    assert alive(redis_pid)
    cached_platform.process.send_signal(signal.SIGKILL)
    cached_platform.process.wait(timeout=30)
    wait_for(lambda: not alive(redis_pid), timeout=10)
