"""Notifications through the local runtime (issue 5's "done"): two users on WebSockets see exactly
their frames within a second of real domain events; the SSE stream resumes after a disconnect
without loss; the account emails are read back from the embedded SES."""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import httpx
import pytest
from websockets.sync.client import ClientConnection, connect

from tests.e2e.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, RunningPlatform, wait_for

pytestmark = pytest.mark.e2e

# A frame must arrive, and these tests wait this long for it. How fast it arrives (the spec's 1 s)
# is measured in bench/notifications.py (bus -> frame p50/p95/p99, printed), not asserted here: a
# wall-clock threshold fails on a loaded machine without a defect (issue 17: the known flaky test).
FRAME_TIMEOUT_SECONDS = 15.0


def login(api: httpx.Client, email: str, password: str) -> dict[str, str]:
    response = api.post("/api/v1/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def approved_user(
    api: httpx.Client, admin: dict[str, str], name: str, role: str | None = None
) -> tuple[str, str, dict[str, str]]:
    email = f"{name}-{uuid.uuid4().hex[:8]}@example.com"
    password = f"{name.title()}-Passw0rd-123!"
    user_id = api.post(
        "/api/v1/auth/register", json={"email": email, "password": password, "full_name": name.title()}
    ).json()["id"]
    assert api.post(f"/api/v1/admin/users/{user_id}/approve", headers=admin).status_code == 200
    if role:
        assert api.put(f"/api/v1/admin/users/{user_id}/role", headers=admin, json={"role": role}).status_code == 200
    return user_id, email, login(api, email, password)


def notification_types(api: httpx.Client, headers: dict[str, str]) -> list[str]:
    return sorted(n["type"] for n in api.get("/api/v1/notifications", headers=headers).json()["items"])


def open_socket(platform: RunningPlatform, api: httpx.Client, headers: dict[str, str]) -> ClientConnection:
    ticket = api.post("/api/v1/notifications/ws-ticket", headers=headers)
    assert ticket.status_code == 201, ticket.text
    url = ticket.json()["url"]
    assert url.startswith("ws://127.0.0.1:") and url.endswith("/ws/notifications")
    return connect(f"{url}?ticket={ticket.json()['ticket']}", open_timeout=5)


def next_frame(socket: ClientConnection, timeout: float = FRAME_TIMEOUT_SECONDS) -> dict[str, Any]:
    return dict(json.loads(socket.recv(timeout=timeout)))


def no_frame(socket: ClientConnection, within: float = 0.5) -> None:
    with pytest.raises(TimeoutError):
        socket.recv(timeout=within)


def embedded_aws_url(platform: RunningPlatform) -> str:
    found = wait_for(lambda: re.search(r"Embedded AWS\s+(http://\S+)", platform.log_path.read_text()))
    return str(found.group(1))


def sse_events(text: str) -> list[tuple[str, str]]:
    events, current = [], {}
    for line in text.splitlines():
        if not line:
            if "id" in current:
                events.append((current["id"], current.get("event", "")))
            current = {}
        elif ": " in line and not line.startswith(":"):
            key, value = line.split(": ", 1)
            current[key] = value
    return events


