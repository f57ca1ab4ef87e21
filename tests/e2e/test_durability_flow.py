"""Nothing acknowledged is lost (issue 11): 8 concurrent writers x 15 meetings with 5 KB descriptions
through the local runtime, then Ctrl-C and restart, then a burst cut by ``kill -9`` and restart:
every 201 is still there, and every queued event (search indexing, an announcement's notifications)
is still delivered after the crash."""

from __future__ import annotations

import signal
import threading
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, RunningPlatform, start_platform, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

WRITERS = 8
PER_WRITER = 15
DESCRIPTION = ("A long agenda. " * 334)[:5000]  # 5 KB, the longest description allowed
NO_LIMITS = {"RATE_LIMIT_ENABLED": "false"}


def admin_headers(api: httpx.Client) -> dict[str, str]:
    response = api.post("/api/v1/auth/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def burst(
    platform: RunningPlatform, headers: dict[str, str], tag: str, per_writer: int, acknowledged: list[str] | None = None
) -> tuple[list[str], int]:
    """8 writers post meetings concurrently; returns the ids answered 201 and how many requests failed."""
    acknowledged = [] if acknowledged is None else acknowledged
    failures = [0]
    lock = threading.Lock()

    def writer(index: int) -> None:
        with httpx.Client(base_url=platform.base_url, timeout=60, headers=headers) as client:
            for n in range(per_writer):
                body = {
                    "title": f"Durable {tag} {index}-{n}",
                    "description": DESCRIPTION,
                    "scheduled_at": "2030-01-01T15:00:00Z",
                    "languages": ["en"],
                }
                try:
                    response = client.post("/api/v1/meetings", json=body)
                except httpx.HTTPError:
                    with lock:
                        failures[0] += 1
                    continue
                with lock:
                    if response.status_code == 201:
                        acknowledged.append(response.json()["id"])
                    else:
                        failures[0] += 1

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return acknowledged, failures[0]


def missing_meetings(api: httpx.Client, headers: dict[str, str], ids: list[str]) -> list[str]:
    missing = []
    for meeting_id in ids:
        response = api.get(f"/api/v1/meetings/{meeting_id}", headers=headers)
        if response.status_code != 200 or response.json()["description"] != DESCRIPTION:
            missing.append(meeting_id)
    return missing


def indexed(api: httpx.Client, headers: dict[str, str], tag: str) -> set[str]:
    found: set[str] = set()
    offset = 0
    while True:
        page = api.get(
            "/api/v1/search/meetings", params={"q": tag, "limit": 100, "offset": offset}, headers=headers
        ).json()
        found |= {result["id"] for result in page["results"]}
        offset += 100
        if offset >= page["total"]:
            return found


def kill_9(platform: RunningPlatform) -> None:
    platform.process.send_signal(signal.SIGKILL)
    platform.process.wait(timeout=30)


def test_no_acknowledged_write_or_queued_event_is_lost_across_ctrl_c_and_kill_9(tmp_path: Path) -> None:
    data_dir, log = tmp_path / "data", tmp_path / "runtime.log"
    tag = uuid.uuid4().hex[:10]

    # 1. 8 x 15 large meetings, all acknowledged; Ctrl-C; restart: every one is there.
    first = start_platform(data_dir, log, NO_LIMITS)
    try:
        with first.client() as api:
            headers = admin_headers(api)
            acknowledged, failures = burst(first, headers, tag, PER_WRITER)
            assert (len(acknowledged), failures) == (WRITERS * PER_WRITER, 0)
    finally:
        assert first.stop() == 0

    second = start_platform(data_dir, log, NO_LIMITS)
    try:
        with second.client() as api:
            headers = admin_headers(api)
            assert missing_meetings(api, headers, acknowledged) == []

            # 2. A burst cut short by kill -9, with an announcement queued just before it.
            announcement = api.post(
                "/api/v1/admin/announcements",
                headers=headers,
                json={"title": f"Maintenance {tag}", "message": "Tonight at 22:00.", "audience": "all"},
            )
            assert announcement.status_code in (200, 201, 202), announcement.text
            crash_tag = f"{tag}crash"
            crash_acknowledged: list[str] = []
            result: dict[str, Any] = {}

            def crash_burst() -> None:
                result["ids"], result["failures"] = burst(second, headers, crash_tag, 40, crash_acknowledged)

            writer = threading.Thread(target=crash_burst)
            writer.start()
            # Kill once a good part of the burst is acknowledged, while the writers are mid-flight.
            wait_for(lambda: len(crash_acknowledged) >= 60, timeout=300, interval=0.05)
            kill_9(second)
            writer.join()
    finally:
        if second.process.poll() is None:
            kill_9(second)
    crashed_ids: list[str] = result["ids"]
    assert crashed_ids, "nothing was acknowledged before the crash"
    assert result["failures"] > 0, "the crash did not cut the burst short"

    third = start_platform(data_dir, log, NO_LIMITS)
    try:
        with third.client() as api:
            headers = admin_headers(api)
            assert missing_meetings(api, headers, acknowledged + crashed_ids) == []
            # Every queued event is delivered after the crash: each acknowledged meeting reaches the
            # search index, and the announcement reaches the admin's inbox.
            wait_for(lambda: set(crashed_ids) <= indexed(api, headers, crash_tag), timeout=180, interval=1)
            assert set(acknowledged) <= indexed(api, headers, tag)

            def announced() -> bool:
                items = api.get("/api/v1/notifications", headers=headers, params={"limit": 50}).json()["items"]
                return any(item["title"] == f"Maintenance {tag}" for item in items)

            wait_for(announced, timeout=120, interval=1)
    finally:
        assert third.stop() == 0
