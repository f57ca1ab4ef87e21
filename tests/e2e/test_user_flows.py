"""Critical flows through the local runtime, as a client uses it (spec 4.2): register -> admin approves
-> login -> create meeting -> invite -> join -> leave -> end, with every denial on the way."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from livekit.api import TokenVerifier

from tests.e2e.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, RunningPlatform, start_platform, wait_for

pytestmark = pytest.mark.e2e


def login(api: httpx.Client, email: str, password: str) -> dict[str, str]:
    response = api.post("/api/v1/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def error_code(response: httpx.Response) -> str:
    body = response.json()
    assert set(body["error"]) == {"code", "message", "details", "request_id"}
    return str(body["error"]["code"])


def register(api: httpx.Client, name: str) -> tuple[str, str, str]:
    email = f"{name}-{uuid.uuid4().hex[:8]}@example.com"
    password = f"{name.title()}-Passw0rd-123!"
    response = api.post("/api/v1/auth/register", json={"email": email, "password": password, "full_name": name})
    assert response.status_code == 201, response.text
    assert response.json()["status"] == "pending"
    return response.json()["id"], email, password


def in_one_hour() -> str:
    return (datetime.now(UTC) + timedelta(hours=1)).isoformat().replace("+00:00", "Z")


def test_register_approve_login_create_invite_join_leave_end(api: httpx.Client, platform: RunningPlatform) -> None:
    admin = login(api, ADMIN_EMAIL, ADMIN_PASSWORD)

    host_id, host_email, host_password = register(api, "teacher")
    student_id, student_email, student_password = register(api, "student")
    stranger_id, stranger_email, stranger_password = register(api, "stranger")

    # Pending accounts cannot sign in, and say why.
    pending = api.post("/api/v1/auth/login", json={"email": student_email, "password": student_password})
    assert pending.status_code == 403 and error_code(pending) == "account_pending"

    # A participant cannot approve anyone; the admin can.
    for user_id in (host_id, student_id, stranger_id):
        assert api.post(f"/api/v1/admin/users/{user_id}/approve", headers=admin).json()["status"] == "approved"
    assert api.put(f"/api/v1/admin/users/{host_id}/role", headers=admin, json={"role": "teacher"}).status_code == 200
    host = login(api, host_email, host_password)
    student = login(api, student_email, student_password)
    stranger = login(api, stranger_email, stranger_password)
    denied = api.post(f"/api/v1/admin/users/{stranger_id}/approve", headers=student)
    assert denied.status_code == 403 and error_code(denied) == "admin_required"

    # Participants cannot create meetings; a teacher can.
    body = {
        "title": "Algebra 101",
        "meeting_type": "classroom",
        "scheduled_at": in_one_hour(),
        "languages": ["en", "es"],
        "tags": ["math"],
    }
    assert error_code(api.post("/api/v1/meetings", headers=student, json=body)) == "organiser_required"
    bad = api.post("/api/v1/meetings", headers=host, json={**body, "languages": ["english!"]})
    assert bad.status_code == 422
    created = api.post("/api/v1/meetings", headers=host, json=body)
    assert created.status_code == 201, created.text
    meeting_id = created.json()["id"]

    # Before the invitation the student cannot see it; a stranger never can.
    assert api.get(f"/api/v1/meetings/{meeting_id}", headers=student).status_code == 404
    invited = api.post(f"/api/v1/meetings/{meeting_id}/participants", headers=host, json={"user_ids": [student_id]})
    assert invited.json() == {"invited": [student_id], "already_invited": []}
    assert api.get(f"/api/v1/meetings/{meeting_id}", headers=student).status_code == 200
    assert api.get(f"/api/v1/meetings/{meeting_id}", headers=stranger).status_code == 404
    assert [m["id"] for m in api.get("/api/v1/meetings", headers=student).json()["items"]] == [meeting_id]
    assert (
        api.post(
            f"/api/v1/meetings/{meeting_id}/participants", headers=student, json={"user_ids": [stranger_id]}
        ).status_code
        == 403
    )

    # Illegal state changes are 409 with a clear message.
    ending = api.post(f"/api/v1/meetings/{meeting_id}/end", headers=host)
    assert ending.status_code == 409 and "never started" in ending.json()["error"]["message"]
    early = api.post(f"/api/v1/meetings/{meeting_id}/join", headers=student)
    assert early.status_code == 409 and error_code(early) == "meeting_not_started"

    assert api.post(f"/api/v1/meetings/{meeting_id}/start", headers=student).status_code == 403
    assert api.post(f"/api/v1/meetings/{meeting_id}/start", headers=host).json()["status"] == "active"

    joined = api.post(f"/api/v1/meetings/{meeting_id}/join", headers=student, json={"language": "es"})
    assert joined.status_code == 200, joined.text
    grant = joined.json()
    # A real LiveKit token for this meeting's room, signed with the runtime's LiveKit key.
    claims = TokenVerifier(_livekit_key(platform), _livekit_secret(platform)).verify(grant["token"])
    assert claims.video.room == grant["room_name"] == f"meeting-{meeting_id}"
    assert claims.video.room_join is True
    assert claims.video.can_publish is False  # classroom: only the teacher publishes
    assert claims.identity == student_id
    assert api.post(f"/api/v1/meetings/{meeting_id}/join", headers=stranger).status_code == 404

    participants = api.get(f"/api/v1/meetings/{meeting_id}/participants?status=joined", headers=host).json()
    assert [p["user_id"] for p in participants["items"]] == [student_id]

    left = api.post(f"/api/v1/meetings/{meeting_id}/leave", headers=student)
    assert left.status_code == 200 and left.json()["status"] == "left"
    again = api.post(f"/api/v1/meetings/{meeting_id}/leave", headers=student)
    assert again.status_code == 409 and error_code(again) == "not_joined"

    assert api.post(f"/api/v1/meetings/{meeting_id}/end", headers=student).status_code == 403
    assert api.post(f"/api/v1/meetings/{meeting_id}/end", headers=host).json()["status"] == "ended"
    closed = api.post(f"/api/v1/meetings/{meeting_id}/join", headers=student)
    assert closed.status_code == 409 and error_code(closed) == "meeting_closed"

    # Events flowed through the bus -> queue -> statistics worker.
    def host_stats() -> dict[str, Any] | None:
        stats = api.get("/api/v1/users/me/statistics", headers=host).json()
        return stats if stats["meetings_hosted"] == 1 else None

    wait_for(host_stats)
    student_stats = wait_for(
        lambda: (s := api.get("/api/v1/users/me/statistics", headers=student).json())["meetings_attended"] == 1 and s
    )
    assert student_stats["meetings_attended"] == 1

    # The audit trail has the mutations, with the API Gateway request id.
    trail = api.get(f"/api/v1/admin/audit-logs?target_id={meeting_id}", headers=admin).json()["items"]
    actions = {entry["action"] for entry in trail}
    assert {"meeting.created", "meeting.started", "meeting.joined", "meeting.left", "meeting.ended"} <= actions
    assert all(entry["request_id"] for entry in trail)


def test_logout_revokes_the_token_and_bad_input_is_a_clear_4xx(api: httpx.Client) -> None:
    tokens = api.post("/api/v1/auth/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}).json()
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert api.get("/api/v1/users/me", headers=headers).status_code == 200
    assert (
        api.post("/api/v1/auth/logout", headers=headers, json={"refresh_token": tokens["refresh_token"]}).status_code
        == 204
    )
    revoked = api.get("/api/v1/users/me", headers=headers)
    assert revoked.status_code == 401 and error_code(revoked) == "token_revoked"
    assert api.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}).status_code == 401

    assert error_code(api.get("/api/v1/users/me")) == "not_authenticated"
    assert (
        api.post(
            "/api/v1/auth/register", content=b"{not json", headers={"content-type": "application/json"}
        ).status_code
        == 422
    )
    unknown = api.get("/api/v1/nothing-here")
    assert unknown.status_code == 404 and error_code(unknown) == "route_not_found"
    wrong = api.post("/api/v1/auth/login", json={"email": ADMIN_EMAIL, "password": "wrong-password"})
    assert wrong.status_code == 401 and error_code(wrong) == "invalid_credentials"


def test_openapi_and_docs_are_served(api: httpx.Client) -> None:
    spec = api.get("/api/openapi.json").json()
    assert "/api/v1/meetings/{meeting_id}/join" in spec["paths"]
    assert "/api/v1/admin/users/{user_id}/approve" in spec["paths"]
    assert "ErrorResponse" in spec["components"]["schemas"]
    assert "swagger-ui" in api.get("/docs").text.lower()
    assert "redoc" in api.get("/redoc").text.lower()


def test_data_survives_a_restart(tmp_path: Any) -> None:
    """Stop with Ctrl-C, start again on the same LOCAL_DATA_DIR: accounts and meetings are still there."""
    data_dir, log = tmp_path / "data", tmp_path / "runtime.log"
    first = start_platform(data_dir, log)
    try:
        with first.client() as api:
            admin = login(api, ADMIN_EMAIL, ADMIN_PASSWORD)
            meeting = api.post(
                "/api/v1/meetings", headers=admin, json={"title": "Survives restarts", "scheduled_at": in_one_hour()}
            ).json()
            user_id, email, password = register(api, "persistent")
            api.post(f"/api/v1/admin/users/{user_id}/approve", headers=admin)
    finally:
        assert first.stop() == 0
    assert "Agents-Meetings stopped." in log.read_text()

    second = start_platform(data_dir, log)
    try:
        with second.client() as api:
            admin = login(api, ADMIN_EMAIL, ADMIN_PASSWORD)
            assert api.get(f"/api/v1/meetings/{meeting['id']}", headers=admin).json()["title"] == "Survives restarts"
            login(api, email, password)  # the approved account still signs in
            users = api.get("/api/v1/admin/users?status=approved", headers=admin).json()["items"]
            assert sum(1 for u in users if u["email"] == ADMIN_EMAIL) == 1  # the seed did not run twice
    finally:
        assert second.stop() == 0


def _secrets(platform: RunningPlatform) -> dict[str, str]:
    import json

    return dict(json.loads((platform.data_dir / "secrets.json").read_text()))


def _livekit_key(platform: RunningPlatform) -> str:
    return "agents-meetings-local"


def _livekit_secret(platform: RunningPlatform) -> str:
    return _secrets(platform)["LIVEKIT_API_SECRET"]