def test_two_users_get_exactly_their_frames_in_real_time(api: httpx.Client, platform: RunningPlatform) -> None:
    admin = login(api, ADMIN_EMAIL, ADMIN_PASSWORD)
    host_id, _, host = approved_user(api, admin, "teacher", role="teacher")
    student_id, student_email, student = approved_user(api, admin, "student")
    # The account events notify first; wait for them so that the sockets see only what follows.
    wait_for(lambda: notification_types(api, host) == ["account_approved", "role_changed"], timeout=10)
    wait_for(lambda: notification_types(api, student) == ["account_approved"], timeout=10)

    scheduled = (datetime.now(UTC) + timedelta(hours=2)).isoformat().replace("+00:00", "Z")
    meeting = api.post("/api/v1/meetings", headers=host, json={"title": "Optics", "scheduled_at": scheduled}).json()
    assert api.post(
        f"/api/v1/meetings/{meeting['id']}/participants", headers=host, json={"user_ids": [student_id]}
    ).status_code in (200, 201)

    # A ticket is single use: the second try is refused at the handshake.
    ticket = api.post("/api/v1/notifications/ws-ticket", headers=student).json()
    with connect(f"{ticket['url']}?ticket={ticket['ticket']}", open_timeout=5):
        pass
    with pytest.raises(Exception, match="403"):
        connect(f"{ticket['url']}?ticket={ticket['ticket']}", open_timeout=5)
    with pytest.raises(Exception, match="403"):
        connect(ticket["url"], open_timeout=5)

    stream_start = sse_events(api.get("/api/v1/notifications/stream", headers=student).text)[-1][0]
    with open_socket(platform, api, host) as host_ws, open_socket(platform, api, student) as student_ws:
        host_ws.send(json.dumps({"action": "ping"}))
        assert next_frame(host_ws) == {"type": "pong"}

        assert api.post(f"/api/v1/meetings/{meeting['id']}/start", headers=host).status_code == 200
        frame = next_frame(student_ws)
        assert frame["type"] == "notification" and frame["notification"]["type"] == "meeting_started"
        assert frame["notification"]["data"]["meeting_id"] == meeting["id"]

        joined = api.post(f"/api/v1/meetings/{meeting['id']}/join", headers=student, json={})
        assert joined.status_code == 200, joined.text
        frame = next_frame(host_ws)
        assert (
            frame["notification"]["type"] == "participant_joined"
            and frame["notification"]["data"]["user_id"] == student_id
        )

        # Recordings are built in parallel: publish its event on the bus as the pipeline will.
        events = boto3.client(
            "events",
            endpoint_url=embedded_aws_url(platform),
            region_name="us-east-1",
            aws_access_key_id="local",
            aws_secret_access_key="local",
        )
        detail = {
            "event_id": str(uuid.uuid4()),
            "occurred_at": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
            "recording_id": str(uuid.uuid4()),
            "meeting_id": meeting["id"],
            "host_id": host_id,
            "duration_seconds": 1800,
        }
        put = events.put_events(
            Entries=[
                {
                    "Source": "agents-meetings.recordings",
                    "DetailType": "RecordingCompleted",
                    "Detail": json.dumps(detail),
                    "EventBusName": "agents-meetings",
                }
            ]
        )
        assert put["FailedEntryCount"] == 0
        for socket in (host_ws, student_ws):
            frame = next_frame(socket)
            assert frame["notification"]["type"] == "recording_available"
            assert frame["notification"]["data"]["recording_id"] == detail["recording_id"]
        no_frame(host_ws)
        no_frame(student_ws)

    # The SSE stream, picked up where it was left: nothing lost, in order.
    resumed = api.get(
        "/api/v1/notifications/stream", params={"wait": 0}, headers={**student, "Last-Event-ID": stream_start}
    )
    assert [event for _, event in sse_events(resumed.text)] == ["notification", "notification"]
    first_two = [i for i, _ in sse_events(resumed.text)]
    assert api.post(f"/api/v1/meetings/{meeting['id']}/end", headers=host).status_code == 200
    # Disconnected meanwhile; the reconnect with the last id gets exactly what came after it.
    later = wait_for(
        lambda: sse_events(
            api.get(
                "/api/v1/notifications/stream", params={"wait": 2}, headers={**student, "Last-Event-ID": first_two[-1]}
            ).text
        ),
        timeout=10,
    )
    assert len(later) == 1
    types = [
        n
        for n in api.get("/api/v1/notifications", headers=student).json()["items"]
        if n["id"] in {*first_two, later[0][0]}
    ]
    assert sorted(n["type"] for n in types) == ["meeting_ended", "meeting_started", "recording_available"]

    # Emails (account approved: on by default) are in the embedded SES, with an unsubscribe link.
    def emails() -> list[dict[str, Any]]:
        data = httpx.get(f"{embedded_aws_url(platform)}/moto-api/data.json", timeout=10).json()
        return [
            m
            for m in data.get("ses", {}).get("Message", [])
            if student_email in m["destinations"].get("ToAddresses", [])
        ]

    mails = wait_for(lambda: [m for m in emails() if "approved" in m["subject"]], timeout=30)
    assert "/api/v1/notifications/unsubscribe?token=" in mails[0]["body"]
