"""Issue 13's data views through the local runtime, as a client sees them: the active-meetings
view follows joins and leaves (participant events -> worker -> count, cache invalidated), presence
follows the notification WebSocket, and the admin dashboard answers from its counters."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, RunningPlatform, wait_for
from tests.e2e.test_notifications_flow import approved_user, login, open_socket

pytestmark = pytest.mark.e2e


def active_count(api: httpx.Client, headers: dict[str, str], meeting_id: str) -> int | None:
    listed = api.get("/api/v1/meetings/active", headers=headers)
    assert listed.status_code == 200, listed.text
    return next((m["participant_count"] for m in listed.json()["items"] if m["id"] == meeting_id), None)


def presence(api: httpx.Client, headers: dict[str, str], *user_ids: str) -> dict[str, dict[str, Any]]:
    answer = api.get("/api/v1/presence", params={"user_ids": ",".join(user_ids)}, headers=headers)
    assert answer.status_code == 200, answer.text
    return {item["user_id"]: item for item in answer.json()["items"]}


def test_active_meetings_follow_joins_and_presence_follows_the_socket(
    api: httpx.Client, platform: RunningPlatform
) -> None:
    admin = login(api, ADMIN_EMAIL, ADMIN_PASSWORD)
    _, _, host = approved_user(api, admin, "host", role="teacher")
    student_id, _, student = approved_user(api, admin, "student")
    stranger_id, _, stranger = approved_user(api, admin, "stranger")
    starts = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    meeting_id = api.post("/api/v1/meetings", headers=host, json={"title": "Views", "scheduled_at": starts}).json()[
        "id"
    ]
    assert api.post(
        f"/api/v1/meetings/{meeting_id}/participants", headers=host, json={"user_ids": [student_id]}
    ).is_success
    assert active_count(api, host, meeting_id) is None  # scheduled, not active
    assert api.post(f"/api/v1/meetings/{meeting_id}/start", headers=host).status_code == 200

    assert wait_for(lambda: active_count(api, host, meeting_id) == 0, timeout=20)
    assert api.post(f"/api/v1/meetings/{meeting_id}/join", headers=student, json={}).status_code == 200
    assert wait_for(lambda: active_count(api, host, meeting_id) == 1, timeout=20)
    assert active_count(api, student, meeting_id) == 1  # a participant sees it too
    assert active_count(api, stranger, meeting_id) is None  # someone outside the meeting does not

    # Presence: the student shares the meeting with the host; the stranger shares none.
    with open_socket(platform, api, student):
        seen = wait_for(
            lambda: (p := presence(api, host, student_id, stranger_id)).get(student_id, {}).get("online") and p
        )
        assert stranger_id not in seen  # ids the caller may not see are left out, never refused
        assert presence(api, admin, stranger_id)[stranger_id]["online"] is True  # it signed in just now
    assert presence(api, stranger, student_id) == {}

    assert api.post(f"/api/v1/meetings/{meeting_id}/leave", headers=student).status_code == 200
    assert wait_for(lambda: active_count(api, host, meeting_id) == 0, timeout=20)
    assert api.post(f"/api/v1/meetings/{meeting_id}/end", headers=host).status_code == 200
    assert wait_for(lambda: active_count(api, host, meeting_id) is None, timeout=40)

    # The dashboard (admins only) answers from its precomputed counters.
    assert api.get("/api/v1/admin/dashboard/stats", headers=host).status_code == 403
    stats = api.get("/api/v1/admin/dashboard/stats", headers=admin)
    assert stats.status_code == 200, stats.text
    assert stats.json()["users"]["total"] >= 4


def test_bad_presence_and_settings_input_is_a_clear_4xx(api: httpx.Client) -> None:
    admin = login(api, ADMIN_EMAIL, ADMIN_PASSWORD)
    too_many = ",".join(f"u{i}" for i in range(101))
    for params in ({"user_ids": too_many}, {"user_ids": "not an id!"}, {}):
        answer = api.get("/api/v1/presence", params=params, headers=admin)
        assert answer.status_code in (400, 422), (params, answer.text)
        assert answer.json()["error"]["code"]
    refused = api.put("/api/v1/admin/settings", headers=admin, json={"unknown": True})
    assert refused.status_code == 422 and refused.json()["error"]["code"]
